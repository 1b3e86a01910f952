package httpapi_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alluvium/alluvium/httpapi"
)

// TestTrickledBodyIsCutOff: a client that sends its headers, then its
// body a byte at a time, is answered 408 (or dropped) at BodyTimeout, and
// changes nothing.
func TestTrickledBodyIsCutOff(t *testing.T) {
	opts := httpapi.DefaultOptions()
	opts.BodyTimeout = 300 * time.Millisecond
	co := newLeader(t)
	mux := http.NewServeMux()
	httpapi.Register(httpapi.ServeMux(mux), co, opts)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"path":"/slow","ufs":"file:///srv/slow"}`
	fmt.Fprintf(c, "POST /api/v1/mount HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body))
	began := time.Now()
	go func() {
		for i := range len(body) {
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("a trickled body: %d, want 408", resp.StatusCode)
		}
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("a trickled body held the request for %s", d)
	}
	if _, ok := co.Mount("/slow"); ok {
		t.Fatal("the trickled mount was committed")
	}
}
