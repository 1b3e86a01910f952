package coordinator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// newRaftLogger bridges hashicorp's hclog, which raft logs through, to the
// coordinator's slog.Logger, once, so that an embedding program sees one log.
func newRaftLogger(l *slog.Logger, name string) hclog.Logger {
	base := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:   name,
		Level:  hclog.Trace,
		Output: io.Discard,
	})
	base.RegisterSink(slogSink{l})
	return base
}

// slogSink hands raft's log lines to a slog.Logger. On the way it
//   - formats the values raft leaves to be formatted (hclog.Fmt("%+v",
//     servers)), which a slog handler would print as the format and its
//     arguments: `servers="[%+v [...]]"`;
//   - lowers the level of raft's transport reporting an inbound connection
//     that ended (a peer closed or reset its pooled connection, or this node
//     is shutting down): raft logs that at ERROR, but it is how connections
//     end, and raft dials again. A Ctrl-C of `alluvium dev` logged it on most
//     stops.
type slogSink struct{ l *slog.Logger }

func (s slogSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	var lv slog.Level
	switch {
	case level <= hclog.Debug:
		lv = slog.LevelDebug
	case level == hclog.Info:
		lv = slog.LevelInfo
	case level == hclog.Warn:
		lv = slog.LevelWarn
	default:
		lv = slog.LevelError
	}
	attrs := make([]any, 0, len(args)+2)
	attrs = append(attrs, "component", name)
	for i, a := range args {
		if f, ok := a.(hclog.Format); ok && len(f) > 0 {
			if format, ok := f[0].(string); ok {
				a = fmt.Sprintf(format, f[1:]...)
			}
		}
		if i%2 == 1 && msg == "failed to decode incoming command" && args[i-1] == "error" {
			lv = min(lv, connectionEndLevel(fmt.Sprint(a)))
		}
		attrs = append(attrs, a)
	}
	ctx := context.Background()
	if !s.l.Enabled(ctx, lv) {
		return
	}
	s.l.Log(ctx, lv, msg, attrs...)
}

// connectionEndLevel is the level of raft's report of an inbound
// connection that ended with err: debug for this node's own shutdown, warn
// for a peer that went away, error (as raft says) for anything else.
func connectionEndLevel(err string) slog.Level {
	switch {
	case err == raft.ErrTransportShutdown.Error():
		return slog.LevelDebug
	case strings.Contains(err, "connection reset by peer"), strings.Contains(err, "use of closed network connection"),
		strings.Contains(err, "broken pipe"), strings.HasSuffix(err, "EOF"):
		return slog.LevelWarn
	}
	return slog.LevelError
}
