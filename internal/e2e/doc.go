// Package e2e holds end-to-end tests that cross packages in one process:
// real coordinators (bolt/wal, TCP, HTTP on loopback) and real workers over
// a real UFS folder, driven through the public API and client.
package e2e
