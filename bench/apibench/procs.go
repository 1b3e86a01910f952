package main

// The two clusters under test, as real processes on loopback: start, wait
// until healthy, find the leader, stop and clean up. Alluvium's is started
// and stopped by internal/localcluster (as processes of the binary).

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/internal/localcluster"
	"github.com/alluvium/alluvium/internal/localcluster/coordinators"
	"github.com/alluvium/alluvium/internal/tlsconfig"
)

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func loopback(port int) string { return coordinators.Loopback(port) }

// cluster is three server processes of one system.
type cluster struct {
	system string
	procs  []*coordinators.Process
	api    []string              // client (API) address of each member, host:port
	leader int                   // index of the member the load is sent to
	lc     *localcluster.Cluster // alluvium's, which starts and stops its processes
	tls    *tls.Config           // alluvium's client TLS, with -tls
}

// stop stops every member, in parallel.
func (c *cluster) stop() {
	if c.lc != nil {
		_ = c.lc.Close()
		return
	}
	var wg sync.WaitGroup
	for _, p := range c.procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop(10 * time.Second) }()
	}
	wg.Wait()
}

// exited reports the first member that has ended.
func (c *cluster) exited() error {
	for _, p := range c.procs {
		if err := p.Exited(); err != nil {
			return err
		}
	}
	return nil
}

// cpu sums the CPU time of every member.
func (c *cluster) cpu() time.Duration {
	var d time.Duration
	for _, p := range c.procs {
		d += procCPU(p.Pid())
	}
	return d
}

// startAlluvium starts three `alluvium coordinator` processes bootstrapped
// together (localcluster, on free ports) with data dirs under dir: the
// binary's default raft log (fsync on every commit) and the TCP transport.
// readyAlluvium waits for them.
func startAlluvium(bin, dir string, withTLS bool) (*cluster, error) {
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Binary, cfg.Args = dir, bin, []string{"--log-level", "error"}
	if withTLS { // a throwaway CA: the API and Raft on TLS
		files, err := tlsconfig.GenerateDev(filepath.Join(dir, "tls"))
		if err != nil {
			return nil, err
		}
		if cfg.TLS, err = tlsconfig.Load(files); err != nil {
			return nil, err
		}
		ctlClient.Transport = &http.Transport{TLSClientConfig: cfg.TLS.Client()}
	}
	lc, err := localcluster.New(cfg)
	if err != nil {
		return nil, err
	}
	c := &cluster{system: "alluvium", lc: lc}
	if cfg.TLS != nil {
		c.tls = cfg.TLS.Client()
	}
	err = lc.Set.Start()
	for _, m := range lc.Members {
		if m.Process != nil {
			c.procs = append(c.procs, m.Process)
			c.api = append(c.api, m.HTTPAddr)
		}
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// startEtcd starts three etcd members with data dirs under dir, with etcd's
// default durability (fsync of the WAL on every commit).
func startEtcd(bin, dir string) (*cluster, error) {
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	c := &cluster{system: "etcd"}
	var initial []string
	for i := range 3 {
		initial = append(initial, fmt.Sprintf("e%d=http://%s", i+1, loopback(ports[i])))
	}
	for i := range 3 {
		name := fmt.Sprintf("e%d", i+1)
		peer, client := "http://"+loopback(ports[i]), loopback(ports[3+i])
		p, err := coordinators.StartProcess("etcd "+name, bin, filepath.Join(dir, name+".log"),
			"--name", name,
			"--data-dir", filepath.Join(dir, name),
			"--listen-peer-urls", peer,
			"--initial-advertise-peer-urls", peer,
			"--listen-client-urls", "http://"+client,
			"--advertise-client-urls", "http://"+client,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "apibench",
			"--logger", "zap", "--log-outputs", "stderr", "--log-level", "error")
		if err != nil {
			c.stop()
			return nil, err
		}
		c.procs = append(c.procs, p)
		c.api = append(c.api, client)
	}
	return c, nil
}

// ctlClient is for setup and status calls, never for load.
var ctlClient = &http.Client{Timeout: 5 * time.Second}

// call sends one request with ctlClient and decodes a JSON answer into out
// (when not nil).
func call(ctx context.Context, method, url string, body any, out any) (int, error) {
	return callOn(ctx, ctlClient, method, url, body, out)
}

// callWith is call on a given client, without the status.
func callWith(ctx context.Context, hc *http.Client, method, url string, body any, out any) error {
	_, err := callOn(ctx, hc, method, url, body, out)
	return err
}

func callOn(ctx context.Context, hc *http.Client, method, url string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return resp.StatusCode, nil
}

// poll calls f every 100ms until it succeeds, the cluster loses a member,
// or the timeout passes; the last error is reported.
func poll(ctx context.Context, c *cluster, timeout time.Duration, what string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if err := c.exited(); err != nil {
			return err
		}
		if last = f(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), context.Canceled) {
				return ctx.Err()
			}
			return fmt.Errorf("%s: %s not ready after %v: %w", c.system, what, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readyAlluvium waits until every coordinator is healthy and agrees on a
// leader, and records the leader.
func readyAlluvium(ctx context.Context, c *cluster, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.lc.WaitReady(ctx); err != nil {
		return fmt.Errorf("%s: %w", c.system, err)
	}
	l, err := c.lc.Leader(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", c.system, err)
	}
	c.leader = slices.Index(c.lc.Members, l)
	return nil
}

// etcdStatus is the part of POST /v3/maintenance/status used here; the
// gateway writes uint64s as JSON strings.
type etcdStatus struct {
	Header struct {
		MemberID string `json:"member_id"`
	} `json:"header"`
	Leader string `json:"leader"`
}

// readyEtcd waits until every member is healthy and agrees on a leader,
// and records the leader.
func readyEtcd(ctx context.Context, c *cluster, timeout time.Duration) error {
	return poll(ctx, c, timeout, "leader and health", func(ctx context.Context) error {
		return c.findEtcdLeader(ctx)
	})
}

// findEtcdLeader asks every member for its status (POST
// /v3/maintenance/status) and finds the one whose id is the leader's.
func (c *cluster) findEtcdLeader(ctx context.Context) error {
	leader := ""
	self := make([]string, len(c.api))
	for i, a := range c.api {
		var h struct {
			Health string `json:"health"`
		}
		if _, err := call(ctx, http.MethodGet, "http://"+a+"/health", nil, &h); err != nil {
			return err
		}
		if h.Health != "true" {
			return fmt.Errorf("%s: health %q", a, h.Health)
		}
		var s etcdStatus
		if _, err := call(ctx, http.MethodPost, "http://"+a+"/v3/maintenance/status", struct{}{}, &s); err != nil {
			return err
		}
		if s.Leader == "" || s.Leader == "0" || (leader != "" && s.Leader != leader) {
			return fmt.Errorf("%s sees leader %q, others %q", a, s.Leader, leader)
		}
		leader, self[i] = s.Leader, s.Header.MemberID
	}
	for i, id := range self {
		if id == leader {
			c.leader = i
			return nil
		}
	}
	return fmt.Errorf("no member has the leader's id %s", leader)
}

// findLeader refreshes the leader, which may have changed since the last
// step.
func (c *cluster) findLeader(ctx context.Context) error {
	if c.system == "etcd" {
		return readyEtcd(ctx, c, 30*time.Second)
	}
	return readyAlluvium(ctx, c, 30*time.Second)
}

// procCPU reads the user + system CPU time of a process from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck
}

// selfCPU is the CPU time this process (the load generator) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
