package httpapi

import (
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/alluvium/alluvium/api"
)

// Bounds and defaults of job options.
const (
	DefaultBatchSize = 200
	MaxBatchSize     = 10000
	MaxJobPaths      = 10000
	MaxAliasLen      = 256
)

// WorkerCounter is the part of a Backend that knows how many workers can
// hold replicas; a backend that answers 0 accepts only replicas = 1.
type WorkerCounter interface {
	ReplicaCapacity() int
}

func (s *server) jobRoutes() []route {
	var rs []route
	for _, t := range []string{api.JobLoad, api.JobFree} {
		p := "/api/v1/" + t
		rs = append(rs,
			route{http.MethodGet, p, read, func(r *http.Request) (any, error) { return s.getJobs(r, t) }},
			route{http.MethodPost, p, write, func(r *http.Request) (any, error) { return s.postJob(r, t) }},
			route{http.MethodDelete, p, write, func(r *http.Request) (any, error) { return s.deleteJob(r, t) }},
		)
	}
	return append(rs,
		route{http.MethodGet, "/api/v1/rebalance", read, s.getRebalance},
		route{http.MethodPost, "/api/v1/rebalance", write, s.postRebalance},
		route{http.MethodDelete, "/api/v1/rebalance", write, s.deleteRebalance},
	)
}

// view drops what this API does not answer: the quota of a job when
// quotas are switched off.
func (s *server) view(j api.Job) api.Job {
	if s.opts.Disabled.Quota {
		j.Quota = nil
	}
	return j
}

func (s *server) listJobs(t string, q map[string]string) (any, error) {
	count, err := positiveInt(q, "count")
	if err != nil {
		return nil, err
	}
	jobs, next := s.b.Jobs(t, q["lastKey"], count)
	out := api.Jobs{Results: make([]api.Job, 0, len(jobs)), NextKey: next}
	for _, j := range jobs {
		out.Results = append(out.Results, s.view(j))
	}
	return out, nil
}

func (s *server) getJobs(r *http.Request, t string) (any, error) {
	q, err := query(r, "index", "alias", "lastKey", "count")
	if err != nil {
		return nil, err
	}
	sel, err := atMostOne(q, "index", "alias")
	if err != nil {
		return nil, err
	}
	if sel == "" {
		return s.listJobs(t, q)
	}
	if _, ok := q["lastKey"]; ok {
		return nil, errorf(http.StatusBadRequest, "%s selects one job and takes no lastKey or count", sel)
	}
	if _, ok := q["count"]; ok {
		return nil, errorf(http.StatusBadRequest, "%s selects one job and takes no lastKey or count", sel)
	}
	j, found := s.b.FindJob(t, api.JobSelector{Alias: q["alias"], Index: q["index"]})
	if !found {
		return nil, errorf(http.StatusNotFound, "no %s job with %s %q", t, sel, q[sel])
	}
	return s.view(j), nil
}

// jobSpec is what load and free requests have in common.
type jobSpec struct {
	index, alias string
	paths        []string
	batchSize    *int
	replicas     *int
	regex        string
}

