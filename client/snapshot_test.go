package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alluvium/alluvium/client"
)

// snapshotFile builds a file in the coordinators' format around body (the
// client checks the framing, not the records).
func snapshotFile(body string) []byte {
	sum := sha256.Sum256([]byte(body))
	return []byte(fmt.Sprintf(`{"format":"alluvium-snapshot","version":1,"index":42,"term":3,"size":%d,"sha256":%q,"coordinator":"c1","createdAt":"2026-01-02T03:04:05Z"}`+"\n%s",
		len(body), hex.EncodeToString(sum[:]), body))
}

// A download is written out only as far as it is intact: a short, altered
// or overlong file is an error, whatever status the server sent.
func TestSaveSnapshotChecksTheDownload(t *testing.T) {
	good := snapshotFile(strings.Repeat("state", 1000))
	flipped := bytes.Clone(good)
	flipped[len(flipped)-10] ^= 1
	cases := []struct {
		name  string
		serve []byte
		want  string // "" for success
	}{
		{"intact", good, ""},
		{"truncated", good[:len(good)-100], "truncated: 4900 of 5000 bytes"},
		{"altered", flipped, "checksum mismatch"},
		{"overlong", append(bytes.Clone(good), '!'), "bytes follow"},
		{"not a snapshot", []byte("<html>proxy error</html>\n"), "not an Alluvium snapshot"},
		{"no header", []byte("x"), "no header line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/internal/snapshot" || r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer tok" {
					http.Error(w, "unexpected request", http.StatusTeapot)
					return
				}
				_, _ = w.Write(tc.serve)
			}))
			defer srv.Close()
			c, err := client.New([]string{srv.URL}, client.WithToken("tok"))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			info, err := c.SaveSnapshot(context.Background(), &out)
			if tc.want == "" {
				if err != nil || !bytes.Equal(out.Bytes(), good) || info.Index != 42 || info.Term != 3 || info.Size != 5000 {
					t.Fatalf("SaveSnapshot = %+v, %v; wrote %d bytes of %d", info, err, out.Len(), len(good))
				}
				if v, err := client.VerifySnapshot(bytes.NewReader(out.Bytes())); err != nil || v != info {
					t.Errorf("VerifySnapshot of the saved file = %+v, %v", v, err)
				}
				return
			}
			if !errors.Is(err, client.ErrBadSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SaveSnapshot = %v, want ErrBadSnapshot with %q", err, tc.want)
			}
			if _, err := client.VerifySnapshot(bytes.NewReader(tc.serve)); !errors.Is(err, client.ErrBadSnapshot) {
				t.Errorf("VerifySnapshot = %v, want ErrBadSnapshot", err)
			}
		})
	}
}

// A restore refused for want of a leader goes to the next coordinator, and
// a redirect is followed, each time with the whole file from its start; a
// refusal of the file itself is final.
func TestRestoreSnapshotResendsTheFile(t *testing.T) {
	file := snapshotFile(strings.Repeat("x", 100<<10))
	var got atomic.Pointer[[]byte]
	var leaderCalls, refusals atomic.Int32
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaderCalls.Add(1)
		b, _ := io.ReadAll(r.Body)
		got.Store(&b)
		if !bytes.Equal(b, file) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"status":"invalid snapshot file: checksum mismatch"}`)
			return
		}
		_, _ = io.WriteString(w, `{"format":"alluvium-snapshot","version":1,"index":42,"term":3,"size":102400,"sha256":"ab","coordinator":"c1","createdAt":"2026-01-02T03:04:05Z"}`)
	}))
	defer leader.Close()
	electing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refusals.Add(1)
		_, _ = io.CopyN(io.Discard, r.Body, 1000) // part of the file was read
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"no raft leader: an election is running"}`)
	}))
	defer electing.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, leader.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()

	for _, urls := range [][]string{{electing.URL, leader.URL}, {redirecting.URL}} {
		t.Run(strings.Join(urls, ","), func(t *testing.T) {
			got.Store(nil)
			c, err := client.New(urls)
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.RestoreSnapshot(context.Background(), bytes.NewReader(file))
			if err != nil || info.Index != 42 || info.Coordinator != "c1" {
				t.Fatalf("RestoreSnapshot = %+v, %v", info, err)
			}
			if b := got.Load(); b == nil || !bytes.Equal(*b, file) {
				t.Error("the leader did not get the whole file")
			}
		})
	}
	if refusals.Load() == 0 {
		t.Error("the coordinator without a leader was never asked")
	}

	calls := leaderCalls.Load()
	c, err := client.New([]string{leader.URL, leader.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RestoreSnapshot(context.Background(), bytes.NewReader(file[:len(file)-1]))
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("restore of a bad file = %v, want the 400", err)
	}
	if n := leaderCalls.Load() - calls; n != 1 {
		t.Errorf("a refused file was sent %d times, want once", n)
	}
}
