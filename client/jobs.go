package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/alluvium/alluvium/api"
)

// A job is named by a selector: a load or free job by its index file (an
// Alluxio path or a UFS URI) or its alias, a rebalance job by its id or its
// target.

// ByIndex selects the load or free job of an index file.
func ByIndex(index string) api.JobSelector { return api.JobSelector{Index: index} }

// ByAlias selects the load or free job of a set of paths by its alias: the
// alias it was submitted with, which a later submission of the same paths
// under another alias does not change.
func ByAlias(alias string) api.JobSelector { return api.JobSelector{Alias: alias} }

// ByID selects a rebalance job by its id.
func ByID(id string) api.JobSelector { return api.JobSelector{ID: id} }

// ByTarget selects the rebalance job of a worker, or of "ALL".
func ByTarget(target string) api.JobSelector { return api.JobSelector{Target: target} }

// SubmitLoad submits a load job. A job is identified by its index file or
// its set of paths (UFS URIs mapped to Alluxio paths, duplicates and order
// ignored), not by its alias. When such a job exists, whatever the alias, the
// answer is a 409 (IsConflict) naming it (ConflictID; see Error for its
// state and alias): a stopped, failed or succeeded one was run again with
// this request's options, an active one goes on. When the alias names a job
// over other paths, the answer is a 409 naming that job (Error.State "") and
// nothing was changed.
func (c *Client) SubmitLoad(ctx context.Context, req api.LoadRequest) (api.Job, error) {
	var out api.Job
	return out, c.send(ctx, http.MethodPost, "/api/v1/load", req, &out)
}

// LoadJob returns a load job and its progress (IsNotFound when none).
func (c *Client) LoadJob(ctx context.Context, sel api.JobSelector) (api.Job, error) {
	return c.job(ctx, "load", sel)
}

// LoadJobs returns a page of load jobs in submission order, after lastKey
// (a job id, exclusive), at most count (0: all).
func (c *Client) LoadJobs(ctx context.Context, lastKey string, count int) (api.Jobs, error) {
	return c.jobs(ctx, "load", lastKey, count)
}

// StopLoad stops a load job and returns it, now STOPPED (IsGone when there
// is no such job or it has finished). Submitting it again resumes it: from
// where it stopped with the same options, from the start with others.
func (c *Client) StopLoad(ctx context.Context, sel api.JobSelector) (api.Job, error) {
	return c.stop(ctx, "load", sel)
}

// SubmitFree submits a free job; a 409 is answered as for SubmitLoad.
func (c *Client) SubmitFree(ctx context.Context, req api.FreeRequest) (api.Job, error) {
	var out api.Job
	return out, c.send(ctx, http.MethodPost, "/api/v1/free", req, &out)
}

// FreeJob returns a free job and its progress (IsNotFound when none).
func (c *Client) FreeJob(ctx context.Context, sel api.JobSelector) (api.Job, error) {
	return c.job(ctx, "free", sel)
}

// FreeJobs returns a page of free jobs, as LoadJobs does.
func (c *Client) FreeJobs(ctx context.Context, lastKey string, count int) (api.Jobs, error) {
	return c.jobs(ctx, "free", lastKey, count)
}

// StopFree stops a free job (IsGone when there is no such job or it has
// finished).
func (c *Client) StopFree(ctx context.Context, sel api.JobSelector) (api.Job, error) {
	return c.stop(ctx, "free", sel)
}

// SubmitRebalance submits a rebalance job for a worker or "ALL"; a 409 is
// answered as for SubmitLoad.
func (c *Client) SubmitRebalance(ctx context.Context, req api.RebalanceRequest) (api.Job, error) {
	var out api.Job
	return out, c.send(ctx, http.MethodPost, "/api/v1/rebalance", req, &out)
}

// RebalanceJob returns a rebalance job by id or target (IsNotFound when
// none).
func (c *Client) RebalanceJob(ctx context.Context, sel api.JobSelector) (api.Job, error) {
	return c.job(ctx, "rebalance", sel)
}

// RebalanceJobs returns a page of rebalance jobs, as LoadJobs does.
func (c *Client) RebalanceJobs(ctx context.Context, lastKey string, count int) (api.Jobs, error) {
	return c.jobs(ctx, "rebalance", lastKey, count)
}

// StopRebalance stops a rebalance job by id or target (IsGone when there is
// no such job or it has finished).
func (c *Client) StopRebalance(ctx context.Context, sel api.JobSelector) (api.Job, error) {
	return c.stop(ctx, "rebalance", sel)
}

// selectorQuery checks that sel names a job of this type by exactly one of
// the fields the type is selected by, so that an empty selector is not sent
// as "list everything", and returns it as a query.
func selectorQuery(typ string, sel api.JobSelector) (url.Values, error) {
	fields := []struct{ name, value string }{{"index", sel.Index}, {"alias", sel.Alias}}
	other := sel.ID != "" || sel.Target != ""
	want := "index or alias"
	if typ == "rebalance" {
		fields = []struct{ name, value string }{{"id", sel.ID}, {"target", sel.Target}}
		other = sel.Index != "" || sel.Alias != ""
		want = "id or target"
	}
	q := url.Values{}
	for _, f := range fields {
		if f.value != "" {
			q.Set(f.name, f.value)
		}
	}
	if len(q) != 1 || other {
		return nil, fmt.Errorf("client: select a %s job by exactly one of its %s", typ, want)
	}
	return q, nil
}

func (c *Client) job(ctx context.Context, typ string, sel api.JobSelector) (api.Job, error) {
	q, err := selectorQuery(typ, sel)
	if err != nil {
		return api.Job{}, err
	}
	var out api.Job
	return out, c.get(ctx, "/api/v1/"+typ, q, &out)
}

func (c *Client) jobs(ctx context.Context, typ, lastKey string, count int) (api.Jobs, error) {
	q := url.Values{}
	if lastKey != "" {
		q.Set("lastKey", lastKey)
	}
	if count > 0 {
		q.Set("count", strconv.Itoa(count))
	}
	var out api.Jobs
	return out, c.get(ctx, "/api/v1/"+typ, q, &out)
}

func (c *Client) stop(ctx context.Context, typ string, sel api.JobSelector) (api.Job, error) {
	if _, err := selectorQuery(typ, sel); err != nil {
		return api.Job{}, err
	}
	var out api.Job
	return out, c.send(ctx, http.MethodDelete, "/api/v1/"+typ, sel, &out)
}
