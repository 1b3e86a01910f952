// Package chart holds the tests of the Helm chart at deploy/helm/alluvium:
// they render it with Helm's Go SDK, decode every object strictly into the
// Kubernetes API types, and run each alluvium container's command line
// through the real binary's --validate. It lives in its own module so that
// embedding Alluvium never pulls Helm and Kubernetes into a user's module
// graph.
package chart
