package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	aclient "github.com/alluvium/alluvium/client"
)

// Chaos test sizing. The page is small so that many files span pages; the
// worker timeout is short so that a killed worker goes LOST (and its files
// move to new owners) within the test's rounds.
const (
	chaosFiles         = 300
	chaosPageSize      = 16 << 10
	chaosWorkerTimeout = 2 * time.Second
	chaosReplicas      = 2
	chaosBatchSize     = 8
	chaosWriters       = 4
	chaosAlias         = "chaos"
	// chaosDefaultRounds keeps the default run (make test, -race, two
	// shared cores) well under a minute.
	chaosDefaultRounds = 2
)

// chaosRound is one round of the nemesis: it kills the leader coordinator
// and a worker with SIGKILL, one after the other or both at once, and
// restarts each on its data dir and addresses after its downtime.
type chaosRound struct {
	together    bool // both killed at once
	workerFirst bool
	worker      int
	coordDown   time.Duration
	workerDown  time.Duration
	pause       time.Duration // after the round
}

func (r chaosRound) String() string {
	order := "leader, then worker"
	switch {
	case r.together:
		order = "leader and worker together"
	case r.workerFirst:
		order = "worker, then leader"
	}
	return fmt.Sprintf("%s; worker w%d down %v, leader down %v, pause %v", order, r.worker+1, r.workerDown, r.coordDown, r.pause)
}

// chaosPlan draws the faults from the seed, so that a failing schedule can
// be replayed (which coordinator leads at each round is up to the cluster).
func chaosPlan(rng *rand.Rand, rounds int) []chaosRound {
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Millisecond }
	var plan []chaosRound
	for range rounds {
		plan = append(plan, chaosRound{
			together:    rng.IntN(3) == 0,
			workerFirst: rng.IntN(2) == 0,
			worker:      rng.IntN(3),
			coordDown:   ms(300, 2500),
			// Sometimes past the worker timeout (LOST, its files go to new
			// owners), sometimes not (its tasks fail and are retried).
			workerDown: ms(300, 2*int(chaosWorkerTimeout/time.Millisecond)),
			pause:      ms(300, 1500),
		})
	}
	return plan
}

// chaosFileSizes are the sizes of the UFS files: empty ones, small ones,
// and ones around and beyond a page.
func chaosFileSizes(rng *rand.Rand, n int) []int {
	sizes := make([]int, n)
	for i := range sizes {
		switch k := rng.IntN(10); {
		case k == 0:
			sizes[i] = 0
		case k < 4:
			sizes[i] = 1 + rng.IntN(2000)
		case k < 6:
			sizes[i] = chaosPageSize - 1 + rng.IntN(3) // a page, give or take a byte
		default:
			sizes[i] = chaosPageSize + 1 + rng.IntN(4*chaosPageSize)
		}
	}
	return sizes
}

func chaosEnv(t *testing.T, name string, def uint64) uint64 {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want a non-negative integer", name, s)
	}
	return v
}

