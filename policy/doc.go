// Package policy is the vocabulary the coordinators replicate and the
// workers enforce: a mount point (Mount), an eviction priority (Priority),
// a cache-filter rule (FilterRule, RuleKind, FilterPolicy), and the kinds
// of error a request about them fails with (ErrNotFound, ErrConflict,
// ErrGone, ErrInvalid).
//
// It is a leaf: it imports nothing but the standard library, so the state
// machine (fsm), the page cache (cache), the under file systems (ufs) and
// the worker all speak it without depending on one another. The msgpack
// tags of these types are part of fsm's persisted encoding (pinned by
// fsm/testdata/compat): a field here is renamed or retagged never.
package policy
