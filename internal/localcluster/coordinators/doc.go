// Package coordinators starts the coordinators of a local cluster on
// loopback: N of them in this process (internal/node) or as `alluvium
// coordinator` processes, bootstrapped together or by the first one that
// the others join, on fixed or free ports; it waits for what makes them
// usable (a leader every one of them knows, published API addresses), and
// stops, restarts and adds members.
//
// It is the coordinator half of internal/localcluster, apart so that
// internal/testcluster (which the worker package's own tests use) can build
// on it without importing the worker.
package coordinators
