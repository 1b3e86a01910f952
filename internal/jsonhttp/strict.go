package jsonhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/alluvium/alluvium/api"
)

// DecodeBody decodes a required JSON body strictly: field names exactly as
// documented (encoding/json alone matches them case-insensitively) and each
// once, no unknown fields, no wrong types, nothing after the value. A fault
// of the body is an *Error with status 400 whose reason names the field at
// fault; an error reading the body is returned as it is (an
// *http.MaxBytesError when the caller bounded the body and it is over).
func DecodeBody(r *http.Request, v any) error {
	if r.Body == nil {
		return badBody("a JSON request body is required")
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return badBody("a JSON request body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badBody("unexpected data after the JSON object")
	}
	keys := json.NewDecoder(bytes.NewReader(raw))
	if err := checkKeys(keys, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	return nil
}

func badBody(format string, args ...any) error {
	return &Error{StatusCode: http.StatusBadRequest, Body: api.Error{Status: fmt.Sprintf(format, args...)}}
}

// checkKeys walks one JSON value and checks that every key of an object
// decoded into a struct is one of the struct's JSON names, exactly, and
// appears once. The value is already known to be well formed.
func checkKeys(dec *json.Decoder, t reflect.Type, at string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok || (delim != '{' && delim != '[') {
		return nil
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return skipRest(dec)
	}
	if delim == '[' {
		elem := t
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			elem = t.Elem()
		}
		for dec.More() {
			if err := checkKeys(dec, elem, at+"[]"); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	fields := jsonFields(t)
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		name := key
		if at != "" {
			name = at + "." + key
		}
		ft := reflect.TypeOf((*any)(nil)).Elem()
		switch {
		case t.Kind() == reflect.Map:
			ft = t.Elem()
		case t.Kind() == reflect.Struct:
			var known bool
			if ft, known = fields[key]; !known {
				return badBody("unknown field %q (field names are case-sensitive)", name)
			}
			if seen[key] {
				return badBody("field %q is given twice", name)
			}
			seen[key] = true
		}
		if err := checkKeys(dec, ft, name); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

var jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// jsonFields maps a struct's JSON names to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// skipRest consumes the rest of an object or array whose opening delimiter
// was read.
func skipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
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
		return badBody("a JSON request body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badBody("malformed JSON: the body ends early")
	case errors.As(err, &syn):
		return badBody("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badBody("the body must be a JSON object, not %s", typ.Value)
		}
		return badBody("field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badBody("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return badBody("invalid request body: %v", err)
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
