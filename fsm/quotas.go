package fsm

import (
	"maps"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// Budgets maps worker ids to bytes. It is encoded with its keys sorted:
// msgpack's SetSortMapKeys does not sort a map[string]int64, and replicas
// must write identical bytes for identical state.
type Budgets map[string]int64

// EncodeMsgpack writes the map with its keys in order.
func (b Budgets) EncodeMsgpack(enc *msgpack.Encoder) error {
	if b == nil {
		return enc.EncodeNil()
	}
	if err := enc.EncodeMapLen(len(b)); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if err := enc.EncodeString(k); err != nil {
			return err
		}
		if err := enc.EncodeInt(b[k]); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack reads what EncodeMsgpack wrote.
func (b *Budgets) DecodeMsgpack(dec *msgpack.Decoder) error {
	var m map[string]int64
	if err := dec.Decode(&m); err != nil {
		return err
	}
	*b = m
	return nil
}

// Quota caps the bytes cached under a directory, cluster-wide. The leader
// splits it into per-worker Budgets (bytes each worker may cache under the
// path) from the usage workers report; a worker enforces its budget locally.
type Quota struct {
	Path       string  `json:"path" msgpack:"Path"`
	QuotaBytes int64   `json:"quotaBytes" msgpack:"QuotaBytes"`
	Budgets    Budgets `json:"budgets,omitempty" msgpack:"Budgets"`
}

// SetQuota adds or updates a quota. Budgets already assigned are kept until
// the leader recomputes them.
type SetQuota struct {
	Path  string `msgpack:"Path"`
	Bytes int64  `msgpack:"Bytes"`
}

// DeleteQuota removes a quota.
type DeleteQuota struct {
	Path string `msgpack:"Path"`
}

// SetQuotaBudgets replaces the per-worker budgets of a quota.
type SetQuotaBudgets struct {
	Path    string  `msgpack:"Path"`
	Budgets Budgets `msgpack:"Budgets"`
}

func (*SetQuota) Type() CommandType        { return CmdSetQuota }
func (*DeleteQuota) Type() CommandType     { return CmdDeleteQuota }
func (*SetQuotaBudgets) Type() CommandType { return CmdSetQuotaBudgets }

func (f *FSM) applySetQuota(_ uint64, c *SetQuota) any {
	if err := f.s.checkUnderMount(c.Path); err != nil {
		return err
	}
	if c.Bytes <= 0 {
		return invalidf("quota must be a positive size, not %d", c.Bytes)
	}
	q := f.s.quotas[c.Path]
	q.Path, q.QuotaBytes = c.Path, c.Bytes
	f.s.quotas[c.Path] = q
	return nil
}

func (f *FSM) applyDeleteQuota(_ uint64, c *DeleteQuota) any {
	if _, ok := f.s.quotas[c.Path]; !ok {
		return notFoundf("quota not found for %s", c.Path)
	}
	delete(f.s.quotas, c.Path)
	return nil
}

func (f *FSM) applySetQuotaBudgets(_ uint64, c *SetQuotaBudgets) any {
	q, ok := f.s.quotas[c.Path]
	if !ok {
		return notFoundf("quota not found for %s", c.Path)
	}
	for _, w := range sortedKeys(c.Budgets) {
		if c.Budgets[w] < 0 {
			return invalidf("budget of %s under %s is negative", w, c.Path)
		}
	}
	q.Budgets = maps.Clone(c.Budgets)
	f.s.quotas[c.Path] = q
	return nil
}

func cloneQuota(q Quota) Quota {
	q.Budgets = maps.Clone(q.Budgets)
	return q
}

// Quotas lists all quotas, ordered by path.
func (f *FSM) Quotas() []Quota {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := sortedValues(f.s.quotas)
	for i := range out {
		out[i] = cloneQuota(out[i])
	}
	return out
}

// Quota returns the quota set at exactly path p.
func (f *FSM) Quota(p string) (Quota, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	q, ok := f.s.quotas[p]
	return cloneQuota(q), ok
}
