package coordinators

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
)

// pollInterval is how often the waits look again.
const pollInterval = 20 * time.Millisecond

// Poll calls check until it succeeds, a coordinator process exits, or ctx
// ends; then the last error says what was missing. An error wrapped by
// Permanent ends it at once.
func (s *Set) Poll(ctx context.Context, what string, check func(context.Context) error) error {
	for {
		if err := s.Exited(); err != nil {
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
func (s *Set) WaitReady(ctx context.Context) error {
	return s.Poll(ctx, "the coordinators are not ready", s.ready)
}

func (s *Set) ready(ctx context.Context) error {
	var leader, seenBy string
	for _, m := range s.Members {
		if !m.Running() {
			continue
		}
		st, err := s.status(ctx, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m.ID, err)
		}
		if st.Leader == "" || leader != "" && st.Leader != leader {
			return fmt.Errorf("%s sees leader %q, %s sees %q", m.ID, st.Leader, seenBy, leader)
		}
		leader, seenBy = st.Leader, m.ID
		for _, o := range s.Members {
			i := slices.IndexFunc(st.Results, func(r api.Coordinator) bool { return r.ID == o.ID })
			if o.Running() && (i < 0 || !st.Results[i].Voter || st.Results[i].HTTPAddress != o.HTTPAddr) {
				return fmt.Errorf("%s does not know %s as a voter at %s yet", m.ID, o.ID, o.HTTPAddr)
			}
		}
	}
	return nil
}

// status is what a running member says of the cluster, once it is healthy.
func (s *Set) status(ctx context.Context, m *Member) (api.Coordinators, error) {
	if m.Node != nil {
		if _, err := m.Node.Coordinator.Health(); err != nil {
			return api.Coordinators{}, err
		}
		return m.Node.Coordinator.Status()
	}
	cl, err := client.New([]string{m.URL()}, s.clientOptions(client.WithRetries(0))...)
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
func (s *Set) Leader(ctx context.Context) (*Member, error) {
	var leader *Member
	err := s.Poll(ctx, "no leader", func(ctx context.Context) error {
		for _, m := range s.Members {
			if m.Node != nil && m.Node.Coordinator.IsLeader() {
				leader = m
				return nil
			}
			if m.Process != nil {
				if st, err := s.status(ctx, m); err == nil && st.Leader == m.ID {
					leader = m
					return nil
				}
			}
		}
		return errors.New("no running coordinator leads")
	})
	return leader, err
}

// WaitApplied waits until every running in-process coordinator has
// applied index.
func (s *Set) WaitApplied(ctx context.Context, index uint64) error {
	return s.Poll(ctx, fmt.Sprintf("index %d is not applied everywhere", index), func(context.Context) error {
		for _, m := range s.Members {
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

// permanent is an error that polling again would not mend.
type permanent struct{ error }

// Permanent marks an error of a Poll check as final.
func Permanent(err error) error { return permanent{err} }
