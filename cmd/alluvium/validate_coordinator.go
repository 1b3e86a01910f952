package main

import (
	"errors"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/node"
	"github.com/spf13/cobra"
)

// coordinatorArgs are the coordinator command's own flags (serverFlags
// holds those it shares with dev).
type coordinatorArgs struct {
	id, dataDir, raftAddr, raftAdvertise string
	httpAddr, httpAdvertise, bootstrap   string
	join                                 string
}

// coordinatorPlan is a coordinator's start, built and checked.
type coordinatorPlan struct {
	cfg      coordinator.Config
	api      httpapi.Options
	httpBind string
}

// buildCoordinator turns the flags into a checked configuration, with no
// side effect but reading the --mount-table and --auth-tokens files: a
// start and --validate both run it.
func buildCoordinator(cmd *cobra.Command, sf *serverFlags, a coordinatorArgs) (coordinatorPlan, error) {
	var p coordinatorPlan
	if err := requiredFlags(cmd, "id", "data-dir"); err != nil {
		return p, err
	}
	log, err := sf.logger(cmd.ErrOrStderr())
	if err != nil {
		return p, err
	}
	if p.api, err = sf.apiOptions(); err != nil {
		return p, err
	}
	p.api.Logger = log
	if err := checkServerFlags(sf); err != nil {
		return p, err
	}
	if err := checkCoordinatorAddresses(a); err != nil {
		return p, err
	}
	cfg, err := sf.coordinatorConfig()
	if err != nil {
		return p, err
	}
	cfg.ID, cfg.DataDir, cfg.RaftBind, cfg.RaftAdvertise = a.id, a.dataDir, a.raftAddr, a.raftAdvertise
	cfg.HTTPAddress = a.httpAdvertise
	if cfg.HTTPAddress == "" {
		cfg.HTTPAddress = a.httpAddr
	}
	cfg.Join, cfg.Logger = a.join, log
	if err := checkPeers(a, &cfg); err != nil {
		return p, err
	}
	if err := sf.auth.check(sf.authToken); err != nil {
		return p, err
	}
	// The library's own check, last: every flag-level problem was named above.
	if err := cfg.Validate(); err != nil {
		return p, err
	}
	p.cfg, p.httpBind = cfg, a.httpAddr
	return p, nil
}

// checkServerFlags checks the flags serverFlags holds that the library
// would only refuse later, or with no flag name.
func checkServerFlags(sf *serverFlags) error {
	if err := checkPositive("snapshot-interval", sf.snapshotInterval); err != nil {
		return err
	}
	if err := checkPositive("worker-timeout", sf.workerTimeout); err != nil {
		return err
	}
	switch sf.ringMode {
	case coordinator.RingDynamic, coordinator.RingStatic:
	default:
		return bad("ring-mode", sf.ringMode, "want %s or %s", coordinator.RingDynamic, coordinator.RingStatic)
	}
	switch sf.logStore {
	case coordinator.LogStoreBolt, coordinator.LogStoreWAL:
	default:
		return bad("raft-log-store", sf.logStore, "want %s or %s", coordinator.LogStoreBolt, coordinator.LogStoreWAL)
	}
	if err := checkTLSFiles(sf.tls.files, true); err != nil {
		return err
	}
	if sf.tls.raftCA != "" && sf.tls.files.Cert == "" {
		return bad("raft-tls-ca", sf.tls.raftCA, "needs --tls-cert, --tls-key and --tls-ca")
	}
	return nil
}

// checkCoordinatorAddresses checks the listen and advertised addresses.
func checkCoordinatorAddresses(a coordinatorArgs) error {
	if err := checkBind("raft-addr", a.raftAddr); err != nil {
		return err
	}
	if err := checkBind("http-addr", a.httpAddr); err != nil {
		return err
	}
	if err := checkAdvertise("raft-advertise", a.raftAdvertise); err != nil {
		return err
	}
	if err := checkAdvertise("http-advertise", a.httpAdvertise); err != nil {
		return err
	}
	if err := checkReachable("raft-addr", a.raftAddr, "raft-advertise", a.raftAdvertise); err != nil {
		return err
	}
	if err := checkReachable("http-addr", a.httpAddr, "http-advertise", a.httpAdvertise); err != nil {
		return err
	}
	if a.join != "" {
		return checkURL("join", a.join)
	}
	return nil
}

// checkPeers parses --bootstrap into cfg and checks it against --id and
// --join.
func checkPeers(a coordinatorArgs, cfg *coordinator.Config) error {
	if a.bootstrap == "" {
		return nil
	}
	if a.join != "" {
		return bad("join", a.join, "--bootstrap and --join are exclusive: bootstrap forms a new cluster, join enters a running one")
	}
	peers, err := coordinator.ParsePeers(a.bootstrap)
	if err != nil {
		return bad("bootstrap", a.bootstrap, "%v", err)
	}
	for _, p := range peers {
		if p.ID == a.id {
			cfg.Bootstrap = peers
			return nil
		}
	}
	return bad("bootstrap", a.bootstrap, "does not list this coordinator's --id %q", a.id)
}

// runCoordinator starts a checked coordinator and serves until SIGINT or
// SIGTERM.
func runCoordinator(sf *serverFlags, p coordinatorPlan) error {
	log := p.cfg.Logger
	if err := sf.auth.apiOptions(&p.api, sf.authToken, log); err != nil {
		return err
	}
	nodeTLS, err := sf.tls.coordinatorTLS(log, &p.cfg, &p.api)
	if err != nil {
		return err
	}
	n, err := node.Start(node.Config{Coordinator: p.cfg, API: p.api, HTTPBind: p.httpBind, TLS: nodeTLS})
	if err != nil {
		return err
	}
	if err := checkHasCluster(n, p.cfg); err != nil {
		return errors.Join(err, n.Close())
	}
	log.Info("coordinator started", "id", p.cfg.ID, "api", n.URL, "raft", p.cfg.RaftBind)
	waitForSignal()
	log.Info("shutting down")
	return n.Close()
}
