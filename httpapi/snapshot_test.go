package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/httpapi"
)

func snapshotRequest(t *testing.T, method, url, token string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, url, err)
	}
	return resp, b
}

// splitFile cuts a snapshot file into its header (decoded) and body.
func splitFile(t *testing.T, file []byte) (map[string]any, []byte) {
	t.Helper()
	line, body, ok := bytes.Cut(file, []byte("\n"))
	if !ok {
		t.Fatalf("no header line in %q", file)
	}
	var h map[string]any
	if err := json.Unmarshal(line, &h); err != nil {
		t.Fatal(err)
	}
	return h, body
}

func joinFile(t *testing.T, h map[string]any, body []byte) []byte {
	t.Helper()
	line, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return append(append(line, '\n'), body...)
}

// resealed is a file with body and a header that matches it: size and
// checksum right, so that only the body's content can be refused.
func resealed(t *testing.T, file, body []byte) []byte {
	h, _ := splitFile(t, file)
	sum := sha256.Sum256(body)
	h["size"], h["sha256"] = len(body), hex.EncodeToString(sum[:])
	return joinFile(t, h, body)
}

// stateBytes is the leader's state as its snapshot body: byte-identical
// when, and only when, the state is.
func stateBytes(t *testing.T, co *coordinator.Coordinator) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := co.SaveLocalSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	_, body := splitFile(t, buf.Bytes())
	return body
}

// A file that is not intact, or not a snapshot, is refused with 400 and a
// reason, and the state stays as it was. None of them may reach Raft, which
// would panic on a snapshot it cannot read.
func TestSnapshotRestoreRefusesBadFiles(t *testing.T) {
	co := newLeader(t)
	// Keep the leader's own loops from changing the state meanwhile: the
	// worker that never heartbeats would be committed LOST, and the leader
	// publishes its address once.
	if _, err := co.Apply(context.Background(), &fsm.SetWorkerState{ID: "worker-1", State: fsm.WorkerDecommissioned}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := co.FSM().Coordinator(co.ID()); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the leader did not publish its address")
		}
	}
	srv := serve(t, co, httpapi.DefaultOptions())
	resp, good := snapshotRequest(t, http.MethodGet, srv.URL+httpapi.PathSnapshot, "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET snapshot = %d %s", resp.StatusCode, good)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("GET snapshot: Content-Type %q", ct)
	}
	header, body := splitFile(t, good)
	with := func(k string, v any) []byte {
		h := map[string]any{}
		for k, v := range header {
			h[k] = v
		}
		h[k] = v
		return joinFile(t, h, body)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-len(body)/2] ^= 0x40
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "ends before its header"},
		{"not a snapshot", []byte("PK\x03\x04 a zip file\n..."), "not an Alluvium snapshot"},
		{"json of another kind", []byte(`{"format":"tar","version":1}` + "\n"), "not an Alluvium snapshot"},
		{"header only", good[:len(good)-len(body)], "truncated: 0 of"},
		{"truncated", good[:len(good)-7], "truncated"},
		{"a flipped bit", flipped, "checksum mismatch"},
		{"bytes after the body", append(bytes.Clone(good), "more"...), "bytes follow"},
		{"newer version", with("version", 2), "version 2 is not supported"},
		{"no checksum", with("sha256", "abc"), "not a checksum"},
		{"no size", with("size", 0), "size 0"},
		{"index not the body's", with("index", header["index"].(float64)+1), "the header says index"},
		{"garbage with its checksum", resealed(t, good, bytes.Repeat([]byte{0xc1}, 100)), "invalid snapshot file"},
		{"cut state stream with its checksum", resealed(t, good, body[:len(body)-2]), "truncated (no end record)"},
	}
	before, applied := stateBytes(t, co), co.FSM().AppliedIndex()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, answer := snapshotRequest(t, http.MethodPost, srv.URL+httpapi.PathSnapshot, "", tc.file)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(answer), tc.want) {
				t.Errorf("restore = %d %s, want 400 with %q", resp.StatusCode, answer, tc.want)
			}
			if got := co.FSM().AppliedIndex(); got != applied {
				t.Errorf("applied index %d, was %d", got, applied)
			}
			if !bytes.Equal(stateBytes(t, co), before) {
				t.Error("the state changed")
			}
		})
	}
	// The intact file is restored, undoing a later change.
	if _, err := co.Apply(context.Background(), &fsm.AddMount{Mount: fsm.Mount{Path: "/later", UFS: "file:///later"}}); err != nil {
		t.Fatal(err)
	}
	resp, answer := snapshotRequest(t, http.MethodPost, srv.URL+httpapi.PathSnapshot, "", good)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), `"sha256":"`+header["sha256"].(string)) {
		t.Fatalf("restore of the intact file = %d %s", resp.StatusCode, answer)
	}
	if _, ok := co.FSM().Mount("/later"); ok {
		t.Error("the mount made after the snapshot survived its restore")
	}
	if _, ok := co.FSM().Mount("/data"); !ok {
		t.Error("the saved mount is gone")
	}
}

