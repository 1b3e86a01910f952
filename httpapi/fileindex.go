package httpapi

import (
	"net/http"

	"github.com/alluvium/alluvium/api"
)

// MaxFileIndexBatch bounds the paths of one file-index request, on top of
// the body bound, so that one command stays small in the Raft log.
const MaxFileIndexBatch = 10000

func (s *server) fileIndexRoutes() []route {
	return []route{
		{http.MethodGet, "/api/v1/file_index", read, s.getFileIndex},
		{http.MethodPost, "/api/v1/file_index", write, s.postFileIndex},
		{http.MethodDelete, "/api/v1/file_index", write, s.deleteFileIndex},
	}
}

func (s *server) fileIndexEnabled() error {
	if !s.opts.Disabled.FileIndex {
		return nil
	}
	return errorf(http.StatusNotFound, "file index is not enabled")
}

func (s *server) getFileIndex(r *http.Request) (any, error) {
	if err := s.fileIndexEnabled(); err != nil {
		return nil, err
	}
	q, err := query(r, "lastKey", "count", "prefix")
	if err != nil {
		return nil, err
	}
	count, err := positiveInt(q, "count")
	if err != nil {
		return nil, err
	}
	entries, next := s.b.FileIndexList(q["prefix"], q["lastKey"], count)
	st := s.b.FileIndexStatus()
	return api.FileIndex{Results: append(make([]api.FileEntry, 0, len(entries)), entries...), NextKey: next,
		Partial: st.Partial, Entries: st.Entries, Limit: st.Limit}, nil
}

func (s *server) postFileIndex(r *http.Request) (any, error) {
	if err := s.fileIndexEnabled(); err != nil {
		return nil, err
	}
	var req api.FileIndexRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if (len(req.Paths) == 0) == (len(req.Entries) == 0) {
		return nil, errorf(http.StatusBadRequest, "give exactly one of \"paths\" and \"entries\"")
	}
	var entries []api.FileEntry
	for _, p := range req.Paths {
		entries = append(entries, api.FileEntry{Path: p})
	}
	for _, e := range req.Entries {
		if len(e.Workers) > 0 {
			return nil, errorf(http.StatusBadRequest, "entries take a path and a size; holders are recorded by the workers")
		}
		entries = append(entries, api.FileEntry{Path: e.Path, Size: e.Size})
	}
	if len(entries) > MaxFileIndexBatch {
		return nil, errorf(http.StatusBadRequest, "at most %d entries per request", MaxFileIndexBatch)
	}
	n, err := s.b.FileIndexAdd(r.Context(), entries)
	if err != nil {
		return nil, err
	}
	return api.FileIndexAdded{Added: n}, nil
}

func (s *server) deleteFileIndex(r *http.Request) (any, error) {
	if err := s.fileIndexEnabled(); err != nil {
		return nil, err
	}
	var req api.FileIndexRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if len(req.Entries) > 0 || len(req.Paths) == 0 {
		return nil, errorf(http.StatusBadRequest, "give the \"paths\" to remove")
	}
	if len(req.Paths) > MaxFileIndexBatch {
		return nil, errorf(http.StatusBadRequest, "at most %d paths per request", MaxFileIndexBatch)
	}
	n, err := s.b.FileIndexRemove(r.Context(), req.Paths)
	if err != nil {
		return nil, err
	}
	return api.FileIndexRemoved{Removed: n}, nil
}
