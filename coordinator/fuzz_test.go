package coordinator

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/ufs"
)

// indexScheduler is a scheduler whose FSM mounts dir at /m: enough for
// readIndex, which resolves the index through the mount table and reads it
// from the real local UFS.
func indexScheduler(tb testing.TB, dir string) *scheduler {
	tb.Helper()
	f := fsm.New()
	data, err := fsm.Encode(&fsm.AddMount{Mount: fsm.Mount{Path: "/m", UFS: "file://" + dir}})
	if err != nil {
		tb.Fatal(err)
	}
	if res, isErr := f.Apply(1, data).(error); isErr {
		tb.Fatal(res)
	}
	pool := ufs.NewPool()
	tb.Cleanup(func() { _ = pool.Close() })
	return &scheduler{c: &Coordinator{fsm: f}, pool: pool, running: map[string]bool{}}
}

// wantIndex is the index format spelt out: one path a line, surrounding
// white space dropped, blank lines and # comments skipped.
func wantIndex(content string) []string {
	var out []string
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// FuzzReadIndex writes arbitrary bytes as a job's index file and checks
// readIndex against the format's definition: the same paths in the same
// order, none blank, padded or a comment; and a refusal only for a line
// longer than any valid path (so no valid index is ever refused).
func FuzzReadIndex(f *testing.F) {
	for _, s := range []string{
		"/m/a\n/m/b\n",
		"# comment\n\n  /m/a  \r\n\t/m/b",
		"/m/a\r\n#/m/skipped\r\n /m/c",
		"",
		"\n\n\n",
		"#",
		"/m/a\x00b\n/m/\xff\xfe\n",
		"s3://bucket/key\nfile:///m/x\n",
		"/m/" + strings.Repeat("x", apath.MaxLen-3) + "\n/m/y",
		"/m/" + strings.Repeat("x", apath.MaxLen) + "\n",
		"\v\f\u0085/m/nel\u00a0\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	s := indexScheduler(f, dir)
	name := filepath.Join(dir, "index.txt")
	f.Fuzz(func(t *testing.T, content []byte) {
		if err := os.WriteFile(name, content, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := s.readIndex(t.Context(), "/m/index.txt")
		if err != nil {
			longest := 0
			for _, line := range strings.Split(string(content), "\n") {
				longest = max(longest, len(line))
			}
			if !errors.Is(err, bufio.ErrTooLong) || longest <= apath.MaxLen {
				t.Fatalf("readIndex(%q): %v (longest line %d bytes)", content, err, longest)
			}
			return
		}
		for _, p := range got {
			if p == "" || p != strings.TrimSpace(p) || strings.HasPrefix(p, "#") || strings.Contains(p, "\n") {
				t.Fatalf("readIndex(%q) returned %q", content, p)
			}
		}
		if want := wantIndex(string(content)); !reflect.DeepEqual(got, want) {
			t.Fatalf("readIndex(%q) = %q, want %q", content, got, want)
		}
	})
}

// FuzzCursor checks the job cursor a leader commits after each page: a
// cursor it wrote reads back as itself (else a new leader resumes a job in
// the wrong place), whatever bytes the listing key holds, and no stored
// text makes parseCursor panic or answer a negative root.
func FuzzCursor(f *testing.F) {
	for _, s := range []struct {
		stored string
		root   int
		inner  string
	}{
		{"", 0, ""},
		{`{"r":1,"c":"sub/a.bin"}`, 1, "sub/a.bin"},
		{`{"r":2}`, 3, "dir/with \"quotes\" and \\ and \u2028"},
		{`{"r":-1}`, 1 << 40, "日本語/ファイル"},
		{`{"r":1e9}`, 0, "<&>"},
		{`not json`, 7, "a\x00b"},
		{`{"r":0,"b":"/w=="}`, 2, "not \xff utf-8"},
		{`{"r":"1","c":5}`, 0, "x"},
	} {
		f.Add(s.stored, s.root, s.inner)
	}
	f.Fuzz(func(t *testing.T, stored string, root int, inner string) {
		if got := parseCursor(stored); got.Root < 0 {
			t.Fatalf("%q parses to a negative root %d", stored, got.Root)
		}
		if root < 0 {
			return
		}
		c := cursor{Root: root, Inner: inner}
		if back := parseCursor(c.String()); back != c {
			t.Fatalf("cursor %+v is stored as %s and reads back as %+v", c, c.String(), back)
		}
	})
}
