package coordinator

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/internal/jsonhttp"
	"github.com/alluvium/alluvium/internal/tlsconfig"
	"github.com/alluvium/alluvium/internal/workerclient"
	"github.com/hashicorp/raft"
)

// CoordinatorsPath is the API route a coordinator posts its addresses to, to
// join a cluster or to announce itself to the leader.
const CoordinatorsPath = "/api/v1/coordinators"

// AddCoordinator makes a coordinator a voter (if it is not one with that Raft
// address already) and records its addresses. It must run on the leader and
// is idempotent, so joining again after a restart is harmless.
func (c *Coordinator) AddCoordinator(ctx context.Context, req api.JoinRequest) error {
	info := fsm.Coordinator{ID: req.ID, RaftAddress: req.RaftAddress, HTTPAddress: req.HTTPAddress}
	if info.ID == "" || info.RaftAddress == "" || info.HTTPAddress == "" {
		return fmt.Errorf("%w: a coordinator needs an id, a raft address and an http address", fsm.ErrInvalid)
	}
	if !c.leadership.ready() {
		return c.notLeader()
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	cf := c.raft.GetConfiguration()
	if err := c.wait(ctx, cf); err != nil {
		return err
	}
	member := false
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == info.ID && string(s.Address) == info.RaftAddress && s.Suffrage == raft.Voter {
			member = true
		}
	}
	if !member {
		dl, _ := ctx.Deadline()
		if err := c.wait(ctx, c.raft.AddVoter(raft.ServerID(info.ID), raft.ServerAddress(info.RaftAddress), 0, time.Until(dl))); err != nil {
			return err
		}
		c.log.Info("added a voter", "id", info.ID, "raft_address", info.RaftAddress)
	}
	if cur, ok := c.fsm.Coordinator(info.ID); ok && cur == info {
		return nil
	}
	_, err := c.Apply(ctx, &fsm.SetCoordinator{Coordinator: info})
	return err
}

// RemoveCoordinator removes a coordinator from the Raft configuration and
// forgets its addresses. It must run on the leader.
func (c *Coordinator) RemoveCoordinator(ctx context.Context, id string) error {
	if !c.leadership.ready() {
		return c.notLeader()
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	dl, _ := ctx.Deadline()
	if err := c.wait(ctx, c.raft.RemoveServer(raft.ServerID(id), 0, time.Until(dl))); err != nil {
		return err
	}
	if _, ok := c.fsm.Coordinator(id); !ok {
		return nil
	}
	_, err := c.Apply(ctx, &fsm.RemoveCoordinator{ID: id})
	return err
}

// Status reports the Raft configuration as this node knows it, with the
// published HTTP addresses, the leader, the term and this node's indexes.
func (c *Coordinator) Status() (api.Coordinators, error) {
	cf := c.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return api.Coordinators{}, c.mapRaftError(err)
	}
	_, leader := c.raft.LeaderWithID()
	st := api.Coordinators{Leader: string(leader), Term: c.raft.CurrentTerm(), ServedBy: c.cfg.ID}
	for _, s := range cf.Configuration().Servers {
		srv := api.Coordinator{ID: string(s.ID), RaftAddress: string(s.Address), Leader: s.ID == leader, Voter: s.Suffrage == raft.Voter}
		if info, ok := c.fsm.Coordinator(srv.ID); ok {
			srv.HTTPAddress = info.HTTPAddress
		}
		if srv.ID == c.cfg.ID {
			srv.HTTPAddress = c.cfg.HTTPAddress
			srv.CommitIndex = c.raft.CommitIndex()
			srv.AppliedIndex = c.fsm.AppliedIndex()
		}
		st.Results = append(st.Results, srv)
	}
	return st, nil
}

// Health reports whether this node can serve: a leader is known and has
// published its address, and this node has applied what it knows committed.
func (c *Coordinator) Health() (api.Health, error) {
	h := api.Health{
		Status:       "ok",
		ID:           c.cfg.ID,
		State:        c.raft.State().String(),
		CommitIndex:  c.raft.CommitIndex(),
		AppliedIndex: c.fsm.AppliedIndex(),
		CommandLevel: fsm.CommandLevel,
	}
	leader, err := c.leaderInfo()
	h.Leader = leader.ID
	if err == nil && c.raft.AppliedIndex() < h.CommitIndex {
		err = fmt.Errorf("applied index %d is behind commit index %d", c.raft.AppliedIndex(), h.CommitIndex)
	}
	if err != nil {
		h.Status = err.Error()
	}
	return h, err
}

