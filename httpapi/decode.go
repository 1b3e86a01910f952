package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/alluvium/alluvium/internal/jsonhttp"
)

// decodeBody decodes a required JSON body strictly (jsonhttp.DecodeBody:
// exact field names, each once, no unknown fields, nothing after the
// object). Errors name the field at fault; a body over the bound is the
// *http.MaxBytesError (413).
func decodeBody(r *http.Request, v any) error {
	err := jsonhttp.DecodeBody(r, v)
	var e *jsonhttp.Error
	if errors.As(err, &e) {
		return &httpError{code: e.StatusCode, msg: e.Reason()}
	}
	return err
}

// query reads the URL query, refusing parameters the route does not know, so
// that a misspelt selector is a 400 rather than a silent "list all".
func query(r *http.Request, known ...string) (map[string]string, error) {
	out := map[string]string{}
	for k, vs := range r.URL.Query() {
		if k == "stale" {
			continue
		}
		ok := false
		for _, name := range known {
			ok = ok || k == name
		}
		if !ok {
			return nil, errorf(http.StatusBadRequest, "unknown query parameter %q (this route takes %s)", k, orNone(known))
		}
		if len(vs) != 1 {
			return nil, errorf(http.StatusBadRequest, "query parameter %q is given %d times", k, len(vs))
		}
		out[k] = vs[0]
	}
	return out, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// atMostOne checks that at most one of the named selectors is set.
func atMostOne(q map[string]string, names ...string) (string, error) {
	found := ""
	for _, n := range names {
		if _, ok := q[n]; ok {
			if found != "" {
				return "", errorf(http.StatusBadRequest, "give at most one of %s", strings.Join(names, ", "))
			}
			found = n
		}
	}
	return found, nil
}

// positiveInt reads an optional positive integer parameter.
func positiveInt(q map[string]string, name string) (int, error) {
	s, ok := q[name]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, errorf(http.StatusBadRequest, "%s must be a positive integer, not %q", name, s)
	}
	return n, nil
}

func required(name, value string) error {
	if value == "" {
		return errorf(http.StatusBadRequest, "field %q is required", name)
	}
	return nil
}
