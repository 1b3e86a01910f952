package coordinator

import (
	"context"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
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
	ctx := context.Background()
	if !s.l.Enabled(ctx, lv) {
		return
	}
	s.l.Log(ctx, lv, msg, append([]any{"component", name}, args...)...)
}