// announceLoop makes sure the cluster knows this node: first by joining
// (when asked to and the node has no Raft state), then by publishing its
// HTTP address whenever the replicated table lacks or misstates it. It
// tries every AnnounceInterval until that succeeds, then only checks every
// announceSettled intervals: an idle node does not wake for a table that
// is right.
func (c *Coordinator) announceLoop(join bool) {
	t := time.NewTimer(0)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		var err error
		if join {
			if err = c.http.postCoordinator(c.stopCtx, c.cfg.Join, c.selfInfo()); err == nil {
				join = false
				c.log.Info("joined the cluster", "via", c.cfg.Join)
			}
		} else {
			err = c.announce()
		}
		if err != nil && err.Error() != lastErr {
			c.log.Debug("announce", "err", err)
		}
		next := c.cfg.AnnounceInterval
		if err != nil {
			lastErr = err.Error()
		} else {
			lastErr = ""
			if !join {
				next *= announceSettled
			}
		}
		t.Reset(next)
	}
}

// announceSettled is how many AnnounceIntervals apart a node checks a
// table that already holds it right.
const announceSettled = 10

func (c *Coordinator) announce() error {
	self := c.selfInfo()
	if cur, ok := c.fsm.Coordinator(self.ID); ok && cur == self {
		return nil
	}
	// A node that is not (or no longer) in the configuration must not
	// announce: the leader would make it a voter again.
	cf := c.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return err
	}
	member := false
	for _, s := range cf.Configuration().Servers {
		member = member || string(s.ID) == self.ID
	}
	if !member {
		return fmt.Errorf("%s is not in the raft configuration", self.ID)
	}
	ctx, cancel := context.WithTimeout(c.stopCtx, 5*time.Second)
	defer cancel()
	if c.leadership.ready() {
		_, err := c.Apply(ctx, &fsm.SetCoordinator{Coordinator: self})
		return err
	}
	leader, err := c.leaderInfo()
	if err != nil {
		return err
	}
	return c.http.postCoordinator(ctx, tlsconfig.Scheme(c.cfg.HTTPClientTLS)+"://"+leader.HTTPAddress, self)
}

// peerClient calls the other nodes: coordinators (to join, and to announce
// this node's address) and workers' task API. Every call carries the
// cluster token and is bounded by a context deadline (peerTimeout, or
// workerclient's), so that its http.Client needs no timeout.
type peerClient struct {
	token string
	hc    *http.Client
	tasks *workerclient.Client
}

// peerTimeout bounds a call to another coordinator.
const peerTimeout = 10 * time.Second

func newPeerClient(token string, tlsCfg *tls.Config) *peerClient {
	hc := &http.Client{}
	if tlsCfg != nil {
		hc.Transport = tlsconfig.HTTPTransport(tlsCfg)
	}
	return &peerClient{token: token, hc: hc, tasks: workerclient.New(token, hc)}
}

func (p *peerClient) close() { p.hc.CloseIdleConnections() }

func (p *peerClient) postCoordinator(ctx context.Context, base string, info fsm.Coordinator) error {
	url := strings.TrimSuffix(base, "/") + CoordinatorsPath
	err := jsonhttp.Do(ctx, p.hc, jsonhttp.Request{Method: http.MethodPost, URL: url, Token: p.token, In: info, Timeout: peerTimeout})
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	return nil
}

// commandLevel asks the coordinator at base which commands its build
// applies (GET /api/v1/health). A build from before levels answers none: 0.
func (p *peerClient) commandLevel(ctx context.Context, base string) (int, error) {
	url := strings.TrimSuffix(base, "/") + "/api/v1/health"
	var h api.Health
	err := jsonhttp.Do(ctx, p.hc, jsonhttp.Request{Method: http.MethodGet, URL: url, Token: p.token, Out: &h, Timeout: peerTimeout})
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	return h.CommandLevel, nil
}

// CheckUFS reports whether a mount's UFS can be reached, so that the API
// refuses an unreachable one before it is committed.
func (c *Coordinator) CheckUFS(ctx context.Context, m fsm.Mount) error {
	if err := c.cfg.AllowedUFS.Check(m.UFS, m.Options); err != nil {
		return err
	}
	if c.cfg.CheckUFS == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.cfg.CheckUFS(ctx, m.UFS, m.Options)
}
