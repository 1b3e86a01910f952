// Package jsonhttp is the one way Alluvium's processes speak JSON over HTTP
// to each other: the Go client to the coordinators, a worker to the
// coordinators (through package client), the coordinators to each other and
// to the workers' task API.
//
// The calling side (Do, NewRequest, ReadAnswer) bounds what it reads (an
// answer by MaxAnswer, DefaultMaxAnswer unless set; an error answer at
// MaxErrorBody), lets the context bound the call, and turns every answer
// other than 2xx into one *Error that carries the status code and the
// decoded error body ({"status": "<reason>", ...}, api.Error).
//
// The serving side (WriteJSON, WriteError, DecodeBody, ReadBody) writes
// answers and that error body, and decodes request bodies strictly: field
// names exactly as documented and each once, no unknown fields, nothing
// after the value, a bounded size (413 beyond). Package httpapi and the
// worker's HTTP API both use it, so a peer sees the same rules and the same
// error bodies from either.
package jsonhttp
