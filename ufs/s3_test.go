package ufs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// s3Fixture fills bucket "data" with n objects under "prefix/", plus keys
// that must not show up in a listing of s3://data/prefix.
func s3Fixture(t testing.TB, n int) (*fakeS3, []string) {
	t.Helper()
	f := newFakeS3(t, "data")
	var want []string
	for i := range n {
		rel := fmt.Sprintf("dir%02d/file%05d.bin", i%13, i)
		f.put(t, "data", "prefix/"+rel, []byte(rel))
		want = append(want, rel)
	}
	for _, key := range []string{
		"other/x",          // outside the prefix
		"prefix-sibling/x", // shares the prefix's characters
		"prefix",           // the prefix itself, as an object
		"prefix/dir00/",    // a directory marker
		"prefix/../evil",   // would escape the mount
		"prefix/a//b",      // not a clean path
		"prefix/./c",       // not a clean path
	} {
		f.put(t, "data", key, []byte("not listed"))
	}
	slices.Sort(want)
	return f, want
}

// TestS3ListPaged lists 1,234 objects in pages of 100, 333, 1,000 and 1,500,
// checks the pages are server-side pages (ListObjectsV2 with max-keys), and
// resumes from cursors taken anywhere in the listing.
func TestS3ListPaged(t *testing.T) {
	t.Parallel()
	const n = 1234
	f, want := s3Fixture(t, n)
	// Count list requests on the way to the fake server.
	var lists atomic.Int64
	var maxKeys atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("list-type") == "2" {
			lists.Add(1)
			maxKeys.Store(r.URL.Query().Get("max-keys"))
		}
		gofakes3.New(f.backend).Server().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.endpoint = strings.TrimPrefix(srv.URL, "http://")
	fs := f.open(t, "s3://data/prefix")

	for _, page := range []int{100, 333, 1000, 1500} {
		lists.Store(0)
		got := listAll(t, fs, "", "", page)
		if !slices.Equal(paths(got), want) {
			t.Fatalf("pages of %d: %d files, want %d (first %v)", page, len(got), len(want), paths(got[:min(3, len(got))]))
		}
		// Keys that are not files (a directory marker, unclean keys) cost
		// the first page one extra request.
		pages := (n + page - 1) / page
		t.Logf("pages of %4d: %d files in %d pages, %d ListObjectsV2 requests (last max-keys=%v)",
			page, len(got), pages, lists.Load(), maxKeys.Load())
		if int(lists.Load()) > 2*pages+1 {
			t.Errorf("pages of %d: %d list requests for %d pages", page, lists.Load(), pages)
		}
	}
	for _, f := range listAll(t, fs, "", "", 500) {
		if f.Size != int64(len(f.Path)) || f.ETag == "" || strings.Contains(f.ETag, `"`) || f.ModTime.IsZero() {
			t.Fatalf("listed %+v", f)
		}
	}
	// Resume from a returned path, from a string between two paths, from
	// before everything and after everything.
	for _, cursor := range []string{want[0], want[499], want[500] + "x", "dir05/", "dir05", "", "0", "zzz", want[n-1]} {
		var rest []string
		for _, p := range want {
			if p > cursor {
				rest = append(rest, p)
			}
		}
		for _, page := range []int{1000, 77} {
			if got := paths(listAll(t, fs, "", cursor, page)); !slices.Equal(got, rest) {
				t.Fatalf("from %q in pages of %d: %d files, want %d", cursor, page, len(got), len(rest))
			}
		}
	}
	// A directory, and a file, as the listed path.
	var dir07 []string
	for _, p := range want {
		if strings.HasPrefix(p, "dir07/") {
			dir07 = append(dir07, p)
		}
	}
	if got := paths(listAll(t, fs, "dir07", "", 40)); !slices.Equal(got, dir07) {
		t.Fatalf("List(dir07) = %d files, want %d", len(got), len(dir07))
	}
	if got := paths(listAll(t, fs, want[42], "", 10)); !slices.Equal(got, want[42:43]) {
		t.Fatalf("List(file) = %v", got)
	}
	if got := listAll(t, fs, "nope", "", 10); len(got) != 0 {
		t.Fatalf("List(nope) = %v", paths(got))
	}
}

