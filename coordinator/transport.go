package coordinator

import (
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// listenerStream is a raft.StreamLayer over a listener the caller opened,
// so that a program (or a test) can bind port 0 and learn its Raft address
// before the cluster is configured, with no window for another process to
// take the port.
type listenerStream struct{ net.Listener }

func (s listenerStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}
