package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// decodeBody decodes a required JSON body strictly: no unknown fields, no
// wrong types, nothing after the object. Errors name the field at fault.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil {
		return errorf(http.StatusBadRequest, "a JSON request body is required")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(http.StatusBadRequest, "unexpected data after the JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "a JSON request body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "malformed JSON: the body ends early")
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errorf(http.StatusBadRequest, "the body must be a JSON object, not %s", typ.Value)
		}
		return errorf(http.StatusBadRequest, "field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errorf(http.StatusBadRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return errorf(http.StatusBadRequest, "invalid request body: %v", err)
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "string":
		return "a string"
	case goKind == "bool":
		return "true or false"
	case goKind == "slice", goKind == "array":
		return "an array"
	case goKind == "map", goKind == "struct":
		return "an object"
	}
	return "a " + goKind
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
