package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/alluvium/alluvium/api"
)

// Log is an audit log. Record is safe for concurrent use.
type Log struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
	failed bool
	onErr  func(error)
}

// Open opens the audit log at spec: "-" for stderr, otherwise a file
// appended to (created 0600). onErr, when set, hears of the first failed
// write.
func Open(spec string, onErr func(error)) (*Log, error) {
	if spec == "-" {
		return &Log{w: os.Stderr, onErr: onErr}, nil
	}
	f, err := os.OpenFile(spec, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--audit-log: %w", err)
	}
	return &Log{w: f, closer: f, onErr: onErr}, nil
}

// New writes the audit log to w.
func New(w io.Writer) *Log { return &Log{w: w} }

// Record writes e as one JSON line.
func (l *Log) Record(e api.AuditEvent) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(b); err != nil && !l.failed {
		l.failed = true
		if l.onErr != nil {
			l.onErr(err)
		}
	}
}

// Close closes the file (not stderr).
func (l *Log) Close() error {
	if l.closer == nil {
		return nil
	}
	return l.closer.Close()
}
