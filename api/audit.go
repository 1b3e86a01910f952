package api

import "time"

// AuditEvent is one line of a node's audit log (--audit-log): a write the
// node accepted or refused, or a request it refused for its credentials.
// It names the caller by its token's name, never by the token.
type AuditEvent struct {
	Time time.Time `json:"time"`
	// Node is the coordinator or worker that wrote the line.
	Node string `json:"node,omitempty"`
	// Caller is the name of the token presented ("" without a valid one).
	Caller string `json:"caller,omitempty"`
	Remote string `json:"remote"`
	Method string `json:"method"`
	// Route is the route's pattern ("/api/v1/mount"), or the raw path of a
	// request no route takes.
	Route string `json:"route"`
	// The object of the request, when it has one.
	Path   string `json:"path,omitempty"`
	Job    string `json:"job,omitempty"`
	Worker string `json:"worker,omitempty"`
	Status int    `json:"status"`
	// Reason says why a request was refused for its credentials.
	Reason string `json:"reason,omitempty"`
}
