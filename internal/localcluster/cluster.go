package localcluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/localcluster/coordinators"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
)

// Cluster is a local cluster: its coordinators (the embedded Set: Members,
// URLs, Leader, WaitReady, ...), its workers, and what it mounted.
type Cluster struct {
	*coordinators.Set
	// Workers are the running workers, worker-1 first.
	Workers []*workernode.Node

	cfg    Config
	mounts []api.Mount
	policy uint64 // version of the standalone workers' policies
}

// Start starts a cluster and waits until it is usable: the coordinators
// agree on a leader that every one of them knows, the workers are LIVE and
// hold cfg.Mounts. On an error, what was started is stopped.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := c.Set.Start(); err != nil {
		return err
	}
	if err := c.WaitReady(ctx); err != nil {
		return err
	}
	if err := c.StartWorkers(); err != nil {
		return err
	}
	for _, m := range c.cfg.Mounts {
		if err := c.Mount(ctx, m); err != nil {
			return err
		}
	}
	return c.WaitWorkers(ctx)
}

// New checks cfg and returns a cluster with nothing running yet, for
// callers that run Start's steps themselves (Set.Start, WaitReady,
// StartWorkers, Mount, WaitWorkers).
func New(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	set, err := coordinators.New(cfg.Config)
	if err != nil {
		return nil, err
	}
	return &Cluster{Set: set, cfg: cfg}, nil
}

// StartWorkers starts cfg.Workers workers, with the coordinators' URLs.
// Standalone workers (no coordinators) get the mounts and a ring of
// themselves at once.
func (c *Cluster) StartWorkers() error {
	for i := range c.cfg.Workers {
		cfg := c.cfg.Worker
		cfg.DataDir = c.cfg.workerDir(i)
		cfg.Coordinators = c.URLs()
		cfg.Logger = c.cfg.Log().With("worker", i+1)
		if c.cfg.Token != "" {
			cfg.Token = c.cfg.Token
		}
		if src := c.cfg.TLS; src != nil {
			cfg.TLS = &worker.TLS{Server: src.Server(false), Client: src.Client()}
		}
		w, err := workernode.Start(cfg, nil, c.cfg.workerBind(i))
		if err != nil {
			return fmt.Errorf("start worker %d: %w", i+1, err)
		}
		c.Workers = append(c.Workers, w)
		if c.cfg.S3.Enabled {
			bind := "127.0.0.1:0"
			if c.cfg.S3.Port > 0 {
				bind = coordinators.Loopback(c.cfg.S3.Port + i)
			}
			if err := w.ServeS3(c.cfg.S3.Config, bind); err != nil {
				return fmt.Errorf("start worker %d's S3 API: %w", i+1, err)
			}
		}
	}
	return c.setStandalonePolicies()
}

// Mount mounts m.UFS at m.Path through the API, unless something is
// mounted at m.Path already (a restart on the same Dir keeps its mounts);
// WaitWorkers then waits for it on every worker. Standalone workers get it
// at once.
func (c *Cluster) Mount(ctx context.Context, m api.Mount) error {
	c.mounts = append(c.mounts, m)
	if len(c.Members) == 0 {
		return c.setStandalonePolicies()
	}
	cl, err := c.Client()
	if err != nil {
		return err
	}
	return c.Poll(ctx, "mount "+m.Path, func(ctx context.Context) error {
		_, err := cl.Mount(ctx, m.Path)
		if client.IsNotFound(err) {
			_, err = cl.AddMount(ctx, m)
		}
		var ce *client.Error
		switch {
		case err == nil || client.IsConflict(err):
			return nil
		case errors.As(err, &ce) && ce.StatusCode/100 == 4: // refused: the mount is wrong
			return coordinators.Permanent(fmt.Errorf("mount %s: %w", m.Path, err))
		}
		return err
	})
}

// WaitWorkers waits until every worker is LIVE in the replicated state and
// holds every mount of the cluster.
func (c *Cluster) WaitWorkers(ctx context.Context) error {
	if len(c.Members) == 0 || len(c.Workers) == 0 {
		return nil
	}
	cl, err := c.Client()
	if err != nil {
		return err
	}
	return c.Poll(ctx, "the workers are not ready", func(ctx context.Context) error {
		nodes, err := cl.Nodes(ctx)
		if err != nil {
			return err
		}
		var missing []string
		for i, w := range c.Workers {
			if !slices.ContainsFunc(nodes.Results, func(n api.Node) bool { return n.ID == w.Worker.ID() && n.State == "LIVE" }) {
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
	if len(c.Members) > 0 || len(c.Workers) == 0 {
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

// Close stops the workers, then the coordinators. It is safe to call more
// than once.
func (c *Cluster) Close() error {
	var errs []error
	for _, w := range c.Workers {
		errs = append(errs, w.Close())
	}
	c.Workers = nil
	return errors.Join(append(errs, c.Set.Close())...)
}
