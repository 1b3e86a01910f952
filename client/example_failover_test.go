package client_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/alluvium/alluvium/client"
)

// A client is given every coordinator's URL: when one is down, the next
// answers. API errors keep their status, for errors.Is-style checks.
func ExampleNew() {
	url, stop := startCoordinator()
	defer stop()

	// A coordinator that is down: a port nothing listens on any more.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	down := "http://" + ln.Addr().String()
	ln.Close()

	c, err := client.New([]string{down, url}, client.WithRetryBudget(10*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	st, err := c.Coordinators(ctx)
	fmt.Println("leader:", st.Leader, "coordinators:", len(st.Results), err)

	_, err = c.Mount(ctx, "/nowhere")
	fmt.Println("not found:", client.IsNotFound(err))
	// Output:
	// leader: c1 coordinators: 1 <nil>
	// not found: true
}
