package coordinator

import (
	"fmt"
	"net"
	"strconv"
	"strings"
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

// CheckDialAddress reports whether addr is a host:port that peers can dial:
// an IP address that is not unspecified (0.0.0.0, ::) or a DNS name, and a
// port from 1 to 65535. A name is not resolved here: the transport resolves
// it at every dial, so a peer that comes back on a new IP (a Kubernetes pod)
// is found again.
func CheckDialAddress(addr string) error {
	host, err := checkHostPort(addr, 1)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("address %q has no host", addr)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("address %q: %s is not an address peers can dial", addr, host)
	}
	return nil
}

// CheckBindAddress reports whether addr is a host:port to listen on: an
// empty host (every interface), an IP or a name, and a port from 0 (any) to
// 65535.
func CheckBindAddress(addr string) error {
	_, err := checkHostPort(addr, 0)
	return err
}

// checkHostPort splits addr and checks the port's range and the host's
// syntax; it returns the host.
func checkHostPort(addr string, minPort int) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q is not host:port: %v", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < minPort || n > 65535 {
		return "", fmt.Errorf("address %q: port %q is not a number from %d to 65535", addr, port, minPort)
	}
	if host != "" && net.ParseIP(host) == nil {
		if err := checkDNSName(host); err != nil {
			return "", fmt.Errorf("address %q: %v", addr, err)
		}
	}
	return host, nil
}

// checkDNSName checks the syntax of a host name: dot-separated labels of
// letters, digits, '-' and '_', 1 to 63 bytes each, none starting or ending
// with '-', 253 bytes in all (a final dot allowed).
func checkDNSName(name string) error {
	n := strings.TrimSuffix(name, ".")
	if n == "" || len(n) > 253 {
		return fmt.Errorf("host %q is not an IP address or a DNS name", name)
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q is not an IP address or a DNS name", name)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("host %q is not an IP address or a DNS name", name)
			}
		}
	}
	return nil
}
