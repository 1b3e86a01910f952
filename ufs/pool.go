package ufs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/policy"
)

// Pool keeps one open UFS per mount point, so that a worker or the job
// scheduler does not build a client (and its connection pool) per request.
// A client is keyed by the mount path and a fingerprint of the UFS URI and
// options: when a mount is replaced with other options (new keys, another
// endpoint), the next Get opens a new client and closes the old one.
//
// A UFS returned by Get may be closed later by Get, Sync or Close; an
// operation on it then fails with ErrClosed, and the caller asks Get again.
// Operations already running on a file:// UFS finish first.
type Pool struct {
	open func(uri string, options map[string]string) (UFS, error)

	mu      sync.Mutex
	entries map[string]poolEntry // by mount path
	closed  bool
}

type poolEntry struct {
	fingerprint string
	fs          UFS
}

// NewPool returns an empty pool that opens clients with Open.
func NewPool() *Pool {
	return &Pool{open: Open, entries: map[string]poolEntry{}}
}

// fingerprint identifies a mount's client. Options are hashed so that the
// pool holds no second copy of credentials in a printable form.
func fingerprint(m policy.Mount) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(m.Options)) {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(m.Options[k]), m.Options[k])
	}
	uri := m.UFS
	if u, err := apath.ParseURI(m.UFS); err == nil {
		uri = u.String()
	}
	return uri + "\x00" + hex.EncodeToString(h.Sum(nil))
}

// Get returns the client of mount m, opening it on first use. Opening makes
// no network request, so it is done under the pool's lock.
func (p *Pool) Get(m policy.Mount) (UFS, error) {
	fp := fingerprint(m)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("ufs pool: %w", ErrClosed)
	}
	e, ok := p.entries[m.Path]
	if ok && e.fingerprint == fp {
		return e.fs, nil
	}
	fs, err := p.open(m.UFS, m.Options)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", m.Path, err)
	}
	if ok {
		e.fs.Close()
	}
	p.entries[m.Path] = poolEntry{fingerprint: fp, fs: fs}
	return fs, nil
}

// Sync closes the clients of mounts that are no longer in the table or have
// changed; call it when a new mount table arrives.
func (p *Pool) Sync(mounts []policy.Mount) {
	want := make(map[string]string, len(mounts))
	for _, m := range mounts {
		want[m.Path] = fingerprint(m)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for path, e := range p.entries {
		if want[path] != e.fingerprint {
			e.fs.Close()
			delete(p.entries, path)
		}
	}
}

// Len reports how many clients are open.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

// Close closes every client; Get fails afterwards.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for path, e := range p.entries {
		errs = append(errs, e.fs.Close())
		delete(p.entries, path)
	}
	p.closed = true
	return errors.Join(errs...)
}

// Location is one place in both namespaces.
type Location struct {
	Mount policy.Mount // the mount point that covers it
	Path  string       // the Alluxio path, e.g. "/s3/team-a/x.parquet"
	URI   string       // the UFS URI, e.g. "s3://bucket/prefix/team-a/x.parquet"
	Rel   string       // the path relative to the mount's UFS root, e.g. "team-a/x.parquet"
}

// Locate maps an Alluxio path ("/s3/a") or a UFS URI ("s3://bucket/p/a")
// through the mount table. The longest covering mount wins (mount points do
// not nest in a valid table, but a table is not trusted to be valid). A
// location outside every mount fails with ErrNoMount; a malformed one with
// ErrInvalid.
func Locate(mounts []policy.Mount, location string) (Location, error) {
	if len(location) > 0 && location[0] == '/' {
		if err := apath.Validate(location); err != nil {
			return Location{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		best := -1
		for i, m := range mounts {
			if apath.Validate(m.Path) == nil && apath.Contains(m.Path, location) &&
				(best < 0 || len(m.Path) > len(mounts[best].Path)) {
				best = i
			}
		}
		if best < 0 {
			return Location{}, fmt.Errorf("%s: %w", location, ErrNoMount)
		}
		m := mounts[best]
		u, err := apath.ParseURI(m.UFS)
		if err != nil {
			return Location{}, fmt.Errorf("%w: mount %s: %v", ErrInvalid, m.Path, err)
		}
		rel, _ := apath.Rel(m.Path, location)
		return Location{Mount: m, Path: location, URI: u.Join(rel).String(), Rel: rel}, nil
	}
	u, err := apath.ParseURI(location)
	if err != nil {
		return Location{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	best, bestLen := -1, -1
	for i, m := range mounts {
		mu, err := apath.ParseURI(m.UFS)
		if err != nil || apath.Validate(m.Path) != nil || !mu.Contains(u) {
			continue
		}
		if len(mu.Path) > bestLen {
			best, bestLen = i, len(mu.Path)
		}
	}
	if best < 0 {
		return Location{}, fmt.Errorf("%s: %w", u, ErrNoMount)
	}
	m := mounts[best]
	mu, _ := apath.ParseURI(m.UFS)
	rel, _ := apath.Rel(mu.Path, u.Path)
	return Location{Mount: m, Path: apath.Join(m.Path, rel), URI: u.String(), Rel: rel}, nil
}

// Resolver finds the UFS behind an Alluxio path (or a UFS URI) with the
// current mount table and a Pool of clients.
type Resolver struct {
	// Mounts returns the current mount table: the state machine's on a
	// coordinator, the synced copy on a worker.
	Mounts func() []policy.Mount
	Pool   *Pool
}

// Resolve returns the UFS that holds location and where it is. Pass
// loc.Rel to the UFS's methods.
func (r *Resolver) Resolve(location string) (UFS, Location, error) {
	loc, err := Locate(r.Mounts(), location)
	if err != nil {
		return nil, Location{}, err
	}
	fs, err := r.Pool.Get(loc.Mount)
	if err != nil {
		return nil, Location{}, err
	}
	return fs, loc, nil
}

// AlluxioPath maps a UFS URI to its Alluxio path.
func (r *Resolver) AlluxioPath(uri string) (string, error) {
	loc, err := Locate(r.Mounts(), uri)
	if err != nil {
		return "", err
	}
	return loc.Path, nil
}
