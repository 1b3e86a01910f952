package httpserve_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/internal/httpserve"
	"github.com/alluvium/alluvium/internal/tlsconfig"
)

func start(t *testing.T, ln net.Listener, l httpserve.Limits) string {
	t.Helper()
	s := httpserve.StartLimited(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }), l)
	t.Cleanup(func() { s.Stop() })
	return ln.Addr().String()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestSlowlorisIsCutOff: a client that sends a header line every 50 ms,
// never ending its headers, is disconnected at ReadHeaderTimeout, on plain
// TCP and on TLS; a client that is idle after a request is disconnected at
// IdleTimeout.
func TestSlowlorisIsCutOff(t *testing.T) {
	ca, err := tlsconfig.NewCA("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	files, err := ca.WriteFiles(t.TempDir(), "node", tlsconfig.DevHosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	src, err := tlsconfig.Load(files)
	if err != nil {
		t.Fatal(err)
	}
	l := httpserve.Limits{ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, MaxHeaderBytes: 4 << 10}
	for _, tc := range []struct {
		name string
		ln   func() net.Listener
		dial func(addr string) (net.Conn, error)
	}{
		{"plain", func() net.Listener { return listen(t) }, func(a string) (net.Conn, error) { return net.Dial("tcp", a) }},
		{"TLS", func() net.Listener { return tls.NewListener(listen(t), src.Server(false)) },
			func(a string) (net.Conn, error) { return tls.Dial("tcp", a, src.Client()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := start(t, tc.ln(), l)
			c, err := tc.dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			began := time.Now()
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n")
			for i := 0; time.Since(began) < 5*time.Second; i++ {
				if _, err := fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i); err != nil {
					break // cut off
				}
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
					break // closed (or a 408 read, then closed)
				}
			}
			if d := time.Since(began); d > 2*time.Second {
				t.Fatalf("a slowloris client was still connected after %s", d)
			}
			testIdleIsClosed(t, tc.dial, addr)
		})
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func testIdleIsClosed(t *testing.T, dial func(string) (net.Conn, error), addr string) {
	t.Helper()
	c, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); isTimeout(err) {
		t.Fatal("an idle keep-alive connection was not closed")
	}
}

func TestHugeHeadersAre431(t *testing.T) {
	addr := start(t, listen(t), httpserve.Limits{ReadHeaderTimeout: time.Second, MaxHeaderBytes: 4 << 10})
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KiB of headers: %d, want 431", resp.StatusCode)
	}
}
