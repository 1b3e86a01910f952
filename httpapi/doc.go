// Package httpapi serves Alluvium's coordinator REST API, /api/v1, on any
// router: it decodes and validates requests, calls a Backend, and encodes
// answers and errors. It holds no state and no cluster logic of its own,
// and speaks only the api types and policy's vocabulary: the Backend (see
// Backend) never hands it the state machine or its encoding.
//
// Register mounts the routes through the small Router interface; adapters
// for julienschmidt/httprouter and net/http's ServeMux are provided. Every
// route is a func(*http.Request) (any, error), wrapped once for JSON, errors
// (one error-to-status mapping, see statusOf), authentication, bounded bodies
// and leader forwarding: a follower forwards writes and linearizable reads to
// the leader (or answers 307 there), and answers ?stale=true reads itself.
package httpapi
