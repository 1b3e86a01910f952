package worker

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/jsonhttp"
)

// MaxListCount bounds one page of a listing.
const MaxListCount = 10000

// serveList answers GET /api/v1/list/<path>: a page of the UFS listing.
func (w *Worker) serveList(rw http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, api.PathList)
	if p == "" {
		p = "/"
	}
	count := 1000
	if s := r.URL.Query().Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxListCount {
			jsonhttp.WriteError(rw, http.StatusBadRequest, "count must be 1 to "+strconv.Itoa(MaxListCount))
			return
		}
		count = n
	}
	fs, loc, ok := w.resolve(rw, p)
	if !ok {
		return
	}
	files, next, err := fs.List(r.Context(), loc.Rel, r.URL.Query().Get("cursor"), count)
	if err != nil {
		writeUFSError(rw, loc.Path, err)
		return
	}
	out := api.Listing{Results: make([]api.ListedFile, 0, len(files)), Cursor: next}
	for _, f := range files {
		full := apath.Join(loc.Mount.Path, f.Path)
		lf := api.ListedFile{Path: full, Size: f.Size}
		if !f.ModTime.IsZero() {
			lf.ModTime = f.ModTime.UTC().Format("2006-01-02T15:04:05Z")
		}
		if st, ok := w.cache.Stat(full); ok && st.Complete() {
			lf.Cached = true
		}
		out.Results = append(out.Results, lf)
	}
	jsonhttp.WriteJSON(rw, http.StatusOK, out)
}
