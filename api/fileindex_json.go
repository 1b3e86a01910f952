package api

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the JSON of a file index page, byte for byte what
// encoding/json writes for it (tested), without reflection: a page of 1,000
// entries is about 200 KB, and GET /api/v1/file_index must answer one in a
// millisecond (issue 19). The HTTP layer writes a value with this method
// directly.
func (fi FileIndex) AppendJSON(b []byte) []byte {
	if b == nil {
		b = make([]byte, 0, 64+200*len(fi.Results)) // ImageNet-like entries with two holders take about 195
	}
	b = append(b, `{"results":`...)
	if fi.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range fi.Results {
			if i > 0 {
				b = append(b, ',')
			}
			b = fi.Results[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	if fi.NextKey != "" {
		b = append(b, `,"nextKey":`...)
		b = appendJSONString(b, fi.NextKey)
	}
	b = append(b, `,"partial":`...)
	b = strconv.AppendBool(b, fi.Partial)
	b = append(b, `,"entries":`...)
	b = strconv.AppendInt(b, int64(fi.Entries), 10)
	if fi.Limit != 0 {
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, int64(fi.Limit), 10)
	}
	return append(b, '}')
}

func (e *FileEntry) appendJSON(b []byte) []byte {
	b = append(b, `{"path":`...)
	b = appendJSONString(b, e.Path)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, e.Size, 10)
	if len(e.Workers) > 0 {
		b = append(b, `,"workers":[`...)
		for j, w := range e.Workers {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, w)
		}
		b = append(b, ']')
	}
	if e.Replicas != 0 {
		b = append(b, `,"replicas":`...)
		b = strconv.AppendInt(b, int64(e.Replicas), 10)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json does by default: HTML
// characters, control characters, U+2028 and U+2029 escaped, invalid UTF-8
// replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
