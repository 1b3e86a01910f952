package coordinator

import (
	"context"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/policy"
)

// Policies, workers and the file index for httpapi.Backend (see
// apibackend.go): reads of this node's replica, writes through Apply.

// Mounts lists the mount table, options unmasked, ordered by path.
func (c *Coordinator) Mounts() []policy.Mount { return c.fsm.Mounts() }

// Mount returns the mount point at exactly path p.
func (c *Coordinator) Mount(p string) (policy.Mount, bool) { return c.fsm.Mount(p) }

// AddMount commits a mount point and returns it as stored (UFS normalized).
func (c *Coordinator) AddMount(ctx context.Context, m policy.Mount) (policy.Mount, error) {
	if _, err := c.Apply(ctx, &fsm.AddMount{Mount: m}); err != nil {
		return policy.Mount{}, err
	}
	stored, _ := c.fsm.Mount(m.Path)
	return stored, nil
}

// RemoveMount commits the removal of a mount point.
func (c *Coordinator) RemoveMount(ctx context.Context, path string) error {
	_, err := c.Apply(ctx, &fsm.RemoveMount{Path: path})
	return err
}

func (c *Coordinator) quotaView(q fsm.Quota) api.Quota {
	used := c.UsedBytesUnder(q.Path)
	return api.Quota{Path: q.Path, QuotaBytes: q.QuotaBytes, UsedBytes: used, RemainingBytes: max(q.QuotaBytes-used, 0)}
}

// Quotas lists the quotas with the usage workers report under them.
func (c *Coordinator) Quotas() []api.Quota {
	out := []api.Quota{}
	for _, q := range c.fsm.Quotas() {
		out = append(out, c.quotaView(q))
	}
	return out
}

// Quota returns the quota at exactly path p.
func (c *Coordinator) Quota(p string) (api.Quota, bool) {
	q, ok := c.fsm.Quota(p)
	if !ok {
		return api.Quota{}, false
	}
	return c.quotaView(q), true
}

// SetQuota commits a quota and returns it as stored.
func (c *Coordinator) SetQuota(ctx context.Context, path string, bytes int64) (api.Quota, error) {
	if _, err := c.Apply(ctx, &fsm.SetQuota{Path: path, Bytes: bytes}); err != nil {
		return api.Quota{}, err
	}
	q, _ := c.Quota(path)
	return q, nil
}

// DeleteQuota commits the removal of a quota.
func (c *Coordinator) DeleteQuota(ctx context.Context, path string) error {
	_, err := c.Apply(ctx, &fsm.DeleteQuota{Path: path})
	return err
}

func ttlView(t fsm.TTL) api.TTL {
	d := api.Duration(t.TTL)
	return api.TTL{Path: t.Path, TTL: &d}
}

// TTLs lists the TTLs, ordered by path.
func (c *Coordinator) TTLs() []api.TTL {
	out := []api.TTL{}
	for _, t := range c.fsm.TTLs() {
		out = append(out, ttlView(t))
	}
	return out
}

// TTL returns the TTL at exactly path p.
func (c *Coordinator) TTL(p string) (api.TTL, bool) {
	t, ok := c.fsm.TTL(p)
	if !ok {
		return api.TTL{}, false
	}
	return ttlView(t), true
}

// SetTTL commits a TTL.
func (c *Coordinator) SetTTL(ctx context.Context, path string, ttl time.Duration) error {
	_, err := c.Apply(ctx, &fsm.SetTTL{Path: path, TTL: ttl})
	return err
}

// DeleteTTL commits the removal of a TTL.
func (c *Coordinator) DeleteTTL(ctx context.Context, path string) error {
	_, err := c.Apply(ctx, &fsm.DeleteTTL{Path: path})
	return err
}

// Priorities lists the priorities, ordered by path.
func (c *Coordinator) Priorities() []policy.PathPriority { return c.fsm.Priorities() }

// Priority returns the priority at exactly path p.
func (c *Coordinator) Priority(p string) (policy.PathPriority, bool) { return c.fsm.Priority(p) }

// SetPriority commits a priority.
func (c *Coordinator) SetPriority(ctx context.Context, p policy.PathPriority) error {
	_, err := c.Apply(ctx, &fsm.SetPriority{Path: p.Path, Priority: p.Priority})
	return err
}

// DeletePriority commits the removal of a priority.
func (c *Coordinator) DeletePriority(ctx context.Context, path string) error {
	_, err := c.Apply(ctx, &fsm.DeletePriority{Path: path})
	return err
}

