// Package client is the Go client of Alluvium's REST API (/api/v1): jobs,
// mounts, per-directory policies, the cache filter, workers, the global file
// index and the cluster itself. It sends and returns the plain types of
// package api, so that what a program reads is exactly what the API answers.
//
// A Client is given every coordinator's URL. Any coordinator answers any
// request (followers forward to the leader), so the client keeps using the
// one that answered last and moves on to the next on a connection error or a
// 503 (no leader, or leadership moving), with a short backoff between rounds
// and a total bound, so a call never hangs on a dead cluster. A write is sent
// again only when it surely was not applied; when its outcome is unknown the
// caller gets the error (IsUnavailable) and decides.
//
// Errors the API answers are *Error values, with predicates for the cases a
// caller acts on: IsNotFound, IsConflict (ConflictID names the job a
// resubmission resumed), IsGone and IsUnavailable.
package client
