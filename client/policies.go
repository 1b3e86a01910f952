package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/alluvium/alluvium/api"
)

// The per-directory policies: each is keyed by a directory under a mount
// point, and removing a missing one answers 400 (as the contract says).

// Quotas lists the quotas with the usage the workers report.
func (c *Client) Quotas(ctx context.Context) (api.Quotas, error) {
	var out api.Quotas
	return out, c.get(ctx, "/api/v1/quota", nil, &out)
}

// Quota returns the quota of one directory (IsNotFound when it has none).
func (c *Client) Quota(ctx context.Context, path string) (api.Quota, error) {
	var out api.Quota
	return out, c.get(ctx, "/api/v1/quota", url.Values{"path": {path}}, &out)
}

// SetQuota adds or updates the quota of a directory.
func (c *Client) SetQuota(ctx context.Context, path string, quota api.Size) (api.Quota, error) {
	var out api.Quota
	return out, c.send(ctx, http.MethodPost, "/api/v1/quota", api.QuotaRequest{Path: path, Quota: &quota}, &out)
}

// DeleteQuota removes the quota of a directory.
func (c *Client) DeleteQuota(ctx context.Context, path string) error {
	return c.send(ctx, http.MethodDelete, "/api/v1/quota", api.PathRequest{Path: path}, nil)
}

// TTLs lists the TTLs.
func (c *Client) TTLs(ctx context.Context) (api.TTLs, error) {
	var out api.TTLs
	return out, c.get(ctx, "/api/v1/ttl", nil, &out)
}

// TTL returns the TTL of one directory (IsNotFound when it has none).
func (c *Client) TTL(ctx context.Context, path string) (api.TTL, error) {
	var out api.TTL
	return out, c.get(ctx, "/api/v1/ttl", url.Values{"path": {path}}, &out)
}

// SetTTL adds or updates the TTL of a directory: cached data under it is
// dropped once it is older than ttl.
func (c *Client) SetTTL(ctx context.Context, path string, ttl time.Duration) (api.TTL, error) {
	d := api.Duration(ttl)
	var out api.TTL
	return out, c.send(ctx, http.MethodPost, "/api/v1/ttl", api.TTL{Path: path, TTL: &d}, &out)
}

// DeleteTTL removes the TTL of a directory.
func (c *Client) DeleteTTL(ctx context.Context, path string) error {
	return c.send(ctx, http.MethodDelete, "/api/v1/ttl", api.PathRequest{Path: path}, nil)
}

// Priorities lists the eviction priorities set on directories.
func (c *Client) Priorities(ctx context.Context) (api.Priorities, error) {
	var out api.Priorities
	return out, c.get(ctx, "/api/v1/priority", nil, &out)
}

// Priority returns the priority of one directory (IsNotFound when unset,
// which means MEDIUM).
func (c *Client) Priority(ctx context.Context, path string) (api.Priority, error) {
	var out api.Priority
	return out, c.get(ctx, "/api/v1/priority", url.Values{"path": {path}}, &out)
}

// SetPriority sets the eviction priority of a directory: "HIGH", "MEDIUM"
// or "LOW" (in any case).
func (c *Client) SetPriority(ctx context.Context, path, level string) (api.Priority, error) {
	var out api.Priority
	return out, c.send(ctx, http.MethodPost, "/api/v1/priority", api.Priority{Path: path, Priority: level}, &out)
}

// DeletePriority removes the priority of a directory.
func (c *Client) DeletePriority(ctx context.Context, path string) error {
	return c.send(ctx, http.MethodDelete, "/api/v1/priority", api.PathRequest{Path: path}, nil)
}

// CacheFilter returns the cache-filter rules in the order they match, and
// the default rule.
func (c *Client) CacheFilter(ctx context.Context) (api.CacheFilter, error) {
	var out api.CacheFilter
	return out, c.get(ctx, "/api/v1/cache-filter", nil, &out)
}

// AddFilterRule adds a rule ("immutable", "skipCache", or "maxAge" with a
// Time), or updates the one with the same rule and pattern.
func (c *Client) AddFilterRule(ctx context.Context, rule api.FilterRule) (api.FilterRule, error) {
	var out api.FilterRule
	req := api.FilterRequest{Rule: rule.Rule, Pattern: rule.Pattern, Time: rule.Time}
	return out, c.send(ctx, http.MethodPost, "/api/v1/cache-filter", req, &out)
}

// SetDefaultFilterRule changes the rule of paths no rule matches; maxAge is
// the freshness of a "maxAge" default and ignored (0) otherwise.
func (c *Client) SetDefaultFilterRule(ctx context.Context, rule string, maxAge time.Duration) (api.FilterRule, error) {
	req := api.FilterRequest{Rule: rule, UpdateDefault: true}
	if maxAge > 0 {
		d := api.Duration(maxAge)
		req.Time = &d
	}
	var out api.FilterRule
	return out, c.send(ctx, http.MethodPost, "/api/v1/cache-filter", req, &out)
}

// RemoveFilterRule removes the rule with this rule kind and pattern.
func (c *Client) RemoveFilterRule(ctx context.Context, rule, pattern string) error {
	return c.send(ctx, http.MethodDelete, "/api/v1/cache-filter", api.FilterRequest{Rule: rule, Pattern: pattern}, nil)
}
