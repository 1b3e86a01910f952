package fusefs

import (
	"context"
	"errors"
	"net/http"
	"syscall"

	"github.com/alluvium/alluvium/client"
)

// errno maps an error of the client to what a system call answers:
// ENOENT for a path that is not there, EACCES for a refused token, EINTR for
// a cancelled request, EIO for the rest (no worker could answer).
func errno(err error) syscall.Errno {
	var ce *client.Error
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
	case errors.Is(err, context.DeadlineExceeded):
		return syscall.ETIMEDOUT
	case errors.As(err, &ce):
		switch ce.StatusCode {
		case http.StatusNotFound, http.StatusGone:
			return syscall.ENOENT
		case http.StatusUnauthorized, http.StatusForbidden:
			return syscall.EACCES
		case http.StatusBadRequest:
			return syscall.EINVAL
		}
	}
	return syscall.EIO
}

// isRangeNotSatisfiable reports a 416: a read at or past the end of a file
// that is shorter than it was.
func isRangeNotSatisfiable(err error) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.StatusCode == http.StatusRequestedRangeNotSatisfiable
}
