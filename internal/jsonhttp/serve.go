package jsonhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/alluvium/alluvium/api"
)

// MaxBody is the bound of a request body that ReadBody applies (413 beyond),
// as the coordinators' API does by default.
const MaxBody = 1 << 20

// BodyTimeout bounds ReadBody's read of a body, so that a client
// trickling it holds neither the connection nor the handler.
const BodyTimeout = 30 * time.Second

// WriteJSON answers code with v as JSON.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if a, ok := v.(jsonAppender); ok { // a large answer that writes its own JSON
		_, _ = w.Write(append(a.AppendJSON(nil), '\n'))
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// jsonAppender is a value that appends its JSON itself, the bytes
// encoding/json would write, without reflection (api.FileIndex).
type jsonAppender interface{ AppendJSON([]byte) []byte }

// WriteError answers code with the error body {"status": reason}.
func WriteError(w http.ResponseWriter, code int, reason string) {
	WriteJSON(w, code, api.Error{Status: reason})
}

// TooLargeReason is the reason of the 413 to a body over limit bytes.
func TooLargeReason(limit int64) string {
	return fmt.Sprintf("request body is larger than %d bytes", limit)
}

// ReadBody decodes the request's JSON body into v strictly (DecodeBody),
// reading at most MaxBody bytes. On failure it answers the error (413 for a
// body over the bound, 400 for any other fault, naming it) and returns
// false.
func ReadBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(BodyTimeout))
	err := DecodeBody(r, v)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		w.Header().Set("Connection", "close") // or the server waits for the rest
		WriteError(w, http.StatusRequestTimeout, fmt.Sprintf("the request body did not arrive within %s", BodyTimeout))
		return false
	}
	_ = rc.SetReadDeadline(time.Time{})
	if err == nil {
		return true
	}
	var he *Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		WriteError(w, he.StatusCode, he.Reason())
	case errors.As(err, &mbe):
		WriteError(w, http.StatusRequestEntityTooLarge, TooLargeReason(mbe.Limit))
	default:
		WriteError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
	}
	return false
}
