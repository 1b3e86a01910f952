package api

import (
	"net/url"
	"strconv"
)

// PageQuery is the query of a page of a listing by path (the file index, a
// worker's cached files): the paths under prefix, after lastKey
// (exclusive; the previous page's NextKey), at most count of them. Empty and
// zero values are left out, meaning all paths, from the start, the
// server's default count.
func PageQuery(prefix, lastKey string, count int) url.Values {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if lastKey != "" {
		q.Set("lastKey", lastKey)
	}
	if count > 0 {
		q.Set("count", strconv.Itoa(count))
	}
	return q
}
