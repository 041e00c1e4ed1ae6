package hub_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/hub"
	"github.com/edgeplane/edgeplane/hub/store/sqlite"
)

// TestOpenAPIRoutes checks that the server and docs/openapi.yaml list the
// same methods and paths.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := loadSpec(t)
	st, err := sqlite.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := hub.New(hub.Config{Store: st, Tokens: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}

	served := map[string]bool{}
	for _, r := range srv.Routes() {
		served[r.Method+" "+r.Pattern] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	if missing := minus(served, documented); len(missing) > 0 {
		t.Errorf("served but not in docs/openapi.yaml: %v", missing)
	}
	if extra := minus(documented, served); len(extra) > 0 {
		t.Errorf("in docs/openapi.yaml but not served: %v", extra)
	}
}

func minus(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
