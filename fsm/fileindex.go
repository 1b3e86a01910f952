package fsm

import (
	"slices"

	"github.com/alluvium/alluvium/apath"
)

// FileEntry is one file of the global file index: a file cached somewhere in
// the cluster, its size and the workers that hold it (sorted).
type FileEntry struct {
	Path    string   `json:"path" msgpack:"p"`
	Size    int64    `json:"size" msgpack:"s"`
	Workers []string `json:"workers,omitempty" msgpack:"w,omitempty"`
	// Replicas is how many copies the last load of the file asked for (0:
	// not known, from an older version). A rebalance keeps the file on that
	// many owners: inferring the degree from the holders would count the
	// extra copy of a rebalance cut short by a leader change.
	Replicas int `json:"replicas,omitempty" msgpack:"r,omitempty"`
}

// FileIndexAdd adds entries. Each entry's Workers are added to its holders
// (a job's page records every holder of every file in one command), and so
// is Worker, when set, to every entry's. A size of zero leaves a known
// entry's size unchanged.
type FileIndexAdd struct {
	Entries []FileEntry `msgpack:"Entries"`
	Worker  string      `msgpack:"Worker"`
}

// FileIndexRemove removes entries, or, when Worker is set, only removes that
// worker from the entries' holders (an entry left with no holder leaves the
// index).
type FileIndexRemove struct {
	Paths  []string `msgpack:"Paths"`
	Worker string   `msgpack:"Worker"`
}

// FileIndexHolders sets the exact holders of known entries. An entry left
// with no holder leaves the index. (Kept for logs of earlier versions: jobs
// now record holders with their progress, see UpdateJob.Observed.)
type FileIndexHolders struct {
	Entries []FileEntry `msgpack:"Entries"`
}

func (*FileIndexAdd) Type() CommandType     { return CmdFileIndexAdd }
func (*FileIndexRemove) Type() CommandType  { return CmdFileIndexRemove }
func (*FileIndexHolders) Type() CommandType { return CmdFileIndexHolders }

func (f *FSM) applyFileIndexAdd(_ uint64, c *FileIndexAdd) any {
	for _, e := range c.Entries {
		if err := apath.Validate(e.Path); err != nil {
			return invalidf("file index: %v", err)
		}
		if e.Size < 0 || e.Replicas < 0 {
			return invalidf("file index: %s has a negative size or replica count", e.Path)
		}
		if slices.Contains(e.Workers, "") {
			return invalidf("file index: %s has an empty holder", e.Path)
		}
	}
	added := 0
	for _, e := range c.Entries {
		_, known := f.s.files.get(e.Path)
		holders := e.Workers
		if c.Worker != "" {
			holders = append(slices.Clip(holders), c.Worker)
		}
		if !f.s.addHolder(e.Path, e.Size, e.Replicas, "") {
			f.s.refuse(holders...)
			continue
		}
		if !known {
			added++
		}
		for _, w := range holders {
			f.s.addHolder(e.Path, 0, 0, w)
		}
	}
	return added
}

func (f *FSM) applyFileIndexRemove(_ uint64, c *FileIndexRemove) any {
	removed := 0
	for _, p := range c.Paths {
		var ok bool
		if c.Worker == "" {
			ok = f.s.deleteEntry(p)
		} else {
			ok = f.s.removeHolder(p, c.Worker)
		}
		if ok {
			removed++
		}
	}
	return removed
}

func (f *FSM) applyFileIndexHolders(_ uint64, c *FileIndexHolders) any {
	changed := 0
	for _, in := range c.Entries {
		ie, ok := f.s.files.get(in.Path)
		if !ok {
			continue
		}
		e := toFileEntry(ie.path, ie.size, ie.replicas, ie.holders, f.s.files.names)
		want := slices.Compact(slices.Sorted(slices.Values(in.Workers)))
		for _, w := range want { // added first: the entry keeps its size
			if w != "" {
				f.s.addHolder(e.Path, 0, 0, w)
			}
		}
		for _, w := range e.Workers {
			if _, keep := slices.BinarySearch(want, w); !keep {
				f.s.removeHolder(e.Path, w)
			}
		}
		changed++
	}
	return changed
}

// FileIndexList returns up to count entries (all when count <= 0) whose path
// starts with prefix and sorts after lastKey, in path order, and the path to
// pass as lastKey for the next page ("" when there is none). A page's paths
// share one string and its holder lists one array (each list capped, so an
// append by the caller copies): two allocations instead of two an entry.
func (f *FSM) FileIndexList(prefix, lastKey string, count int) ([]FileEntry, string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []FileEntry
	var paths []byte
	var ends, nh []int
	var holders []uint32
	if count > 0 && count <= 10_000 {
		out, ends, nh = make([]FileEntry, 0, count), make([]int, 0, count), make([]int, 0, count)
		paths, holders = make([]byte, 0, 64*count), make([]uint32, 0, 2*count)
	}
	more := false
	f.s.files.ascend(max(prefix, lastKey), func(path []byte, size int64, replicas int, hs []uint32) bool {
		if string(path) == lastKey {
			return true
		}
		if len(path) < len(prefix) || string(path[:len(prefix)]) != prefix { // no copy of the path
			return false
		}
		if count > 0 && len(out) == count {
			more = true
			return false
		}
		paths = append(paths, path...)
		ends = append(ends, len(paths))
		holders = append(holders, hs...)
		nh = append(nh, len(hs))
		out = append(out, FileEntry{Size: size, Replicas: replicas})
		return true
	})
	all, pool := string(paths), make([]string, len(holders))
	start, h := 0, 0
	for i := range out {
		e := &out[i]
		e.Path, start = all[start:ends[i]], ends[i]
		if n := nh[i]; n > 0 {
			e.Workers = pool[h : h+n : h+n]
			for k := range n {
				e.Workers[k] = f.s.files.names[holders[h+k]]
			}
			slices.Sort(e.Workers)
			h += n
		}
	}
	if more {
		return out, out[len(out)-1].Path
	}
	return out, ""
}

// FileIndexGet returns one entry.
func (f *FSM) FileIndexGet(p string) (FileEntry, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	e, ok := f.s.files.get(p)
	if !ok {
		return FileEntry{}, false
	}
	return toFileEntry(e.path, e.size, e.replicas, e.holders, f.s.files.names), true
}

// FileIndexLen is the number of entries in the file index.
func (f *FSM) FileIndexLen() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.s.files.count
}