// Every snapshot request needs the token; the body bound answers 413;
// unknown parameters 400; a backend that cannot snapshot 501.
func TestSnapshotRoutesGuards(t *testing.T) {
	co := newLeader(t)
	opts := httpapi.DefaultOptions()
	opts.AuthToken = "s3cret"
	opts.MaxSnapshotBytes = 1 << 10
	srv := serve(t, co, opts)
	_, file := snapshotRequest(t, http.MethodGet, srv.URL+httpapi.PathSnapshot, "s3cret", nil)
	url := srv.URL + httpapi.PathSnapshot
	cases := []struct {
		name, method, url, token string
		body                     []byte
		code                     int
		want                     string
	}{
		{"save without token", http.MethodGet, url, "", nil, 401, "bearer token"},
		{"save with a wrong token", http.MethodGet, url, "s3cre", nil, 401, "bearer token"},
		{"stale save without token", http.MethodGet, url + "?stale=true", "", nil, 401, "bearer token"},
		{"restore without token", http.MethodPost, url, "", file, 401, "bearer token"},
		{"restore with a wrong token", http.MethodPost, url, "x", file, 401, "bearer token"},
		{"save", http.MethodGet, url, "s3cret", nil, 200, `"format":"alluvium-snapshot"`},
		{"stale save", http.MethodGet, url + "?stale=true", "s3cret", nil, 200, `"format":"alluvium-snapshot"`},
		{"unknown parameter", http.MethodGet, url + "?format=tar", "s3cret", nil, 400, "unknown query parameter"},
		{"bad stale", http.MethodGet, url + "?stale=maybe", "s3cret", nil, 400, "stale must be"},
		{"restore over the bound", http.MethodPost, url, "s3cret", append(bytes.Clone(file), make([]byte, 2<<10)...), 413, "larger than 1024 bytes"},
		{"restore", http.MethodPost, url, "s3cret", file, 200, `"index":`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, answer := snapshotRequest(t, tc.method, tc.url, tc.token, tc.body)
			if resp.StatusCode != tc.code || !strings.Contains(string(answer), tc.want) {
				t.Errorf("%s %s = %d %.200s, want %d with %q", tc.method, tc.url, resp.StatusCode, answer, tc.code, tc.want)
			}
			if tc.code == 401 && strings.Contains(string(answer), "alluvium-snapshot") {
				t.Error("an unauthorized request got the snapshot")
			}
		})
	}

	plain := serve(t, noSnapshots{co}, httpapi.DefaultOptions())
	resp, answer := snapshotRequest(t, http.MethodGet, plain.URL+httpapi.PathSnapshot, "", nil)
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("GET snapshot of a backend without snapshots = %d %s, want 501", resp.StatusCode, answer)
	}
}

// noSnapshots is a backend that decides, in code, to take no snapshots.
type noSnapshots struct{ httpapi.Backend }

func (noSnapshots) WriteSnapshotFile(context.Context, io.Writer, bool) error {
	return fmt.Errorf("this coordinator cannot take snapshots: %w", errors.ErrUnsupported)
}

func (noSnapshots) RestoreSnapshotFile(context.Context, io.Reader) (json.RawMessage, error) {
	return nil, fmt.Errorf("this coordinator cannot restore snapshots: %w", errors.ErrUnsupported)
}
