package policy

import (
	"strings"
	"time"
)

// RuleKind says how workers cache the files a cache-filter rule matches.
type RuleKind string

// The cache-filter rules.
const (
	// RuleImmutable: cache, and never re-check the UFS.
	RuleImmutable RuleKind = "immutable"
	// RuleSkipCache: never cache; reads go through to the UFS.
	RuleSkipCache RuleKind = "skipCache"
	// RuleMaxAge: cached data is fresh for Time, then re-validated against a
	// UFS stat.
	RuleMaxAge RuleKind = "maxAge"
)

// ParseRuleKind reads a rule name in any case.
func ParseRuleKind(s string) (RuleKind, error) {
	for _, k := range []RuleKind{RuleImmutable, RuleSkipCache, RuleMaxAge} {
		if strings.EqualFold(s, string(k)) {
			return k, nil
		}
	}
	return "", Errorf(ErrInvalid, "rule %q is not one of immutable, skipCache, maxAge", s)
}

// FilterRule is one cache-filter rule: files whose Alluxio path matches the
// RE2 Pattern are cached as Rule says. Time is set for maxAge only.
type FilterRule struct {
	Rule    RuleKind      `json:"rule" msgpack:"Rule"`
	Pattern string        `json:"pattern,omitempty" msgpack:"Pattern"`
	Time    time.Duration `json:"time,omitempty" msgpack:"Time"`
}

// FilterPolicy is the ordered rule list and the rule taken when none matches.
type FilterPolicy struct {
	Rules   []FilterRule `json:"rules" msgpack:"Rules"`
	Default FilterRule   `json:"defaultRule" msgpack:"Default"`
}
