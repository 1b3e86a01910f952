package linearize

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Fault is one kind of trouble the nemesis makes.
type Fault uint8

// The faults. Each lasts a while and is then repaired, so the cluster is
// never down for good and histories keep making progress between faults.
const (
	// KillLeader kills the leader (abruptly: in-flight requests get no
	// answer) and restarts it on its Raft state after the hold.
	KillLeader Fault = iota
	// PartitionLeader cuts the leader off from the others: it keeps
	// believing it leads until its lease runs out, while the majority
	// elects a new one. Clients still reach it.
	PartitionLeader
	// PartitionFollower cuts one follower off; the cluster keeps its quorum.
	PartitionFollower
	// RestartAll kills every node and restarts them all: the state must
	// come back from the Raft logs alone.
	RestartAll
	numFaults
)

var faultNames = [...]string{"kill leader", "partition leader", "partition follower", "restart all"}

func (f Fault) String() string { return faultNames[f] }

// Step is one entry of the nemesis's schedule: wait, make the fault, hold
// it, repair it.
type Step struct {
	Wait  time.Duration
	Fault Fault
	Hold  time.Duration
	Pick  int // which node when the fault needs a choice (or no leader is known)
}

// Schedule derives the nemesis's plan from a seed, so a failing seed replays
// the same faults at the same moments (the timing of everything else still
// varies from run to run). Faults start at once and then follow each other
// with quiet gaps, until d has passed; every kind appears in a schedule of
// four steps or more.
func Schedule(seed uint64, d time.Duration) []Step {
	r := rand.New(rand.NewPCG(seed, 0x6e656d65736973))
	order := r.Perm(int(numFaults))
	var steps []Step
	for at := time.Duration(0); at < d; {
		s := Step{
			Wait:  time.Duration(100+r.IntN(300)) * time.Millisecond,
			Fault: Fault(order[len(steps)%len(order)]),
			Hold:  time.Duration(200+r.IntN(500)) * time.Millisecond,
			Pick:  r.IntN(1 << 16),
		}
		steps = append(steps, s)
		at += s.Wait + s.Hold
	}
	return steps
}

// Event is a fault as it happened, for the history's visualisation.
type Event struct {
	Start, End int64 // ns since the history began
	What       string
}

// Nemesis runs a schedule against a cluster. It must run on the test's
// goroutine: the cluster fails the test on a broken fault.
type Nemesis struct {
	c     *Cluster
	clock func() int64
}

// NewNemesis makes a nemesis for c that stamps its events with clock (the
// history's, so faults line up with the calls in the visualisation).
func NewNemesis(c *Cluster, clock func() int64) *Nemesis { return &Nemesis{c: c, clock: clock} }

// Run runs the steps, each after its wait, and stops early when stop is
// closed. It leaves every node running and connected.
func (n *Nemesis) Run(steps []Step, stop <-chan struct{}) []Event {
	var events []Event
	defer n.repairAll()
	for _, s := range steps {
		if !sleep(s.Wait, stop) {
			return events
		}
		e := Event{Start: n.clock()}
		e.What = n.inject(s)
		sleep(s.Hold, stop)
		n.repairAll()
		e.End = n.clock()
		events = append(events, e)
	}
	return events
}

// sleep waits d, or until stop is closed; it reports whether d passed. The
// nemesis's schedule is about wall time, so this is not synchronisation.
func sleep(d time.Duration, stop <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// target is the leader, or a node picked by the schedule when none leads.
func (n *Nemesis) target(s Step) string {
	if id := n.c.LeaderID(); id != "" {
		return id
	}
	ids := n.c.IDs()
	return ids[s.Pick%len(ids)]
}

func (n *Nemesis) inject(s Step) string {
	ids := n.c.IDs()
	switch s.Fault {
	case KillLeader:
		id := n.target(s)
		n.c.Kill(id)
		return "kill " + id
	case PartitionLeader:
		id := n.target(s)
		n.c.Partition(id)
		return "isolate " + id + " (leader)"
	case PartitionFollower:
		leader := n.c.LeaderID()
		var followers []string
		for _, id := range ids {
			if id != leader {
				followers = append(followers, id)
			}
		}
		id := followers[s.Pick%len(followers)]
		n.c.Partition(id)
		return "isolate " + id
	case RestartAll:
		for _, id := range ids {
			n.c.Kill(id)
		}
		return "kill all"
	}
	panic(fmt.Sprintf("linearize: unknown fault %d", s.Fault))
}

// repairAll undoes any fault: partitions heal, killed nodes restart.
func (n *Nemesis) repairAll() {
	n.c.Heal()
	for _, id := range n.c.IDs() {
		if !n.c.Running(id) {
			n.c.Restart(id)
		}
	}
}
