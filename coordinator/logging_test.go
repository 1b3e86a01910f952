package coordinator

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// The bridge from raft's hclog formats hclog.Fmt values and logs the end of
// an inbound connection below ERROR.
func TestRaftLogBridge(t *testing.T) {
	tests := []struct {
		name      string
		log       func(hclog.Logger)
		want      string
		wantLevel string
	}{
		{"formatted values", func(l hclog.Logger) { l.Info("initial configuration", "servers", hclog.Fmt("%+v", []int{1, 2})) },
			`servers="[1 2]"`, "level=INFO"},
		{"own shutdown", func(l hclog.Logger) {
			l.Error("failed to decode incoming command", "error", raft.ErrTransportShutdown)
		}, "transport shutdown", "level=DEBUG"},
		{"a peer went away", func(l hclog.Logger) {
			l.Error("failed to decode incoming command", "error", "read tcp: connection reset by peer")
		},
			"connection reset by peer", "level=WARN"},
		{"a connection cut short", func(l hclog.Logger) {
			l.Error("failed to decode incoming command", "error", errors.New("unexpected EOF"))
		},
			"unexpected EOF", "level=WARN"},
		{"a real decode error", func(l hclog.Logger) { l.Error("failed to decode incoming command", "error", "msgpack: invalid code") },
			"invalid code", "level=ERROR"},
		{"another message is not lowered", func(l hclog.Logger) { l.Error("failed to flush response", "error", raft.ErrTransportShutdown) },
			"transport shutdown", "level=ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := newRaftLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "raft")
			tt.log(l)
			out := buf.String()
			if !strings.Contains(out, tt.want) || !strings.Contains(out, tt.wantLevel) {
				t.Fatalf("logged %q, want %q at %s", out, tt.want, tt.wantLevel)
			}
		})
	}
}
