package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

// cluster3 is three `alluvium coordinator` processes on one log store.
type cluster3 struct {
	procs []*proc
	urls  []string
	ids   []string
}

func startCluster3(t *testing.T, store string) *cluster3 {
	t.Helper()
	ports := freePorts(t, 6)
	var peers []string
	for i := range 3 {
		peers = append(peers, fmt.Sprintf("c%d=127.0.0.1:%d", i+1, ports[3+i]))
	}
	c := &cluster3{}
	for i := range 3 {
		id := fmt.Sprintf("c%d", i+1)
		c.ids = append(c.ids, id)
		c.urls = append(c.urls, fmt.Sprintf("http://127.0.0.1:%d", ports[i]))
		c.procs = append(c.procs, start(t, nil, "coordinator", "--id", id, "--data-dir", t.TempDir(),
			"--raft-log-store", store,
			"--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[3+i]),
			"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--bootstrap", strings.Join(peers, ",")))
	}
	return c
}

// index is the position of a coordinator id.
func (c *cluster3) index(t *testing.T, id string) int {
	for i, x := range c.ids {
		if x == id {
			return i
		}
	}
	t.Fatalf("unknown coordinator %q", id)
	return -1
}

func (c *cluster3) logs() string {
	var b strings.Builder
	for i, p := range c.procs {
		fmt.Fprintf(&b, "--- %s\n%s\n", c.ids[i], p.logs)
	}
	return b.String()
}

// durClient gives up quickly on a killed process.
var durClient = &http.Client{Timeout: 3 * time.Second}

// post sends one write and returns its status (0 when it got no answer).
func post(ctx context.Context, url, body string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := durClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// keysPerWriter is how many keys a writer cycles through: few enough that
// keys are overwritten (a later value must not be replaced by an older
// one), many enough that a good share of the acknowledged writes are the
// last of their key, where a lost one shows.
const keysPerWriter = 16

// durKey is one key a single writer owns: a quota or a TTL whose value
// only ever grows. A write that got no answer, or a 5xx, may or may not
// have been applied, and may still be applied after later ones (it never
// completed, so it is concurrent with them): its value is "uncertain".
// The key must end at its last acknowledged value, a later attempted one,
// or an uncertain one; anything else is a lost acknowledgement. Only the
// writer touches a key while writing; checks run after the writers stop.
type durKey struct {
	kind, path string
	acked      int64 // the highest value answered 200
	attempted  int64 // the highest value sent
	uncertain  map[int64]bool
}

// durWriter writes increasing values to its keys in turn.
type durWriter struct {
	keys []*durKey
	next int64 // the next value to attempt
}

func newDurWriter(w int) *durWriter {
	kind := []string{"quota", "ttl"}[w%2]
	d := &durWriter{next: 1}
	for i := range keysPerWriter {
		d.keys = append(d.keys, &durKey{kind: kind, path: fmt.Sprintf("/data/w%d/%s%d", w, kind, i), uncertain: map[int64]bool{}})
	}
	return d
}

func (k *durKey) body(v int64) string {
	if k.kind == "quota" {
		return fmt.Sprintf(`{"path":%q,"quota":%d}`, k.path, v)
	}
	return fmt.Sprintf(`{"path":%q,"ttl":%d}`, k.path, v)
}

// read returns the key's value through url (found=false on 404).
func (k *durKey) read(url string) (v int64, found bool, code int, err error) {
	if k.kind == "quota" {
		var q api.Quota
		code, _, err = getJSON(url+"/api/v1/quota?path="+k.path, &q)
		return q.QuotaBytes, code == http.StatusOK, code, err
	}
	var tt api.TTL
	code, _, err = getJSON(url+"/api/v1/ttl?path="+k.path, &tt)
	if code == http.StatusOK && tt.TTL != nil {
		v = int64(time.Duration(*tt.TTL) / time.Second)
	}
	return v, code == http.StatusOK, code, err
}

// writeUntil runs the writers against all coordinators in turn; once acks
// acknowledgements have arrived in total it calls kill at once, from the
// goroutine that saw the last one, and the writers stop.
func writeUntil(t *testing.T, urls []string, writers []*durWriter, acks int64, kill func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var total atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for w, d := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				k, v := d.keys[d.next%keysPerWriter], d.next
				d.next++
				k.attempted = v
				code := post(ctx, urls[i%len(urls)]+"/api/v1/"+k.kind, k.body(v))
				switch {
				case code == http.StatusOK:
					k.acked = v
					if total.Add(1) == acks {
						once.Do(func() { kill(); cancel() })
					}
				case code == 0 || code >= 500:
					k.uncertain[v] = true
				}
			}
		}()
	}
	wg.Wait()
	if total.Load() < acks {
		t.Fatalf("only %d of %d writes acknowledged within 30s", total.Load(), acks)
	}
}

