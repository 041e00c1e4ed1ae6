package hub_test

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/store/postgres"
	"github.com/edgeplane/edgeplane/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	printFigures()

	// A full run must exercise every documented operation, so that each
	// is checked against the document at least once.
	if f := flag.Lookup("test.run"); code == 0 && f != nil && f.Value.String() == "" && !testing.Short() {
		if missing := uncovered(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: documented operations no test exercised: %v\n", missing)
			code = 1
		}
	}
	os.Exit(code)
}

// newPostgresHub starts a hub replica over the database at dsn.
func newPostgresHub(t testing.TB, dsn string) *testHub {
	t.Helper()
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newTestHub(t, st)
}

// TestReplicasWakeLongPolls runs two hubs on one PostgreSQL: a device
// long-polls replica A while an operator writes through replica B.
func TestReplicasWakeLongPolls(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := newPostgresHub(t, dsn), newPostgresHub(t, dsn)
	d := b.createDevice("gw")

	var ds api.DesiredState
	r := a.do("GET", "/v1/device/desired", token(t, d), nil)
	r.decode(t, &ds)

	writes := []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"module", "PUT", "/v1/devices/gw/modules/m", api.Module{Image: "img:1"}, http.StatusCreated},
		{"twin", "PATCH", "/v1/devices/gw/modules/m/twin", map[string]any{"desired": map[string]int{"x": 1}}, http.StatusOK},
		{"route", "PUT", "/v1/devices/gw/routes/r", api.Route{Text: "FROM /messages/* INTO $upstream"}, http.StatusCreated},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			got := make(chan response, 1)
			go func() { got <- a.poll(d, ds.Version, "30s") }()
			waitWaiting(t, a.srv, 1)
			b.op(w.method, w.path, w.body, w.want)
			r := <-got
			if r.status != http.StatusOK {
				t.Fatalf("got status %d from replica A, want 200: %s", r.status, r.body)
			}
			var next api.DesiredState
			r.decode(t, &next)
			if next.Version <= ds.Version {
				t.Fatalf("got version %d, want more than %d", next.Version, ds.Version)
			}
			ds = next
		})
	}
}
