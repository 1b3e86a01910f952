package fsm

import (
	"regexp"
	"slices"

	"github.com/alluvium/alluvium/policy"
)

// RuleKind, FilterRule and FilterPolicy are the shared vocabulary of
// package policy; the aliases keep this package's commands and the golden
// files of testdata/compat written in its own terms.
type (
	RuleKind     = policy.RuleKind
	FilterRule   = policy.FilterRule
	FilterPolicy = policy.FilterPolicy
)

// The cache-filter rules (see policy.RuleKind).
const (
	RuleImmutable = policy.RuleImmutable
	RuleSkipCache = policy.RuleSkipCache
	RuleMaxAge    = policy.RuleMaxAge
)

// MaxFilterRules bounds the rule list, which every worker matches per file.
const MaxFilterRules = 1024

// ParseRuleKind reads a rule name in any case.
func ParseRuleKind(s string) (RuleKind, error) { return policy.ParseRuleKind(s) }

// AddFilterRule appends a rule, or updates the time of the rule with the same
// kind and pattern, keeping its place in the order.
type AddFilterRule struct {
	Rule FilterRule `msgpack:"Rule"`
}

// RemoveFilterRule removes the rule with this kind and pattern.
type RemoveFilterRule struct {
	Rule    RuleKind `msgpack:"Rule"`
	Pattern string   `msgpack:"Pattern"`
}

// SetDefaultFilter changes the rule taken when no rule matches.
type SetDefaultFilter struct {
	Rule FilterRule `msgpack:"Rule"`
}

func (*AddFilterRule) Type() CommandType    { return CmdAddFilterRule }
func (*RemoveFilterRule) Type() CommandType { return CmdRemoveFilterRule }
func (*SetDefaultFilter) Type() CommandType { return CmdSetDefaultFilter }

// checkRuleTime validates the time of a rule: required for maxAge, refused
// for the others so that a stored rule never carries a meaningless field.
func checkRuleTime(r FilterRule) error {
	switch r.Rule {
	case RuleImmutable, RuleSkipCache, RuleMaxAge:
	default:
		return invalidf("rule %q is not one of immutable, skipCache, maxAge", r.Rule)
	}
	switch {
	case r.Rule == RuleMaxAge && r.Time <= 0:
		return invalidf("a maxAge rule needs a positive time")
	case r.Rule != RuleMaxAge && r.Time != 0:
		return invalidf("only a maxAge rule takes a time")
	}
	return nil
}

func (f *FSM) applyAddFilterRule(_ uint64, c *AddFilterRule) any {
	r := c.Rule
	if err := checkRuleTime(r); err != nil {
		return err
	}
	if r.Pattern == "" {
		return invalidf("a rule needs a pattern")
	}
	if _, err := regexp.Compile(r.Pattern); err != nil {
		return invalidf("pattern %q does not compile: %v", r.Pattern, err)
	}
	rules := slices.Clone(f.s.filter.Rules)
	i := slices.IndexFunc(rules, func(o FilterRule) bool { return o.Rule == r.Rule && o.Pattern == r.Pattern })
	if i >= 0 {
		rules[i] = r
	} else {
		if len(rules) >= MaxFilterRules {
			return invalidf("at most %d cache-filter rules can be set", MaxFilterRules)
		}
		rules = append(rules, r)
	}
	f.s.filter.Rules = rules
	return nil
}

func (f *FSM) applyRemoveFilterRule(_ uint64, c *RemoveFilterRule) any {
	i := slices.IndexFunc(f.s.filter.Rules, func(o FilterRule) bool { return o.Rule == c.Rule && o.Pattern == c.Pattern })
	if i < 0 {
		if c.Pattern == "" && c.Rule == f.s.filter.Default.Rule {
			return invalidf("the default rule cannot be removed; change it with updateDefault instead")
		}
		return notFoundf("no %s rule with pattern %q", c.Rule, c.Pattern)
	}
	f.s.filter.Rules = slices.Delete(slices.Clone(f.s.filter.Rules), i, i+1)
	return nil
}

func (f *FSM) applySetDefaultFilter(_ uint64, c *SetDefaultFilter) any {
	r := c.Rule
	if err := checkRuleTime(r); err != nil {
		return err
	}
	if r.Pattern != "" {
		return invalidf("the default rule takes no pattern")
	}
	f.s.filter.Default = r
	return nil
}

// Filter returns the cache-filter rules and the default rule.
func (f *FSM) Filter() FilterPolicy {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return FilterPolicy{Rules: slices.Clone(f.s.filter.Rules), Default: f.s.filter.Default}
}
