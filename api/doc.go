// Package api holds the plain types of Alluvium's REST API: the JSON bodies
// that package httpapi serves and package client sends, the flexible size and
// duration encodings, and the cluster-availability errors that the API
// answers with 503. It has no behaviour beyond encoding, so the server, the
// client and the coordinator can share it without depending on one another.
package api
