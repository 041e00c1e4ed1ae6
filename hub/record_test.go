package hub_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/edgeplane/edgeplane/hub/api"
)

// specPath is the API document the server must agree with.
const specPath = "../docs/openapi.yaml"

// exercised records each documented operation a test reached with a
// success status, as "METHOD /path/{template}".
var exercised sync.Map

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// loadSpec loads and checks docs/openapi.yaml once per test binary.
func loadSpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	spec.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromFile(specPath)
		if err != nil {
			spec.err = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			spec.err = err
			return
		}
		// Match paths on any host: test servers listen on free ports.
		doc.Servers = nil
		spec.doc = doc
		spec.router, spec.err = gorillamux.NewRouter(doc)
	})
	if spec.err != nil {
		t.Fatalf("loading %s: %v", specPath, spec.err)
	}
	return spec.doc, spec.router
}

// recordingHandler wraps the server under test so that every exchange a
// test makes is checked against docs/openapi.yaml: every response must be
// documented, and every request the server accepted must be valid by the
// document. Requests the server rejected are meant to be bad, so only their
// error responses are checked.
func recordingHandler(t testing.TB, h http.Handler) http.Handler {
	_, router := loadSpec(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, api.MaxBodyBytes+1))
		r.Body = io.NopCloser(bytes.NewReader(body))

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes()) //nolint:errcheck // the test client reads it

		route, params, err := router.FindRoute(r)
		if err != nil {
			// Paths outside the document are checked by TestOpenAPIRoutes;
			// here it is enough that the server said 404 or 405.
			if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("openapi: %s %s answered %d but is not in the document", r.Method, r.URL.Path, rec.Code)
			}
			return
		}
		if rec.Code < 400 {
			exercised.Store(r.Method+" "+route.Path, true)
		}
		req := r.Clone(context.Background())
		req.Body = io.NopCloser(bytes.NewReader(body))
		in := &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		if rec.Code < 400 {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Errorf("openapi: the server accepted %s %s but the document rejects the request: %v",
					r.Method, r.URL.Path, firstLine(err))
			}
		}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 rec.Code,
			Header:                 rec.Header(),
			Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("openapi: response %d to %s %s does not match the document: %v\nbody: %s",
				rec.Code, r.Method, r.URL.Path, firstLine(err), rec.Body.Bytes())
		}
	})
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// uncovered returns the documented operations that no test exercised with
// a success status; empty when the document was never loaded.
func uncovered() []string {
	if spec.doc == nil {
		return nil
	}
	var out []string
	for path, item := range spec.doc.Paths.Map() {
		for method := range item.Operations() {
			if _, ok := exercised.Load(method + " " + path); !ok {
				out = append(out, method+" "+path)
			}
		}
	}
	sort.Strings(out)
	return out
}