// checkKeys asserts that every key holds its last acknowledged value, a
// later attempted one or an uncertain one, reading (linearizably) through
// any of urls.
func checkKeys(t *testing.T, c *cluster3, urls []string, writers []*durWriter) {
	t.Helper()
	n := 0
	for _, d := range writers {
		for _, k := range d.keys {
			deadline := time.Now().Add(30 * time.Second)
			for i := n; ; i++ {
				v, found, code, err := k.read(urls[i%len(urls)])
				if err == nil && (found || code == http.StatusNotFound) {
					ok := (found && v >= k.acked && v <= k.attempted) || (found && k.uncertain[v]) || (!found && k.acked == 0)
					if !ok {
						t.Fatalf("%s %s = %d (found %v): want the acknowledged %d, up to the attempted %d, or an unanswered one\n%s",
							k.kind, k.path, v, found, k.acked, k.attempted, c.logs())
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s %s unreadable: %d %v\n%s", k.kind, k.path, code, err, c.logs())
				}
				time.Sleep(50 * time.Millisecond)
			}
			n++
		}
	}
}

// waitWrites polls until a write through one of urls succeeds.
func waitWrites(t *testing.T, c *cluster3, urls []string, path, body string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; post(context.Background(), urls[i%len(urls)]+path, body) != http.StatusOK; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("POST %s %s never succeeded\n%s", path, body, c.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAcknowledgedWritesSurviveKill9 is the durability promise: a write
// answered 200 is on disk on a quorum. Writers hammer quotas and TTLs;
// right after an acknowledgement every coordinator is killed with SIGKILL
// (no shutdown, no flush) and restarted, then only the leader is; every
// acknowledged value must still be there, for both raft log stores.
func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	for _, store := range []string{"wal", "bolt"} {
		t.Run(store, func(t *testing.T) {
			began := time.Now()
			c := startCluster3(t, store)
			waitLeader(t, c.urls)
			waitWrites(t, c, c.urls, "/api/v1/mount", `{"path":"/data","ufs":"file://`+t.TempDir()+`"}`)
			var writers []*durWriter
			for w := range 8 {
				writers = append(writers, newDurWriter(w))
			}

			// kill -9 all three right after an acknowledgement, restart.
			writeUntil(t, c.urls, writers, 300, func() {
				for _, p := range c.procs {
					_ = p.cmd.Process.Signal(syscall.SIGKILL)
				}
			})
			for _, p := range c.procs {
				_ = p.cmd.Wait()
			}
			for _, p := range c.procs {
				p.run(t)
			}
			waitLeader(t, c.urls)
			checkKeys(t, c, c.urls, writers)

			// kill -9 the leader alone right after an acknowledgement.
			leader := c.index(t, waitLeader(t, c.urls))
			writeUntil(t, c.urls, writers, 150, func() {
				_ = c.procs[leader].cmd.Process.Signal(syscall.SIGKILL)
			})
			_ = c.procs[leader].cmd.Wait()
			rest := []string{c.urls[(leader+1)%3], c.urls[(leader+2)%3]}
			checkKeys(t, c, rest, writers)
			c.procs[leader].run(t)
			checkKeys(t, c, c.urls[leader:leader+1], writers)
			t.Logf("%s: %v", store, time.Since(began).Round(time.Millisecond))
		})
	}
}
