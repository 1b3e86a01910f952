package localcluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
)

// pollInterval is how often the waits look again.
const pollInterval = 20 * time.Millisecond

// poll calls check until it succeeds, a coordinator process exits, or ctx
// ends; then the last error says what was missing.
func (c *Cluster) poll(ctx context.Context, what string, check func(context.Context) error) error {
	for {
		if err := c.exited(); err != nil {
			return err
		}
		last := check(ctx)
		if last == nil {
			return nil
		}
		if p := (permanent{}); errors.As(last, &p) {
			return p.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localcluster: %s: %w (%v)", what, ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}

// WaitReady waits until every running coordinator is healthy (it knows a
// leader that has published its API address, and has applied what it knows
// committed), all of them agree on the leader, and each one has every
// running coordinator as a voter with its API address: from then on a
// write sent to any of them is forwarded rather than refused.
func (c *Cluster) WaitReady(ctx context.Context) error {
	return c.poll(ctx, "the coordinators are not ready", c.ready)
}

func (c *Cluster) ready(ctx context.Context) error {
	var leader, seenBy string
	for _, m := range c.Coordinators {
		if !m.Running() {
			continue
		}
		st, err := c.status(ctx, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m.ID, err)
		}
		if st.Leader == "" || leader != "" && st.Leader != leader {
			return fmt.Errorf("%s sees leader %q, %s sees %q", m.ID, st.Leader, seenBy, leader)
		}
		leader, seenBy = st.Leader, m.ID
		for _, o := range c.Coordinators {
			i := slices.IndexFunc(st.Results, func(r api.Coordinator) bool { return r.ID == o.ID })
			if o.Running() && (i < 0 || !st.Results[i].Voter || st.Results[i].HTTPAddress != o.HTTPAddr) {
				return fmt.Errorf("%s does not know %s as a voter at %s yet", m.ID, o.ID, o.HTTPAddr)
			}
		}
	}
	return nil
}

// status is what a running member says of the cluster, once it is healthy.
func (c *Cluster) status(ctx context.Context, m *Member) (api.Coordinators, error) {
	if m.Node != nil {
		if _, err := m.Node.Coordinator.Health(); err != nil {
			return api.Coordinators{}, err
		}
		return m.Node.Coordinator.Status()
	}
	cl, err := client.New([]string{m.URL()}, client.WithToken(c.cfg.Token), client.WithRetries(0))
	if err != nil {
		return api.Coordinators{}, err
	}
	if _, err := cl.Health(ctx); err != nil {
		return api.Coordinators{}, err
	}
	return cl.Coordinators(ctx)
}

// Leader waits for a running coordinator that leads (in process: one that
// has applied every earlier entry of its term) and returns it.
func (c *Cluster) Leader(ctx context.Context) (*Member, error) {
	var leader *Member
	err := c.poll(ctx, "no leader", func(ctx context.Context) error {
		for _, m := range c.Coordinators {
			if m.Node != nil && m.Node.Coordinator.IsLeader() {
				leader = m
				return nil
			}
			if m.Process != nil {
				if st, err := c.status(ctx, m); err == nil && st.Leader == m.ID {
					leader = m
					return nil
				}
			}
		}
		return errors.New("no running coordinator leads")
	})
	return leader, err
}

// Mount mounts m.UFS at m.Path through the API, unless something is
// mounted at m.Path already (a restart on the same Dir keeps its mounts);
// WaitWorkers then waits for it on every worker. Standalone workers get it
// at once.
func (c *Cluster) Mount(ctx context.Context, m api.Mount) error {
	c.mounts = append(c.mounts, m)
	if len(c.Coordinators) == 0 {
		return c.setStandalonePolicies()
	}
	cl, err := c.Client()
	if err != nil {
		return err
	}
	return c.poll(ctx, "mount "+m.Path, func(ctx context.Context) error {
		_, err := cl.Mount(ctx, m.Path)
		if client.IsNotFound(err) {
			_, err = cl.AddMount(ctx, m)
		}
		var ce *client.Error
		switch {
		case err == nil || client.IsConflict(err):
			return nil
		case errors.As(err, &ce) && ce.StatusCode/100 == 4: // refused: the mount is wrong
			return permanent{fmt.Errorf("mount %s: %w", m.Path, err)}
		}
		return err
	})
}

// permanent is an error that polling again would not mend.
type permanent struct{ error }

// WaitWorkers waits until every worker is LIVE in the replicated state and
// holds every mount of the cluster.
func (c *Cluster) WaitWorkers(ctx context.Context) error {
	if len(c.Coordinators) == 0 || len(c.Workers) == 0 {
		return nil
	}
	cl, err := c.Client()
	if err != nil {
		return err
	}
	return c.poll(ctx, "the workers are not ready", func(ctx context.Context) error {
		nodes, err := cl.Nodes(ctx)
		if err != nil {
			return err
		}
		var missing []string
		for i, w := range c.Workers {
			live := slices.ContainsFunc(nodes.Results, func(n api.Node) bool { return n.ID == w.Worker.ID() && n.State == "LIVE" })
			if !live {
				missing = append(missing, fmt.Sprintf("worker %d is not LIVE", i+1))
			}
			for _, m := range c.mounts {
				if !slices.ContainsFunc(w.Worker.Policies().Mounts, func(p api.Mount) bool { return p.Path == m.Path }) {
					missing = append(missing, fmt.Sprintf("worker %d lacks the mount %s", i+1, m.Path))
				}
			}
		}
		if missing != nil {
			return errors.New(strings.Join(missing, "; "))
		}
		return nil
	})
}

// setStandalonePolicies gives workers without coordinators the mounts and
// a ring of themselves.
func (c *Cluster) setStandalonePolicies() error {
	if len(c.Coordinators) > 0 || len(c.Workers) == 0 {
		return nil
	}
	c.policy++
	p := api.WorkerPolicies{Version: c.policy, Mounts: c.mounts, RingMode: "dynamic"}
	for _, w := range c.Workers {
		p.Workers = append(p.Workers, api.Node{ID: w.Worker.ID(), Address: strings.TrimPrefix(w.URL, "http://"), State: "LIVE"})
	}
	for _, w := range c.Workers {
		if err := w.Worker.SetPolicies(p); err != nil {
			return err
		}
	}
	return nil
}

// WaitApplied waits until every running in-process coordinator has
// applied index.
func (c *Cluster) WaitApplied(ctx context.Context, index uint64) error {
	return c.poll(ctx, fmt.Sprintf("index %d is not applied everywhere", index), func(context.Context) error {
		for _, m := range c.Coordinators {
			if m.Node == nil {
				continue
			}
			if h, _ := m.Node.Coordinator.Health(); h.AppliedIndex < index {
				return fmt.Errorf("%s has applied %d", m.ID, h.AppliedIndex)
			}
		}
		return nil
	})
}
