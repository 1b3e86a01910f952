package ufs

import (
	"errors"
	"fmt"

	"github.com/alluvium/alluvium/policy"
)

// Sentinel errors. Every error of this package that a caller may act on wraps
// one of them, so that a worker can answer 404, 400 or 403 with errors.Is.
var (
	// ErrNotFound: no such file, directory or bucket.
	ErrNotFound = errors.New("not found")
	// ErrEscape: the path would leave the UFS root ("..", an absolute path,
	// a symbolic link that points outside the root). Nothing was read.
	ErrEscape = errors.New("path escapes the ufs root")
	// ErrInvalid: a malformed path, URI, option or argument.
	ErrInvalid = errors.New("invalid argument")
	// ErrPermission: the UFS refused access (file mode, S3 AccessDenied, bad keys).
	ErrPermission = errors.New("permission denied")
	// ErrClosed: the UFS was closed.
	ErrClosed = errors.New("ufs is closed")
	// ErrNoMount: no mount point covers the Alluxio path or UFS URI. It
	// wraps ErrNotFound.
	ErrNoMount = fmt.Errorf("%w: not under any mount point", ErrNotFound)
	// ErrNotAllowed: the UFS location is outside the allowlist (see
	// Allowlist). It wraps policy.ErrForbidden.
	ErrNotAllowed error = &policy.Error{Kind: policy.ErrForbidden, Msg: "ufs location not allowed"}
)
