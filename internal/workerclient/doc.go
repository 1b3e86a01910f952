// Package workerclient is the typed client of a worker's task API: load,
// free and prune tasks, clear-stale start, stop and status, and the list of
// cached files. The coordinators' scheduler sends its tasks through it;
// tests use it to drive workers. It speaks through package jsonhttp (bounded
// answers, one error type), sends the cluster token on every call, and
// bounds each call by a context deadline: TaskTimeout for tasks, which may
// load a whole batch, CallTimeout for the rest.
//
// It lives apart from package worker so that the coordinator can call
// workers without importing the worker's implementation.
package workerclient