// Filter returns the cache-filter rules and the default rule.
func (c *Coordinator) Filter() policy.FilterPolicy { return c.fsm.Filter() }

// AddFilterRule commits a rule (or a new time for an existing one).
func (c *Coordinator) AddFilterRule(ctx context.Context, r policy.FilterRule) error {
	_, err := c.Apply(ctx, &fsm.AddFilterRule{Rule: r})
	return err
}

// SetDefaultFilter commits the rule taken when none matches.
func (c *Coordinator) SetDefaultFilter(ctx context.Context, r policy.FilterRule) error {
	_, err := c.Apply(ctx, &fsm.SetDefaultFilter{Rule: r})
	return err
}

// RemoveFilterRule commits the removal of the rule of this kind and pattern.
func (c *Coordinator) RemoveFilterRule(ctx context.Context, kind policy.RuleKind, pattern string) error {
	_, err := c.Apply(ctx, &fsm.RemoveFilterRule{Rule: kind, Pattern: pattern})
	return err
}

// nodeView is a worker as the API answers it, with the usage it last
// reported to this coordinator.
func (c *Coordinator) nodeView(w fsm.Worker) api.Node {
	n := api.Node{ID: w.ID, Address: w.Address, State: string(w.State), CapacityBytes: w.CapacityBytes,
		StartTime: rfc3339(w.StartTime), Version: w.Version, RingWeight: w.RingWeight}
	if used, pages, last, ok := c.NodeStats(w.ID); ok {
		n.UsedBytes, n.Pages, n.LastHeartbeat = used, pages, rfc3339(last)
	}
	return n
}

// Nodes lists the workers, ordered by id.
func (c *Coordinator) Nodes() []api.Node {
	out := []api.Node{}
	for _, w := range c.fsm.Workers() {
		out = append(out, c.nodeView(w))
	}
	return out
}

// Node returns the worker id.
func (c *Coordinator) Node(id string) (api.Node, bool) {
	w, ok := c.fsm.Worker(id)
	if !ok {
		return api.Node{}, false
	}
	return c.nodeView(w), true
}

// RegisterWorker commits a worker's registration and returns it as stored.
func (c *Coordinator) RegisterWorker(ctx context.Context, reg api.WorkerRegistration, start time.Time) (api.Node, error) {
	w := fsm.Worker{ID: reg.ID, Address: reg.Address, CapacityBytes: reg.CapacityBytes, StartTime: start, Version: reg.Version,
		RingWeight: reg.RingWeight}
	if _, err := c.Apply(ctx, &fsm.RegisterWorker{Worker: w}); err != nil {
		return api.Node{}, err
	}
	n, _ := c.Node(reg.ID)
	return n, nil
}

// RemoveWorker commits a worker's removal (from the membership, the ring
// and the file index) and returns it as it was.
func (c *Coordinator) RemoveWorker(ctx context.Context, id string) (api.Node, error) {
	res, err := c.Apply(ctx, &fsm.RemoveWorker{ID: id})
	if err != nil {
		return api.Node{}, err
	}
	w, _ := res.(fsm.Worker)
	return c.nodeView(w), nil
}

// FileIndexList lists the file index under prefix in path order, count at
// most, after lastKey; next is the key to go on from.
func (c *Coordinator) FileIndexList(prefix, lastKey string, count int) ([]api.FileEntry, string) {
	entries, next := c.fsm.FileIndexList(prefix, lastKey, count)
	out := make([]api.FileEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, api.FileEntry(e))
	}
	return out, next
}

// FileIndexAdd commits entries (path and size) and returns how many were new.
func (c *Coordinator) FileIndexAdd(ctx context.Context, entries []api.FileEntry) (int, error) {
	es := make([]fsm.FileEntry, len(entries))
	for i, e := range entries {
		es[i] = fsm.FileEntry{Path: e.Path, Size: e.Size}
	}
	res, err := c.Apply(ctx, &fsm.FileIndexAdd{Entries: es})
	n, _ := res.(int)
	return n, err
}

// FileIndexRemove commits the removal of paths and returns how many were
// known.
func (c *Coordinator) FileIndexRemove(ctx context.Context, paths []string) (int, error) {
	res, err := c.Apply(ctx, &fsm.FileIndexRemove{Paths: paths})
	n, _ := res.(int)
	return n, err
}
