// Package jobplan holds the decisions of the job engine as pure functions:
// which workers a page of a load, free or rebalance job goes to, what each
// of them is asked to do, and how their answers become the page's counters,
// failed files, quota error and file-index observations. The coordinator's
// scheduler executes the plans: it lists the UFS, sends the tasks over HTTP,
// retries, and commits each page's Outcome in one fsm.UpdateJob.
//
// Like Nomad's scheduler, which sees only its State and Planner interfaces,
// a plan sees the replicated state through State (what it reads of the file
// index and the quotas) and the workers through Ring; it imports neither
// hashicorp/raft nor net/http, sends nothing and commits nothing, so every
// decision is tested with tables (see the *_test.go files).
//
//   - plan.go: the vocabulary (File, Outcome, State, Ring), the listing
//     filter, a page that fails whole, and Observations (the answers as the
//     file index learns them);
//   - load.go: a load page and its verify pass: placement on the owners,
//     the task, the owners of a worker's files once it is unreachable, and
//     the tally of the answers;
//   - free.go: a free page: every live worker, files held by offline
//     workers, and the tally;
//   - rebalance.go: a rebalance page of the file index: loads, peers,
//     prunes, and the tally.
package jobplan