// TestS3WholeBucket mounts a bucket without a prefix: every clean key is a
// file, keys that are not clean paths are left out.
func TestS3WholeBucket(t *testing.T) {
	t.Parallel()
	f, want := s3Fixture(t, 20)
	fs := f.open(t, "s3://data")
	var all []string
	for _, p := range want {
		all = append(all, "prefix/"+p)
	}
	all = append(all, "other/x", "prefix-sibling/x", "prefix")
	slices.Sort(all)
	if got := paths(listAll(t, fs, "", "", 7)); !slices.Equal(got, all) {
		t.Fatalf("whole bucket: %v\nwant %v", got, all)
	}
}

func TestS3StatAndRanges(t *testing.T) {
	t.Parallel()
	f := newFakeS3(t, "data")
	content := []byte("0123456789")
	f.put(t, "data", "p/d/f.txt", content)
	f.put(t, "data", "p/empty", nil)
	fs := f.open(t, "s3://data/p")
	ctx := ctxTimeout(t)

	fi, err := fs.Stat(ctx, "d/f.txt")
	sum := md5.Sum(content)
	if err != nil || fi.Path != "d/f.txt" || fi.Size != 10 || fi.ETag != hex.EncodeToString(sum[:]) ||
		time.Since(fi.ModTime) > time.Hour {
		t.Fatalf("Stat = %+v, %v", fi, err)
	}
	ranges := []struct {
		name        string
		path        string
		off, length int64
		want        string
	}{
		{"whole", "d/f.txt", 0, -1, "0123456789"},
		{"start", "d/f.txt", 0, 3, "012"},
		{"middle", "d/f.txt", 4, 3, "456"},
		{"end", "d/f.txt", 7, 3, "789"},
		{"to the end", "d/f.txt", 7, -1, "789"},
		{"runs past the end", "d/f.txt", 8, 100, "89"},
		{"starts at the end", "d/f.txt", 10, 5, ""},
		{"starts past the end", "d/f.txt", 11, -1, ""},
		{"zero length", "d/f.txt", 3, 0, ""},
		{"empty object", "empty", 0, -1, ""},
		{"huge length", "d/f.txt", 9, 1 << 62, "9"},
	}
	for _, tt := range ranges {
		got, err := readRange(t, fs, tt.path, tt.off, tt.length)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: Open(%q, %d, %d) = %q, %v; want %q", tt.name, tt.path, tt.off, tt.length, got, err, tt.want)
		}
	}
	errs := []struct {
		name string
		do   func() error
		want error
	}{
		{"stat missing", func() error { _, err := fs.Stat(ctx, "nope"); return err }, ErrNotFound},
		{"stat a prefix", func() error { _, err := fs.Stat(ctx, "d"); return err }, ErrNotFound},
		{"open missing", func() error { _, err := fs.Open(ctx, "nope", 0, -1); return err }, ErrNotFound},
		{"open missing, ranged", func() error { _, err := fs.Open(ctx, "nope", 5, 5); return err }, ErrNotFound},
		{"open missing, zero length", func() error { _, err := fs.Open(ctx, "nope", 0, 0); return err }, ErrNotFound},
		{"stat ..", func() error { _, err := fs.Stat(ctx, "../p/d/f.txt"); return err }, ErrEscape},
		{"open absolute", func() error { _, err := fs.Open(ctx, "/p/d/f.txt", 0, -1); return err }, ErrEscape},
		{"list ..", func() error { _, _, err := fs.List(ctx, "..", "", 10); return err }, ErrEscape},
		{"stat unclean", func() error { _, err := fs.Stat(ctx, "d//f.txt"); return err }, ErrInvalid},
		{"stat root", func() error { _, err := fs.Stat(ctx, ""); return err }, ErrInvalid},
		{"stat bad utf-8", func() error { _, err := fs.Stat(ctx, "\xff"); return err }, ErrInvalid},
		{"open negative", func() error { _, err := fs.Open(ctx, "d/f.txt", -1, 2); return err }, ErrInvalid},
	}
	for _, tt := range errs {
		if err := tt.do(); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	missing := f.open(t, "s3://no-such-bucket/p")
	if _, _, err := missing.List(ctx, "", "", 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("List on a missing bucket = %v", err)
	}
	if _, err := missing.Stat(ctx, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat on a missing bucket = %v", err)
	}
	fs.Close()
	if _, err := fs.Stat(ctx, "d/f.txt"); !errors.Is(err, ErrClosed) {
		t.Errorf("Stat after Close = %v", err)
	}
}

