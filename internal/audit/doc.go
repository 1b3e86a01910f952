// Package audit writes a node's audit log (--audit-log FILE, or - for
// stderr): one JSON line per api.AuditEvent, written whole under a lock so
// that lines never interleave. It holds token names, never tokens.
package audit
