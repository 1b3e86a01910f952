package api

// QuotaRequest is the body of POST /api/v1/quota.
type QuotaRequest struct {
	Path  string `json:"path"`
	Quota *Size  `json:"quota"`
}

// Quota is one quota as GET /api/v1/quota answers it. Usage is summed over
// the workers' reports.
type Quota struct {
	Path           string `json:"path"`
	QuotaBytes     int64  `json:"quotaBytes"`
	UsedBytes      int64  `json:"usedBytes"`
	RemainingBytes int64  `json:"remainingBytes"`
}

// Quotas is the answer of GET /api/v1/quota.
type Quotas struct {
	Results []Quota `json:"results"`
}

// TTL is the body of POST /api/v1/ttl and one result of GET.
type TTL struct {
	Path string    `json:"path"`
	TTL  *Duration `json:"ttl"`
}

// TTLs is the answer of GET /api/v1/ttl.
type TTLs struct {
	Results []TTL `json:"results"`
}

// Priority is the body of POST /api/v1/priority and one result of GET.
type Priority struct {
	Path     string `json:"path"`
	Priority string `json:"priority"`
}

// Priorities is the answer of GET /api/v1/priority.
type Priorities struct {
	Results []Priority `json:"results"`
}

// FilterRule is one cache-filter rule. Time is set for maxAge only.
type FilterRule struct {
	Rule    string    `json:"rule"`
	Pattern string    `json:"pattern,omitempty"`
	Time    *Duration `json:"time,omitempty"`
}

// CacheFilter is the answer of GET /api/v1/cache-filter.
type CacheFilter struct {
	Rules       []FilterRule `json:"rules"`
	DefaultRule string       `json:"defaultRule"`
	DefaultTime *Duration    `json:"defaultTime,omitempty"`
}

// FilterRequest is the body of POST and DELETE /api/v1/cache-filter.
type FilterRequest struct {
	Rule          string    `json:"rule"`
	Pattern       string    `json:"pattern,omitempty"`
	Time          *Duration `json:"time,omitempty"`
	UpdateDefault bool      `json:"updateDefault,omitempty"`
}
