package cache

import (
	"regexp"
	"time"

	"github.com/alluvium/alluvium/policy"
)

// Policy is what the coordinators decided for this worker: priorities,
// TTLs and quota budgets per directory (the longest matching directory
// wins), and the cache-filter rules. The zero Policy caches everything at
// MEDIUM priority, forever, without quotas.
type Policy struct {
	Priorities map[string]policy.Priority
	TTLs       map[string]time.Duration
	// Budgets are this worker's share of each quota, in bytes.
	Budgets map[string]int64
	Rules   []policy.FilterRule
	Default policy.FilterRule
}

// compiledPolicy is a Policy ready for lookups on the read path.
type compiledPolicy struct {
	priorities map[string]policy.Priority
	ttls       map[string]time.Duration
	budgets    map[string]int64
	rules      []compiledRule
	def        policy.FilterRule
}

type compiledRule struct {
	policy.FilterRule
	re *regexp.Regexp
}

func compile(p Policy) *compiledPolicy {
	cp := &compiledPolicy{priorities: p.Priorities, ttls: p.TTLs, budgets: p.Budgets, def: p.Default}
	if cp.def.Rule == "" {
		cp.def.Rule = policy.RuleImmutable
	}
	for _, r := range p.Rules {
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			continue // the state machine refuses bad patterns; be safe anyway
		}
		cp.rules = append(cp.rules, compiledRule{r, re})
	}
	return cp
}

// longest returns the value for the longest directory of m containing p.
func longest[V any](m map[string]V, p string) (dir string, v V, ok bool) {
	if len(m) == 0 {
		return "", v, false
	}
	for q := p; ; {
		if v, ok := m[q]; ok {
			return q, v, true
		}
		if q == "/" || q == "" {
			return "", v, false
		}
		i := len(q) - 1
		for i > 0 && q[i] != '/' {
			i--
		}
		if i == 0 {
			q = "/"
		} else {
			q = q[:i]
		}
	}
}

func (cp *compiledPolicy) priority(p string) policy.Priority {
	if _, v, ok := longest(cp.priorities, p); ok && v != 0 {
		return v
	}
	return policy.PriorityMedium
}

func (cp *compiledPolicy) ttl(p string) (time.Duration, bool) {
	_, v, ok := longest(cp.ttls, p)
	return v, ok
}

// quota returns the quota directory governing p and its budget.
func (cp *compiledPolicy) quota(p string) (string, int64, bool) {
	return longest(cp.budgets, p)
}

// rule returns the cache-filter rule for p: the first matching rule in
// order, else the default.
func (cp *compiledPolicy) rule(p string) policy.FilterRule {
	for _, r := range cp.rules {
		if r.re.MatchString(p) {
			return r.FilterRule
		}
	}
	return cp.def
}
