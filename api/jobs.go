package api

// LoadOptions are the options of a load job.
type LoadOptions struct {
	BatchSize        *int   `json:"batchSize,omitempty"`
	FileFilterRegex  string `json:"fileFilterRegex,omitempty"`
	Replicas         *int   `json:"replicas,omitempty"`
	SkipIfExists     bool   `json:"skipIfExists,omitempty"`
	LoadPolicy       string `json:"loadPolicy,omitempty"`
	LoadMetadataOnly bool   `json:"loadMetadataOnly,omitempty"`
	Verify           bool   `json:"verify,omitempty"`
	Bandwidth        *Size  `json:"bandwidth,omitempty"`
}

// FreeOptions are the options of a free job.
type FreeOptions struct {
	BatchSize       *int   `json:"batchSize,omitempty"`
	FileFilterRegex string `json:"fileFilterRegex,omitempty"`
	Replicas        *int   `json:"replicas,omitempty"`
	Force           bool   `json:"force,omitempty"`
}

// RebalanceOptions are the options of a rebalance job.
type RebalanceOptions struct {
	LoadBatchSize  *int  `json:"loadBatchSize,omitempty"`
	LoadBandwidth  *Size `json:"loadBandwidth,omitempty"`
	PruneBandwidth *Size `json:"pruneBandwidth,omitempty"`
	SkipPrune      bool  `json:"skipPrune,omitempty"`
}

// LoadRequest is the body of POST /api/v1/load: an index file, or paths
// with an alias.
type LoadRequest struct {
	Index   string       `json:"index,omitempty"`
	Paths   []string     `json:"paths,omitempty"`
	Alias   string       `json:"alias,omitempty"`
	Options *LoadOptions `json:"options,omitempty"`
}

// FreeRequest is the body of POST /api/v1/free.
type FreeRequest struct {
	Index   string       `json:"index,omitempty"`
	Paths   []string     `json:"paths,omitempty"`
	Alias   string       `json:"alias,omitempty"`
	Options *FreeOptions `json:"options,omitempty"`
}

// RebalanceRequest is the body of POST /api/v1/rebalance.
type RebalanceRequest struct {
	Target  string            `json:"target"`
	Options *RebalanceOptions `json:"options,omitempty"`
}

// JobSelector is the body of DELETE /api/v1/load and /free (index or alias)
// and /rebalance (id or target): exactly one field.
type JobSelector struct {
	Index  string `json:"index,omitempty"`
	Alias  string `json:"alias,omitempty"`
	ID     string `json:"id,omitempty"`
	Target string `json:"target,omitempty"`
}

// JobOptions are a job's options as the job routes answer them: the
// request's options with the defaults applied, sizes in bytes. Only the
// fields of the job's type are set.
type JobOptions struct {
	// load and free
	BatchSize       int    `json:"batchSize,omitempty"`
	FileFilterRegex string `json:"fileFilterRegex,omitempty"`
	Replicas        int    `json:"replicas,omitempty"`
	// load
	SkipIfExists     bool   `json:"skipIfExists,omitempty"`
	LoadPolicy       string `json:"loadPolicy,omitempty"`
	LoadMetadataOnly bool   `json:"loadMetadataOnly,omitempty"`
	Verify           bool   `json:"verify,omitempty"`
	Bandwidth        int64  `json:"bandwidth,omitempty"`
	// free
	Force bool `json:"force,omitempty"`
	// rebalance
	LoadBatchSize  int   `json:"loadBatchSize,omitempty"`
	LoadBandwidth  int64 `json:"loadBandwidth,omitempty"`
	PruneBandwidth int64 `json:"pruneBandwidth,omitempty"`
	SkipPrune      bool  `json:"skipPrune,omitempty"`
}

// JobCounters are a job's progress, flattened into Job.
type JobCounters struct {
	ScannedFiles        int64 `json:"scannedFiles,omitempty"`
	LoadedNonEmptyFiles int64 `json:"loadedNonEmptyFiles,omitempty"`
	LoadedFiles         int64 `json:"loadedFiles,omitempty"`
	LoadedBytes         int64 `json:"loadedBytes,omitempty"`
	SkippedFiles        int64 `json:"skippedFiles,omitempty"`
	SkippedBytes        int64 `json:"skippedBytes,omitempty"`
	TotalBytes          int64 `json:"totalBytes,omitempty"`
	FailedFiles         int64 `json:"failedFiles,omitempty"`
	FreedFiles          int64 `json:"freedFiles,omitempty"`
	FreedBytes          int64 `json:"freedBytes,omitempty"`
	PrunedFiles         int64 `json:"prunedFiles,omitempty"`
	PrunedBytes         int64 `json:"prunedBytes,omitempty"`
	// ReloadedFiles counts the files a load's verify pass found missing on
	// an owner and loaded again.
	ReloadedFiles int64 `json:"reloadedFiles,omitempty"`
}

// FailedFile is a sample of a file a job could not process, and why.
type FailedFile struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// JobQuota is the tightest quota over a job's paths.
type JobQuota struct {
	TotalBytes int64 `json:"totalBytes"`
	Remaining  int64 `json:"remaining"`
}

// Job is a job's description and progress, as every job route answers it.
// Empty values are omitted (the seed: "empty value will be omitted"): times
// not reached yet, counters that are zero or do not apply to the job's type,
// an elapsed time and throughput before the job started. id, type and state
// are always there.
type Job struct {
	ID      string     `json:"id"`
	Type    string     `json:"type"`
	State   string     `json:"state"`
	Alias   string     `json:"alias,omitempty"`
	Index   string     `json:"index,omitempty"`
	Paths   []string   `json:"paths,omitempty"`
	Target  string     `json:"target,omitempty"`
	Options JobOptions `json:"options,omitzero"`

	SubmitTime              string `json:"submitTime,omitempty"`
	StartTime               string `json:"startTime,omitempty"`
	EndTime                 string `json:"endTime,omitempty"`
	TimeElapsedMilliseconds int64  `json:"timeElapsedMilliseconds,omitempty"`

	JobCounters
	ThroughputBytesPerSecond int64        `json:"throughputBytesPerSecond,omitempty"`
	FailedFileSamples        []FailedFile `json:"failedFileSamples,omitempty"`
	FailedFileListPath       string       `json:"failedFileListPath,omitempty"`
	ErrorMessage             string       `json:"errorMessage,omitempty"`
	Quota                    *JobQuota    `json:"quota,omitempty"`
	QuotaCheckError          string       `json:"quotaCheckError,omitempty"`
	Attempts                 int          `json:"attempts,omitempty"`
}

// Jobs is the answer of the job list routes.
type Jobs struct {
	Results []Job  `json:"results"`
	NextKey string `json:"nextKey,omitempty"`
}

// The job types, as Job.Type carries them and as the routes name them.
const (
	JobLoad      = "load"
	JobFree      = "free"
	JobRebalance = "rebalance"
)

// JobSpec is a job submission as the API hands it to a coordinator: checked,
// with the defaults applied and what it covers normalized (Alluxio paths).
// GivenIndex and GivenPaths keep the request's spelling when it differed,
// so that a job submitted by an earlier version, which kept its index and
// paths as spelled, is still found. It is not a wire type of the REST API.
type JobSpec struct {
	Type       string
	Index      string
	Alias      string
	Paths      []string
	Target     string
	Options    JobOptions
	GivenIndex string
	GivenPaths []string
}
