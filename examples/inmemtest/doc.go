// Package inmemtest shows how to test your own code that drives Alluvium
// against a real, replicated coordinator cluster held in memory.
//
// Onboard is the "user code": a platform team's self-service step that
// gives a team its own mount point with a quota and a TTL, through the Go
// client. Its test starts three coordinators with coordinatortest.New (Raft
// over an in-memory transport, nothing on disk), serves each one's REST API
// on loopback with httpapi.Register, points a client at all three, and
// checks both what Onboard answers and the replicated state on every node.
// No mocks: the requests go through the same API, validation and Raft log
// as in production, and the whole cluster starts in well under a second.
package inmemtest