// TestS3MatchesLocal writes one tree to a directory and to a bucket: both
// list it in the same order, so a cursor means the same on both.
func TestS3MatchesLocal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFakeS3(t, "bkt")
	tree := map[string]string{}
	for _, p := range []string{"a/b", "a-c", "a.d", "a0", "a/a/z", "a/a-", "b", "A", "_x/y", "a/a0", "ü/x", "a b/c"} {
		tree[p] = p
		f.put(t, "bkt", "root/"+p, []byte(p))
	}
	writeTree(t, dir, tree)
	local, s3 := openLocal(t, dir), f.open(t, "s3://bkt/root")
	for _, page := range []int{1, 4, 100} {
		l, s := paths(listAll(t, local, "", "", page)), paths(listAll(t, s3, "", "", page))
		if !slices.Equal(l, s) {
			t.Fatalf("pages of %d:\nfile %v\n  s3 %v", page, l, s)
		}
	}
}

func TestS3Options(t *testing.T) {
	t.Parallel()
	good := map[string]string{OptEndpoint: "127.0.0.1:9000", OptRegion: "eu-west-1", OptPathStyle: "true"}
	for _, tt := range []struct {
		name string
		set  map[string]string
		ok   bool
	}{
		{"host:port", nil, true},
		{"http URL", map[string]string{OptEndpoint: "http://127.0.0.1:9000"}, true},
		{"https URL with slash", map[string]string{OptEndpoint: "https://s3.example.com/"}, true},
		{"disableSSL", map[string]string{OptDisableSSL: "true"}, true},
		{"keys", map[string]string{OptAccessKeyID: "a", OptSecretAccessKey: "b"}, true},
		{"keys and token", map[string]string{OptAccessKeyID: "a", OptSecretAccessKey: "b", OptSessionToken: "c"}, true},
		{"not an s3 option", map[string]string{"other.key": "x"}, true},
		{"typo", map[string]string{"s3.secretKey": "x"}, false},
		{"key without secret", map[string]string{OptAccessKeyID: "a"}, false},
		{"secret without key", map[string]string{OptSecretAccessKey: "b"}, false},
		{"token alone", map[string]string{OptSessionToken: "c"}, false},
		{"bad bool", map[string]string{OptPathStyle: "yes please"}, false},
		{"URL with a path", map[string]string{OptEndpoint: "http://h:1/bucket"}, false},
		{"URL with a user", map[string]string{OptEndpoint: "http://u:p@h:1"}, false},
		{"ftp URL", map[string]string{OptEndpoint: "ftp://h:1"}, false},
		{"https URL and disableSSL", map[string]string{OptEndpoint: "https://h", OptDisableSSL: "true"}, false},
		{"host with a path", map[string]string{OptEndpoint: "h:1/x"}, false},
		{"retries", map[string]string{OptMaxRetries: "0"}, false},
	} {
		opts := map[string]string{}
		for k, v := range good {
			opts[k] = v
		}
		for k, v := range tt.set {
			opts[k] = v
		}
		fs, err := Open("s3://bucket/p", opts)
		if err == nil {
			fs.Close()
		}
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && (strings.Contains(err.Error(), `"b"`) || strings.Contains(err.Error(), `"c"`)) {
			t.Errorf("%s: an error shows a credential: %v", tt.name, err)
		}
	}
}

