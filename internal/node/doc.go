// Package node runs one coordinator together with its HTTP API on a
// listener: the unit that cmd/alluvium starts (one per process, or three in
// dev mode) and that end-to-end tests start on loopback.
package node
