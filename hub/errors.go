package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/store"
)

// Error is an API error: an HTTP status and the api.Error body.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errBadRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: api.CodeBadRequest,
		Message: fmt.Sprintf(format, args...), Field: field}
}

func errInvalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: api.CodeInvalid,
		Message: fmt.Sprintf(format, args...), Field: field}
}

func errNotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: api.CodeNotFound,
		Message: fmt.Sprintf(format, args...)}
}

// storeError turns a store error into an API error; what names the object
// for a not-found message.
func storeError(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("%s does not exist", what)
	case errors.Is(err, store.ErrVersionMismatch):
		return &Error{Status: http.StatusPreconditionFailed, Code: api.CodeVersionMismatch,
			Message: what + " has changed since the version in If-Match; read it again and retry"}
	}
	return err
}

// writeError writes err as an api.Error body. Errors that are not *Error
// are internal: they are logged and the caller sees a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		if r.Context().Err() != nil {
			// The client went away; nobody reads the answer.
			return
		}
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &Error{Status: http.StatusInternalServerError, Code: api.CodeInternal,
			Message: "the hub failed to handle the request; see its log"}
	}
	writeJSON(w, e.Status, api.Error{Code: e.Code, Message: e.Message, Field: e.Field}, 0)
}

// writeJSON writes v with status; a positive version also goes in ETag.
func writeJSON(w http.ResponseWriter, status int, v any, version int64) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"internal","message":"encoding the response failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if version > 0 {
		h.Set("ETag", etag(version))
	}
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // nothing to do when the client is gone
}

func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// precondition parses If-Match: "7", 7, W/"7" or *.
func precondition(r *http.Request) (store.Precondition, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return store.Precondition{}, nil
	}
	if h == "*" {
		return store.Precondition{Set: true, Any: true}, nil
	}
	v := strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return store.Precondition{}, errBadRequest("If-Match",
			"If-Match %q is not a version; send the ETag of a read, such as \"7\"", h)
	}
	return store.Precondition{Set: true, Version: n}, nil
}

// decodeBody reads a JSON request body into v, strictly: at most
// api.MaxBodyBytes, one JSON value, no unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, api.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", api.MaxBodyBytes)}
	}
	if err != nil {
		return errBadRequest("", "reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadRequest("", "the request body is empty; send a JSON object")
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(body, v, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(body, dec.InputOffset())
		return errBadRequest("", "malformed JSON at line %d, column %d (byte %d): "+
			"unexpected data after the JSON value", line, col, dec.InputOffset())
	}
	return nil
}

// jsonError explains a decoding error with its position and field.
func jsonError(body []byte, v any, err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		line, col := position(body, syntax.Offset)
		return errBadRequest("", "malformed JSON at line %d, column %d (byte %d): %s",
			line, col, syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(body, int64(len(body)))
		return errBadRequest("", "malformed JSON at line %d, column %d (byte %d): "+
			"the body ends before the JSON value does", line, col, len(body))
	case errors.As(err, &typ):
		line, col := position(body, typ.Offset)
		field := typ.Field
		if field == "" {
			return errBadRequest("", "the body must be a JSON object, got JSON %s", typ.Value)
		}
		return errBadRequest(field, "field %q at line %d, column %d must be %s, got JSON %s",
			field, line, col, goTypeName(typ.Type.String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		path := unknownFieldPath(body, reflect.TypeOf(v), name)
		return errBadRequest(path, "unknown field %q; see docs/openapi.yaml for the fields", path)
	}
	return errBadRequest("", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// unknownFieldPath finds where in the body the unknown field name sits,
// as a JSON path ("create_options.memory"), by walking the body beside the
// Go type it was decoded into. It falls back to the bare name.
func unknownFieldPath(body []byte, t reflect.Type, name string) string {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return name
	}
	if p, ok := findUnknown(doc, t, name, ""); ok {
		return p
	}
	return name
}

func findUnknown(doc any, t reflect.Type, name, path string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch d := doc.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Map:
			for k, v := range d {
				if p, ok := findUnknown(v, t.Elem(), name, join(path, k)); ok {
					return p, true
				}
			}
		case reflect.Struct:
			fields := map[string]reflect.Type{}
			for i := range t.NumField() {
				f := t.Field(i)
				tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if tag == "" {
					tag = f.Name
				}
				fields[strings.ToLower(tag)] = f.Type
			}
			for k, v := range d {
				ft, known := fields[strings.ToLower(k)]
				if !known {
					if k == name {
						return join(path, k), true
					}
					continue
				}
				if p, ok := findUnknown(v, ft, name, join(path, k)); ok {
					return p, true
				}
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, v := range d {
				if p, ok := findUnknown(v, t.Elem(), name, path+"["+strconv.Itoa(i)+"]"); ok {
					return p, true
				}
			}
		}
	}
	return "", false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// goTypeName says a Go type the way a JSON user thinks of it.
func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case t == "time.Time":
		return "an RFC 3339 time string"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "an object"
	}
	return t
}

// position turns a byte offset into a 1-based line and column.
func position(body []byte, off int64) (line, col int) {
	if off > int64(len(body)) {
		off = int64(len(body))
	}
	before := body[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col == 0 {
		col = 1
	}
	return line, col
}
