package httpapi

import (
	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// The one place where the persisted types of a job become the wire types of
// the REST API. api owns its JSON (tags, names); fsm owns its msgpack. The
// struct conversions below compile only while the two keep the same fields,
// so a field added to or renamed in fsm is a decision made here, never a
// silent change of the REST answers.

func apiJobOptions(o fsm.JobOptions) api.JobOptions { return api.JobOptions(o) }

func apiJobCounters(c fsm.JobCounters) api.JobCounters { return api.JobCounters(c) }

func apiFailedFiles(fs []fsm.FailedFile) []api.FailedFile {
	if fs == nil {
		return nil
	}
	out := make([]api.FailedFile, len(fs))
	for i, f := range fs {
		out[i] = api.FailedFile(f)
	}
	return out
}
