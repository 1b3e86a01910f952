package fsm

import (
	"maps"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/policy"
)

// Mount is the shared vocabulary of package policy; the alias keeps this
// package's commands and the golden files of testdata/compat written in its
// own terms.
type Mount = policy.Mount

// AddMount adds a mount point. Apply refuses a path that is mounted already,
// lies inside or above another mount point, or a UFS that is mounted
// elsewhere (or contains, or is contained by, a mounted UFS).
type AddMount struct {
	Mount Mount `msgpack:"Mount"`
}

// RemoveMount removes a mount point with the quotas, TTLs and priorities
// under it.
type RemoveMount struct {
	Path string `msgpack:"Path"`
}

// ReplaceMounts replaces the whole table; a coordinator with a static mount
// table proposes it at start. Policies left outside every mount are dropped.
type ReplaceMounts struct {
	Mounts []Mount `msgpack:"Mounts"`
}

func (*AddMount) Type() CommandType      { return CmdAddMount }
func (*RemoveMount) Type() CommandType   { return CmdRemoveMount }
func (*ReplaceMounts) Type() CommandType { return CmdReplaceMounts }

// checkMount validates m against the given table and returns it in canonical
// form (UFS URI normalised).
func checkMount(table map[string]Mount, m Mount) (Mount, error) {
	if err := apath.Validate(m.Path); err != nil {
		return Mount{}, invalidf("mount path: %v", err)
	}
	u, err := apath.ParseURI(m.UFS)
	if err != nil {
		return Mount{}, invalidf("%v", err)
	}
	m.UFS = u.String()
	for _, p := range sortedKeys(table) {
		other := table[p]
		switch {
		case p == m.Path:
			return Mount{}, conflictf("%s is mounted already (to %s)", p, other.UFS)
		case apath.Contains(p, m.Path):
			return Mount{}, conflictf("%s lies inside mount point %s", m.Path, p)
		case apath.Contains(m.Path, p):
			return Mount{}, conflictf("%s lies above mount point %s", m.Path, p)
		}
		ou, err := apath.ParseURI(other.UFS)
		if err == nil && (ou.Contains(u) || u.Contains(ou)) {
			return Mount{}, conflictf("ufs %s overlaps %s, mounted at %s", m.UFS, other.UFS, p)
		}
	}
	m.Options = maps.Clone(m.Options)
	return m, nil
}

func (f *FSM) applyAddMount(_ uint64, c *AddMount) any {
	m, err := checkMount(f.s.mounts, c.Mount)
	if err != nil {
		return err
	}
	f.s.mounts[m.Path] = m
	return nil
}

func (f *FSM) applyRemoveMount(_ uint64, c *RemoveMount) any {
	if _, ok := f.s.mounts[c.Path]; !ok {
		return gonef("%s is not mounted", c.Path)
	}
	delete(f.s.mounts, c.Path)
	f.s.dropPoliciesOutsideMounts()
	return nil
}

func (f *FSM) applyReplaceMounts(_ uint64, c *ReplaceMounts) any {
	table := map[string]Mount{}
	for _, m := range c.Mounts {
		m, err := checkMount(table, m)
		if err != nil {
			return err
		}
		table[m.Path] = m
	}
	f.s.mounts = table
	f.s.dropPoliciesOutsideMounts()
	return nil
}

// dropPoliciesOutsideMounts removes quotas, TTLs and priorities whose path no
// longer lies under a mount point. Deleting during the loop is order-free.
func (s *state) dropPoliciesOutsideMounts() {
	for p := range s.quotas {
		if _, ok := s.mountFor(p); !ok {
			delete(s.quotas, p)
		}
	}
	for p := range s.ttls {
		if _, ok := s.mountFor(p); !ok {
			delete(s.ttls, p)
		}
	}
	for p := range s.priorities {
		if _, ok := s.mountFor(p); !ok {
			delete(s.priorities, p)
		}
	}
}

// mountFor returns the mount point that covers the Alluxio path p. Mount
// points never nest, so at most one does.
func (s *state) mountFor(p string) (Mount, bool) {
	for mp, m := range s.mounts {
		if apath.Contains(mp, p) {
			return m, true
		}
	}
	return Mount{}, false
}

// checkUnderMount validates a policy path: clean, absolute and covered by a
// mount point.
func (s *state) checkUnderMount(p string) error {
	if err := apath.Validate(p); err != nil {
		return invalidf("%v", err)
	}
	if _, ok := s.mountFor(p); !ok {
		return invalidf("%s is not under any mount point", p)
	}
	return nil
}

// Mounts lists the mount table, ordered by path.
func (f *FSM) Mounts() []Mount {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := sortedValues(f.s.mounts)
	for i := range out {
		out[i].Options = maps.Clone(out[i].Options)
	}
	return out
}

// Mount returns the mount point at exactly path p.
func (f *FSM) Mount(p string) (Mount, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m, ok := f.s.mounts[p]
	m.Options = maps.Clone(m.Options)
	return m, ok
}

// Resolved is a location in both namespaces.
type Resolved struct {
	Mount Mount  // the mount point that covers it
	Path  string // the Alluxio path
	UFS   string // the UFS URI
}

// Resolve maps an Alluxio path or a UFS URI to both forms through the mount
// table. It fails with ErrInvalid when no mount point covers the location.
func (f *FSM) Resolve(location string) (Resolved, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if len(location) > 0 && location[0] == '/' {
		if err := apath.Validate(location); err != nil {
			return Resolved{}, invalidf("%v", err)
		}
		m, ok := f.s.mountFor(location)
		if !ok {
			return Resolved{}, invalidf("%s is not under any mount point", location)
		}
		rel, _ := apath.Rel(m.Path, location)
		u, err := apath.ParseURI(m.UFS)
		if err != nil {
			return Resolved{}, invalidf("mount %s: %v", m.Path, err)
		}
		return Resolved{Mount: cloneMount(m), Path: location, UFS: u.Join(rel).String()}, nil
	}
	u, err := apath.ParseURI(location)
	if err != nil {
		return Resolved{}, invalidf("%v", err)
	}
	for _, p := range sortedKeys(f.s.mounts) {
		m := f.s.mounts[p]
		mu, err := apath.ParseURI(m.UFS)
		if err != nil || !mu.Contains(u) {
			continue
		}
		rel, _ := apath.Rel(mu.Path, u.Path)
		return Resolved{Mount: cloneMount(m), Path: apath.Join(m.Path, rel), UFS: u.String()}, nil
	}
	return Resolved{}, invalidf("%s is not under any mount point", location)
}

func cloneMount(m Mount) Mount {
	m.Options = maps.Clone(m.Options)
	return m
}