// checkSpec validates the selector fields and the shared options, fills the
// shared options in, and normalizes what the job covers (see jobLocation):
// the job's identity depends on the mount table, so it is settled here,
// before the command is proposed, and the state machine gets Alluxio paths.
func (s *server) checkSpec(spec *jobSpec, opts *api.JobOptions) error {
	if (spec.index == "") == (len(spec.paths) == 0) {
		return errorf(http.StatusBadRequest, "give exactly one of \"index\" and \"paths\"")
	}
	if (len(spec.paths) == 0) != (spec.alias == "") {
		return errorf(http.StatusBadRequest, "paths and alias must be given together")
	}
	if len(spec.alias) > MaxAliasLen {
		return errorf(http.StatusBadRequest, "alias is longer than %d bytes", MaxAliasLen)
	}
	if len(spec.paths) > MaxJobPaths {
		return errorf(http.StatusBadRequest, "at most %d paths per job; use an index file for more", MaxJobPaths)
	}
	if spec.index != "" {
		p, err := s.jobLocation(spec.index)
		if err != nil {
			return badRequest(err)
		}
		spec.index = p
	}
	if len(spec.paths) > 0 {
		paths := make([]string, len(spec.paths))
		for i, loc := range spec.paths {
			p, err := s.jobLocation(loc)
			if err != nil {
				return badRequest(err)
			}
			paths[i] = p
		}
		spec.paths = paths
	}
	opts.BatchSize = DefaultBatchSize
	if spec.batchSize != nil {
		if *spec.batchSize < 1 || *spec.batchSize > MaxBatchSize {
			return errorf(http.StatusBadRequest, "batchSize must be 1 to %d, not %d", MaxBatchSize, *spec.batchSize)
		}
		opts.BatchSize = *spec.batchSize
	}
	opts.Replicas = 1
	if spec.replicas != nil {
		limit := max(s.b.ReplicaCapacity(), 1)
		if *spec.replicas < 1 || *spec.replicas > limit {
			return errorf(http.StatusBadRequest, "replicas must be 1 to %d (the number of workers), not %d", limit, *spec.replicas)
		}
		opts.Replicas = *spec.replicas
	}
	if spec.regex != "" {
		if _, err := regexp.Compile(spec.regex); err != nil {
			return errorf(http.StatusBadRequest, "fileFilterRegex does not compile: %v", err)
		}
		opts.FileFilterRegex = spec.regex
	}
	return nil
}

// jobLocation normalizes a path or index file of a job: cleaned, and a UFS
// URI mapped to its Alluxio path through the mount table. It fails when no
// mount point covers the location.
func (s *server) jobLocation(loc string) (string, error) {
	return s.b.ResolvePath(cleanLocation(loc))
}

// cleanLocation cleans the path of an Alluxio path ("/data//a/" -> "/data/a")
// or of a UFS URI ("s3://b/x/./y/" -> "s3://b/x/y"). A URI with a query or a
// fragment is left as it is (and refused by the mount table).
func cleanLocation(loc string) string {
	if strings.HasPrefix(loc, "/") {
		return path.Clean(loc)
	}
	scheme, rest, ok := strings.Cut(loc, "://")
	if !ok || scheme == "" || strings.ContainsAny(rest, "?#") {
		return loc
	}
	host, p, ok := strings.Cut(rest, "/")
	if !ok {
		return loc
	}
	return scheme + "://" + host + path.Clean("/"+p)
}

func (s *server) postJob(r *http.Request, t string) (any, error) {
	var spec jobSpec
	var opts api.JobOptions
	if t == api.JobLoad {
		var req api.LoadRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		spec = jobSpec{index: req.Index, alias: req.Alias, paths: req.Paths}
		if o := req.Options; o != nil {
			spec.batchSize, spec.replicas, spec.regex = o.BatchSize, o.Replicas, o.FileFilterRegex
			opts.SkipIfExists, opts.LoadMetadataOnly, opts.Verify = o.SkipIfExists, o.LoadMetadataOnly, o.Verify
			switch strings.ToUpper(o.LoadPolicy) {
			case "":
			case "IF_CHANGED":
				opts.LoadPolicy = "IF_CHANGED"
			default:
				return nil, errorf(http.StatusBadRequest, "loadPolicy %q is not supported (only IF_CHANGED)", o.LoadPolicy)
			}
			if o.Bandwidth != nil {
				opts.Bandwidth = int64(*o.Bandwidth)
			}
		}
	} else {
		var req api.FreeRequest
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		spec = jobSpec{index: req.Index, alias: req.Alias, paths: req.Paths}
		if o := req.Options; o != nil {
			spec.batchSize, spec.replicas, spec.regex = o.BatchSize, o.Replicas, o.FileFilterRegex
			opts.Force = o.Force
		}
	}
	given := spec
	if err := s.checkSpec(&spec, &opts); err != nil {
		return nil, err
	}
	cmd := api.JobSpec{Type: t, Index: spec.index, Alias: spec.alias, Paths: spec.paths, Options: opts}
	// A job submitted by an earlier version kept its index and paths as
	// spelled: the state machine finds it by them when no job has the
	// normalized identity.
	if given.index != spec.index {
		cmd.GivenIndex = given.index
	}
	if !slices.Equal(given.paths, spec.paths) {
		cmd.GivenPaths = given.paths
	}
	return s.submit(r, cmd)
}

