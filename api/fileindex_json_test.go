package api

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestFileIndexAppendJSONMatchesEncodingJSON: AppendJSON writes exactly
// what encoding/json writes, for pages of random entries whose strings mix
// plain ASCII, HTML and control characters, quotes, backslashes, other
// scripts, U+2028/U+2029 and invalid UTF-8.
func TestFileIndexAppendJSONMatchesEncodingJSON(t *testing.T) {
	pieces := []string{"/data/imagenet/train/n01440764_10026.JPEG", "a", "<", ">", "&", `"`, `\`, "\n", "\r", "\t", "\b", "\f",
		"\x00", "\x1f", "\x7f", "é", "日本", "\u2028", "\u2029", "\xff", "\xe2\x80", "😀", "worker-3f1c9a52"}
	r := rand.New(rand.NewPCG(19, 2))
	str := func() string {
		s := ""
		for range r.IntN(6) {
			s += pieces[r.IntN(len(pieces))]
		}
		return s
	}
	cases := []FileIndex{{}, {Results: []FileEntry{}}, {Results: []FileEntry{{}}, Partial: true, Entries: 1, Limit: 1}}
	for range 500 {
		fi := FileIndex{NextKey: str(), Partial: r.IntN(2) == 0, Entries: r.IntN(1 << 30), Limit: r.IntN(3) - 1}
		for range r.IntN(5) {
			e := FileEntry{Path: str(), Size: r.Int64() - 1<<62, Replicas: r.IntN(4) - 1}
			for range r.IntN(3) {
				e.Workers = append(e.Workers, str())
			}
			if r.IntN(5) == 0 {
				e.Workers = []string{}
			}
			fi.Results = append(fi.Results, e)
		}
		cases = append(cases, fi)
	}
	for i, fi := range cases {
		want, err := json.Marshal(fi)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
