// Package archtest holds no code: its test pins the import rules of the
// module's packages (see docs/architecture.md), so that an arrow pointing
// the wrong way fails `go test` rather than a review.
package archtest