// submit proposes a job.
func (s *server) submit(r *http.Request, spec api.JobSpec) (any, error) {
	j, err := s.b.SubmitJob(r.Context(), spec)
	if err != nil {
		return nil, err
	}
	return s.view(j), nil
}

func (s *server) deleteJob(r *http.Request, t string) (any, error) {
	var req api.JobSelector
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.ID != "" || req.Target != "" {
		return nil, errorf(http.StatusBadRequest, "a %s job is stopped by \"index\" or \"alias\"", t)
	}
	if (req.Index == "") == (req.Alias == "") {
		return nil, errorf(http.StatusBadRequest, "give exactly one of \"index\" and \"alias\"")
	}
	return s.stop(r, t, req)
}

func (s *server) stop(r *http.Request, t string, sel api.JobSelector) (any, error) {
	j, err := s.b.StopJob(r.Context(), t, sel)
	if err != nil {
		return nil, err
	}
	return s.view(j), nil
}

func (s *server) getRebalance(r *http.Request) (any, error) {
	q, err := query(r, "id", "target", "lastKey", "count")
	if err != nil {
		return nil, err
	}
	sel, err := atMostOne(q, "id", "target")
	if err != nil {
		return nil, err
	}
	if sel == "" {
		return s.listJobs(api.JobRebalance, q)
	}
	j, found := s.b.FindJob(api.JobRebalance, api.JobSelector{ID: q["id"], Target: q["target"]})
	if !found || j.Type != api.JobRebalance {
		return nil, errorf(http.StatusNotFound, "no rebalance job with %s %q", sel, q[sel])
	}
	return s.view(j), nil
}

// RebalanceAll is the target that rebalances every worker.
const RebalanceAll = "ALL"

func (s *server) postRebalance(r *http.Request) (any, error) {
	var req api.RebalanceRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := required("target", req.Target); err != nil {
		return nil, err
	}
	if req.Target != RebalanceAll {
		w, found := s.b.Node(req.Target)
		if !found || w.State == api.WorkerDecommissioned {
			return nil, errorf(http.StatusBadRequest, "target %q is neither ALL nor a known worker", req.Target)
		}
	}
	opts := api.JobOptions{LoadBatchSize: DefaultBatchSize}
	if o := req.Options; o != nil {
		if o.LoadBatchSize != nil {
			if *o.LoadBatchSize < 1 || *o.LoadBatchSize > MaxBatchSize {
				return nil, errorf(http.StatusBadRequest, "loadBatchSize must be 1 to %d", MaxBatchSize)
			}
			opts.LoadBatchSize = *o.LoadBatchSize
		}
		if o.LoadBandwidth != nil {
			opts.LoadBandwidth = int64(*o.LoadBandwidth)
		}
		if o.PruneBandwidth != nil {
			opts.PruneBandwidth = int64(*o.PruneBandwidth)
		}
		opts.SkipPrune = o.SkipPrune
	}
	return s.submit(r, api.JobSpec{Type: api.JobRebalance, Target: req.Target, Options: opts})
}

func (s *server) deleteRebalance(r *http.Request) (any, error) {
	var req api.JobSelector
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Index != "" || req.Alias != "" {
		return nil, errorf(http.StatusBadRequest, "a rebalance job is stopped by \"id\" or \"target\"")
	}
	if (req.ID == "") == (req.Target == "") {
		return nil, errorf(http.StatusBadRequest, "give exactly one of \"id\" and \"target\"")
	}
	if req.ID != "" {
		if j, ok := s.b.FindJob(api.JobRebalance, api.JobSelector{ID: req.ID}); ok && j.Type != api.JobRebalance {
			return nil, errorf(http.StatusGone, "no rebalance job %s", req.ID)
		}
		return s.stop(r, api.JobRebalance, api.JobSelector{ID: req.ID})
	}
	return s.stop(r, api.JobRebalance, api.JobSelector{Target: req.Target})
}
