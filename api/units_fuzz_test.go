package api

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
	"time"
)

// FuzzSize checks ParseSize and Size's JSON form on arbitrary text and byte
// counts: nothing panics, nothing accepted is negative, the string and JSON
// paths agree, and what String or JSON writes reads back exactly, so a
// quota an operator reads from the API can be written back unchanged.
func FuzzSize(f *testing.F) {
	for _, s := range []struct {
		text string
		n    int64
	}{
		{"512MiB", 0}, {"10GB", 1}, {"1.5GiB", 1023}, {"4096", 1024}, {" 7 k ", 1 << 40},
		{"0", 1<<63 - 1}, {"-1", -1}, {"1e3", 3 << 50}, {".", 1000}, {"8388608PiB", 1 << 62},
		{"9223372036854775807", 1<<63 - 1024}, {"NaN", 5}, {"1.0000000000000000001B", 1<<20 + 1},
	} {
		f.Add(s.text, s.n)
	}
	f.Fuzz(func(t *testing.T, text string, n int64) {
		v, err := ParseSize(text)
		if err == nil {
			if v < 0 {
				t.Fatalf("ParseSize(%q) = %d, negative", text, v)
			}
			if back, err := ParseSize(v.String()); err != nil || back != v {
				t.Fatalf("ParseSize(%q) = %d = %q, which reads back as %d (%v)", text, v, v.String(), back, err)
			}
		}
		q, _ := json.Marshal(text)
		var j Size
		jerr := j.UnmarshalJSON(q)
		if (err == nil) != (jerr == nil) || (err == nil && j != v) {
			t.Fatalf("%q: ParseSize = %d, %v; JSON string = %d, %v", text, v, err, j, jerr)
		}

		var fromInt Size
		err = json.Unmarshal([]byte(strconv.FormatInt(n, 10)), &fromInt)
		if n < 0 {
			if err == nil {
				t.Fatalf("the JSON integer %d was accepted as a size", n)
			}
			return
		}
		if err != nil || int64(fromInt) != n {
			t.Fatalf("the JSON integer %d reads as %d (%v)", n, fromInt, err)
		}
		s := Size(n)
		if back, err := ParseSize(s.String()); err != nil || back != s {
			t.Fatalf("Size(%d).String() = %q reads back as %d (%v)", n, s.String(), back, err)
		}
		b, err := json.Marshal(s)
		var back Size
		if err != nil || json.Unmarshal(b, &back) != nil || back != s {
			t.Fatalf("Size(%d) as JSON %s reads back as %d (%v)", n, b, back, err)
		}
	})
}

// FuzzDuration checks ParseDuration and Duration's JSON form the same way:
// nothing negative is accepted, string and JSON agree, and what String and
// MarshalJSON write reads back exactly (a TTL survives a GET-then-POST).
func FuzzDuration(f *testing.F) {
	for _, s := range []struct {
		text string
		n    int64
	}{
		{"90s", 0}, {"1h30m", int64(time.Second)}, {"90", int64(time.Hour)}, {" 5 ", 1},
		{"-1s", -1}, {"-0", 1<<63 - 1}, {"9223372036", 999}, {"9223372037", int64(1500 * time.Millisecond)},
		{"1.5µs", int64(time.Microsecond)}, {"2562047h47m16.854775807s", 3}, {"+7", 0}, {"1e3s", 0}, {"", 0},
	} {
		f.Add(s.text, s.n)
	}
	f.Fuzz(func(t *testing.T, text string, n int64) {
		v, err := ParseDuration(text)
		if err == nil {
			if v < 0 {
				t.Fatalf("ParseDuration(%q) = %v, negative", text, time.Duration(v))
			}
			if back, err := ParseDuration(v.String()); err != nil || back != v {
				t.Fatalf("ParseDuration(%q) = %q, which reads back as %v (%v)", text, v.String(), time.Duration(back), err)
			}
		}
		q, _ := json.Marshal(text)
		var j Duration
		jerr := j.UnmarshalJSON(q)
		if (err == nil) != (jerr == nil) || (err == nil && j != v) {
			t.Fatalf("%q: ParseDuration = %v, %v; JSON string = %v, %v", text, v, err, j, jerr)
		}

		// A JSON integer is seconds.
		var secs Duration
		err = json.Unmarshal([]byte(strconv.FormatInt(n, 10)), &secs)
		if ok := n >= 0 && n <= math.MaxInt64/int64(time.Second); ok != (err == nil) {
			t.Fatalf("the JSON integer %d: accepted=%v, want %v (%v)", n, err == nil, ok, err)
		}
		if err == nil && time.Duration(secs) != time.Duration(n)*time.Second {
			t.Fatalf("the JSON integer %d reads as %v", n, time.Duration(secs))
		}

		if n < 0 {
			return
		}
		d := Duration(n)
		if back, err := ParseDuration(d.String()); err != nil || back != d {
			t.Fatalf("Duration(%d).String() = %q reads back as %d (%v)", n, d.String(), back, err)
		}
		b, err := json.Marshal(d)
		var back Duration
		if err != nil || json.Unmarshal(b, &back) != nil || back != d {
			t.Fatalf("Duration(%d) as JSON %s reads back as %d (%v)", n, b, back, err)
		}
	})
}