// TestChaos runs three coordinator and three worker processes over a real
// UFS folder while a load job runs and API writers set quotas and TTLs, and
// a nemesis kill -9s the leader coordinator and a worker, round after
// round, restarting them on the same data dirs and addresses. Afterwards
// every acknowledged write is there, the load job SUCCEEDED, and every file
// reads back with the UFS's bytes. ALLUVIUM_CHAOS_ROUNDS sets the rounds,
// ALLUVIUM_CHAOS_SEED replays a schedule, ALLUVIUM_CHAOS_LOGDIR keeps the
// processes' output.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	began := time.Now()
	rounds := int(chaosEnv(t, "ALLUVIUM_CHAOS_ROUNDS", chaosDefaultRounds))
	seed := chaosEnv(t, "ALLUVIUM_CHAOS_SEED", uint64(time.Now().UnixNano()))
	t.Logf("chaos: seed %d, %d rounds; replay with ALLUVIUM_CHAOS_SEED=%d ALLUVIUM_CHAOS_ROUNDS=%d go test -race -count=1 -run TestChaos ./cmd/alluvium/",
		seed, rounds, seed, rounds)
	plan := chaosPlan(rand.New(rand.NewPCG(seed, 1)), rounds)
	for i, r := range plan {
		t.Logf("chaos: plan round %d: %v", i+1, r)
	}
	logDir := os.Getenv("ALLUVIUM_CHAOS_LOGDIR")
	if logDir == "" {
		logDir = t.TempDir()
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// The UFS folder: files of varied sizes in a few directories.
	ufsDir := t.TempDir()
	data := rand.New(rand.NewPCG(seed, 2))
	want := map[string][sha256.Size]byte{}
	var paths []string
	var total int64
	for i, size := range chaosFileSizes(data, chaosFiles) {
		name := fmt.Sprintf("d%d/s%d/f%03d.bin", i%7, i%3, i)
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(data.Uint32())
		}
		if err := os.MkdirAll(filepath.Join(ufsDir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ufsDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		want["/data/"+name] = sha256.Sum256(b)
		paths = append(paths, "/data/"+name)
		total += int64(size)
	}

	// Three coordinators, snapshotting often so that restarts also go
	// through snapshots, and three workers.
	c := startProcCluster(t, logDir, ufsDir, 3,
		[]string{"--worker-timeout", chaosWorkerTimeout.String(), "--snapshot-threshold", "256", "--snapshot-interval", "1s"},
		[]string{"--cache-size", "256MiB", "--memory-size", "0", "--page-size", strconv.Itoa(chaosPageSize)})

	// The load job, paced so that it lasts about as long as the faults:
	// each worker receives about total*replicas/3 bytes.
	var planned time.Duration
	for _, r := range plan {
		planned += max(r.coordDown, r.workerDown) + r.pause + 2*time.Second // + election and restart
	}
	bandwidth := max(total*chaosReplicas/3/int64(max(planned.Seconds(), 1)), chaosPageSize)
	t.Logf("chaos: %d files, %d bytes; load with replicas %d, batchSize %d, bandwidth %d B/s per worker (planned faults: %v)",
		chaosFiles, total, chaosReplicas, chaosBatchSize, bandwidth, planned)
	job := fmt.Sprintf(`{"paths":["/data"],"alias":%q,"options":{"replicas":%d,"batchSize":%d,"bandwidth":%d}}`,
		chaosAlias, chaosReplicas, chaosBatchSize, bandwidth)
	// 409 is an earlier attempt that was applied without an answer.
	eventually(t, "submit the load job", 30*time.Second, func() bool {
		code := post(context.Background(), c.coordURLs[0]+"/api/v1/load", job)
		return code == http.StatusOK || code == http.StatusConflict
	})

	// Writers set quotas and TTLs (under /data/w*, where no file is) through
	// every coordinator in turn, and keep what was acknowledged.
	var writers []*durWriter
	for w := range chaosWriters {
		writers = append(writers, newDurWriter(w))
	}
	ctx, stopWriters := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var acks, unanswered, refused atomic.Int64
	var codesMu sync.Mutex
	codes := map[int]int{}                      // answers by status code, or chaosRefused, chaosRejected, 0 (none)
	defer func() { stopWriters(); wg.Wait() }() // on a failure too
	for w, d := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				k, v := d.keys[d.next%keysPerWriter], d.next
				d.next++
				k.attempted = v
				code := chaosPost(ctx, c.coordURLs[i%len(c.coordURLs)]+"/api/v1/"+k.kind, k.body(v))
				codesMu.Lock()
				codes[code]++
				codesMu.Unlock()
				switch {
				case code == http.StatusOK:
					k.acked = v
					acks.Add(1)
				case code == chaosRefused || code == chaosRejected:
					refused.Add(1)
				case code == 0 || code >= 500:
					k.uncertain[v] = true
					unanswered.Add(1)
				}
				time.Sleep(5 * time.Millisecond) // leave the cores to the cluster
			}
		}()
	}

	// The nemesis.
	since := func() string { return time.Since(began).Round(10 * time.Millisecond).String() }
	var hitRunning int
	killLeader := func() int {
		li := c.waitLeaderIndex(t, 30*time.Second)
		j, ok := c.loadJob(chaosAlias)
		if ok && (j.State == "RUNNING" || j.State == "WAITING") {
			hitRunning++
		}
		t.Logf("chaos: t+%s SIGKILL leader %s (%s)", since(), c.coords[li].name, jobLine(j, ok))
		c.coords[li].kill9()
		return li
	}
	restartCoord := func(li int) {
		t.Logf("chaos: t+%s restart %s", since(), c.coords[li].name)
		c.coords[li].start(t)
		c.waitHealthy(t, li, 60*time.Second)
	}
	killWorker := func(w int) {
		t.Logf("chaos: t+%s SIGKILL worker %s (%s)", since(), c.workers[w].name, c.workerIDs[w])
		c.workers[w].kill9()
	}
	restartWorker := func(w int) {
		t.Logf("chaos: t+%s restart worker %s", since(), c.workers[w].name)
		c.workers[w].start(t)
		c.waitWorkerUp(t, w, 30*time.Second)
	}
	for i, r := range plan {
		t.Logf("chaos: t+%s round %d: %v", since(), i+1, r)
		switch {
		case r.together:
			li := killLeader()
			killWorker(r.worker)
			first, second := r.coordDown, r.workerDown
			restartFirst, restartSecond := func() { restartCoord(li) }, func() { restartWorker(r.worker) }
			if second < first {
				first, second = second, first
				restartFirst, restartSecond = restartSecond, restartFirst
			}
			time.Sleep(first)
			restartFirst()
			time.Sleep(max(second-first, 0))
			restartSecond()
		case r.workerFirst:
			killWorker(r.worker)
			time.Sleep(r.workerDown)
			restartWorker(r.worker)
			li := killLeader()
			time.Sleep(r.coordDown)
			restartCoord(li)
		default:
			li := killLeader()
			time.Sleep(r.coordDown)
			restartCoord(li)
			killWorker(r.worker)
			time.Sleep(r.workerDown)
			restartWorker(r.worker)
		}
		time.Sleep(r.pause)
	}
	stopWriters()
	wg.Wait()
	t.Logf("chaos: t+%s faults over; %d of %d leader kills hit a running job; writers: %d acknowledged, %d of unknown outcome, %d refused or rejected",
		since(), hitRunning, len(plan), acks.Load(), unanswered.Load(), refused.Load())
	t.Logf("chaos: writes by status: %v", codes)
	if acks.Load() == 0 {
		t.Fatal("no write was acknowledged: the writers tested nothing")
	}

	// Every acknowledged write is there.
	checkKeys(t, &cluster3{}, c.coordURLs, writers)

	// The load job ends SUCCEEDED, having scanned every file once.
	deadline := time.Now().Add(planned + 120*time.Second)
	last := ""
	for {
		j, ok := c.loadJob(chaosAlias)
		if line := jobLine(j, ok); line != last {
			t.Logf("chaos: t+%s %s", since(), line)
			last = line
		}
		if ok && j.State == "SUCCEEDED" {
			if j.ScannedFiles != chaosFiles || j.FailedFiles != 0 || j.LoadedFiles+j.SkippedFiles != chaosFiles {
				t.Fatalf("the job SUCCEEDED with scanned=%d loaded=%d skipped=%d failed=%d, want %d files scanned and each loaded or skipped",
					j.ScannedFiles, j.LoadedFiles, j.SkippedFiles, j.FailedFiles, chaosFiles)
			}
			break
		}
		if ok && j.State != "RUNNING" && j.State != "WAITING" && j.State != "VERIFYING" {
			if b, err := os.ReadFile(j.FailedFileListPath); err == nil { // on this machine: the leader's data dir
				t.Logf("chaos: failed-file list %s:\n%s", j.FailedFileListPath, b)
			}
			// Go on to the reads: they are checked whatever the job did.
			t.Errorf("the load job ended %s: %s; failed files %+v (%s)", j.State, j.ErrorMessage, j.FailedFileSamples, j.FailedFileListPath)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the load job did not end within %v of the faults: %s", planned+120*time.Second, jobLine(j, ok))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Every file reads back with its UFS bytes through the client's read
	// path (the workers' data API). A read that fails is retried for a
	// while (a worker just back may not be LIVE yet); wrong bytes are not.
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	cl, err := aclient.New(c.coordURLs, aclient.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	readOnce := func(p string) ([sha256.Size]byte, int64, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rd, err := cl.Open(ctx, p, "")
		if err != nil {
			return [sha256.Size]byte{}, 0, "", err
		}
		defer rd.Close()
		h := sha256.New()
		n, err := io.Copy(h, rd)
		return [sha256.Size]byte(h.Sum(nil)), n, rd.Worker, err
	}
	for _, p := range paths {
		readDeadline := time.Now().Add(30 * time.Second)
		for {
			sum, n, worker, err := readOnce(p)
			if err == nil {
				if sum != want[p] {
					t.Fatalf("%s read through %s: %d bytes with sha256 %x, want %x", p, worker, n, sum, want[p])
				}
				break
			}
			if time.Now().After(readDeadline) {
				t.Fatalf("%s unreadable: %v", p, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// And through the CLI, for a few of them: two empty ones and a sample.
	var sample []string
	empties := 0
	for i, p := range paths {
		if want[p] == sha256.Sum256(nil) && empties < 2 {
			empties++
			sample = append(sample, p)
		} else if i%40 == 0 {
			sample = append(sample, p)
		}
	}
	for _, p := range sample {
		r := runCLI(t, nil, "cat", p, "--coordinator", c.joinURLs())
		if r.code != 0 || sha256.Sum256([]byte(r.stdout)) != want[p] {
			t.Fatalf("alluvium cat %s: exit %d, %d bytes, sha256 differs or stderr %q", p, r.code, len(r.stdout), r.stderr)
		}
	}
	t.Logf("chaos: t+%s done: %d files read back, %d through the CLI", since(), len(paths), len(sample))
}