// TestS3Reachable: CheckReachable accepts a reachable bucket and refuses a
// missing bucket or an endpoint where nothing listens, without showing the
// secret key or the session token in any error or in the client's String.
func TestS3Reachable(t *testing.T) {
	t.Parallel()
	f := newFakeS3(t, "data")
	ctx := ctxTimeout(t)
	opts := f.options()
	if err := CheckReachable(ctx, "s3://data/prefix", opts); err != nil {
		t.Fatalf("reachable: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	deadOpts := f.options()
	deadOpts[OptEndpoint] = "http://" + dead
	for _, tt := range []struct {
		uri  string
		opts map[string]string
		want error
	}{
		{"s3://missing/prefix", opts, ErrNotFound},
		{"s3://data/prefix", deadOpts, nil},
	} {
		start := time.Now()
		err := CheckReachable(ctx, tt.uri, tt.opts)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("CheckReachable(%s) = %v, want %v", tt.uri, err, tt.want)
		}
		t.Logf("CheckReachable(%s, endpoint %s) refused in %v: %v", tt.uri, tt.opts[OptEndpoint], time.Since(start).Round(time.Millisecond), err)
		for _, s := range []string{opts[OptSecretAccessKey], opts[OptSessionToken]} {
			if err != nil && strings.Contains(err.Error(), s) {
				t.Errorf("error shows a secret: %v", err)
			}
		}
	}
	fs := f.open(t, "s3://data/prefix")
	for _, s := range []string{fmt.Sprint(fs), fmt.Sprintf("%+v", fs), fmt.Sprintf("%#v", fs)} {
		if strings.Contains(s, opts[OptSecretAccessKey]) || strings.Contains(s, opts[OptSessionToken]) {
			t.Errorf("printing the client shows a secret: %s", s)
		}
	}
}

// TestS3KeyPrefixesAreNotSecrets guards scrub: an error whose text contains
// the secret (as a misbehaving store might echo it) is masked.
func TestS3ErrorScrub(t *testing.T) {
	t.Parallel()
	s := &s3fs{bucket: "b", prefix: "p/", secrets: []string{"TOPSECRET"}}
	err := s.fail("stat", "x", errors.New("store said: bad signature for TOPSECRET"))
	if strings.Contains(err.Error(), "TOPSECRET") || !strings.Contains(err.Error(), "***") {
		t.Fatalf("not scrubbed: %v", err)
	}
	if errors.Unwrap(err) != nil && strings.Contains(fmt.Sprint(errors.Unwrap(err)), "TOPSECRET") {
		t.Fatalf("secret reachable through Unwrap")
	}
}

// TestS3VirtualHost: with path style off the bucket goes in the host name;
// gofakes3 accepts that too when told the base host. The client's dialer is
// pointed at the fake server, so no name needs to resolve.
func TestS3VirtualHost(t *testing.T) {
	t.Parallel()
	backend := s3mem.New()
	backend.CreateBucket("vhb")
	var hosts atomic.Value
	fake := gofakes3.New(backend, gofakes3.WithHostBucket(true)).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts.Store(r.Host)
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	backend.PutObject("vhb", "k/x", map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat)}, strings.NewReader("v"), 1, nil)
	fs, err := Open("s3://vhb/k", map[string]string{OptEndpoint: "http://s3.test:9000", OptRegion: "us-east-1", OptPathStyle: "false"})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	fs.(*s3fs).transport.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	files, _, err := fs.List(ctxTimeout(t), "", "", 10)
	if err != nil || len(files) != 1 || files[0].Path != "x" {
		t.Fatalf("List = %v, %v", files, err)
	}
	if h, _ := hosts.Load().(string); !strings.HasPrefix(h, "vhb.s3.test") {
		t.Fatalf("request went to host %q, want the bucket in the host name", h)
	}
}
