package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/store"
	"github.com/edgeplane/edgeplane/hub/store/postgres"
	"github.com/edgeplane/edgeplane/hub/store/sqlite"
	"github.com/edgeplane/edgeplane/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backends are the stores every test runs against.
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"sqlite", func(t *testing.T) store.Store {
		st, err := sqlite.Open(t.Context(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"postgres", func(t *testing.T) store.Store {
		st, err := postgres.Open(t.Context(), pgtest.Database(t))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// each runs fn against a fresh store of every backend.
func each(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			t.Cleanup(func() { st.Close() })
			fn(t, st)
		})
	}
}

func mustDevice(t *testing.T, st store.Store, id string) api.Device {
	t.Helper()
	d, _, err := st.PutDevice(t.Context(), api.Device{ID: id, Enabled: true}, store.Precondition{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func desiredVersion(t *testing.T, st store.Store, id string) int64 {
	t.Helper()
	v, err := st.DesiredVersion(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ifMatch(v int64) store.Precondition { return store.Precondition{Set: true, Version: v} }

func TestDevices(t *testing.T) {
	each(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		d, created, err := st.PutDevice(ctx, api.Device{ID: "gw", Tags: map[string]string{"a": "1"}}, store.Precondition{})
		if err != nil || !created || d.Version != 1 || d.Key == "" {
			t.Fatalf("got %+v created %v err %v, want version 1, created, a key", d, created, err)
		}
		// Equal PUT keeps the version; an empty key keeps the stored one.
		again, created, err := st.PutDevice(ctx, api.Device{ID: "gw", Tags: map[string]string{"a": "1"}}, ifMatch(1))
		if err != nil || created || again.Version != 1 || again.Key != d.Key {
			t.Fatalf("got %+v created %v err %v, want version 1, same key", again, created, err)
		}
		if _, _, err := st.PutDevice(ctx, api.Device{ID: "gw", Enabled: true}, ifMatch(7)); !errors.Is(err, store.ErrVersionMismatch) {
			t.Fatalf("got %v, want ErrVersionMismatch", err)
		}
		if _, _, err := st.PutDevice(ctx, api.Device{ID: "new"}, ifMatch(1)); !errors.Is(err, store.ErrVersionMismatch) {
			t.Fatalf("got %v for If-Match on a missing device, want ErrVersionMismatch", err)
		}
		upd, _, err := st.PutDevice(ctx, api.Device{ID: "gw", Enabled: true}, ifMatch(1))
		if err != nil || upd.Version != 2 || !upd.Enabled || upd.Tags != nil {
			t.Fatalf("got %+v err %v, want version 2, enabled, no tags", upd, err)
		}
		got, err := st.GetDevice(ctx, "gw")
		if err != nil || got.Version != 2 || got.Key != d.Key || !got.CreatedAt.Equal(d.CreatedAt) {
			t.Fatalf("got %+v err %v, want version 2 with the first key and creation time", got, err)
		}
		if err := st.DeleteDevice(ctx, "gw", ifMatch(1)); !errors.Is(err, store.ErrVersionMismatch) {
			t.Fatalf("got %v, want ErrVersionMismatch", err)
		}
		if err := st.DeleteDevice(ctx, "gw", ifMatch(2)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetDevice(ctx, "gw"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v after delete, want ErrNotFound", err)
		}
	})
}

func TestListDevices(t *testing.T) {
	each(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		for i, id := range []string{"e", "a", "c", "b", "d"} {
			tags := map[string]string{"odd": "no"}
			if i%2 == 0 {
				tags["odd"] = "yes"
			}
			if _, _, err := st.PutDevice(ctx, api.Device{ID: id, Tags: tags}, store.Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		// Names and values that a JSON path or a quoting slip would get
		// wrong, a device with no tags, and one with a prefix of another's.
		for id, tags := range map[string]map[string]string{
			"f": {"odd": "yes", "rack.no": `a"b\c`, "site": "Zürich", "n": "1"},
			"g": nil,
			"h": {"rack.no": `a"b`, "site": "Zürich"},
		} {
			if _, _, err := st.PutDevice(ctx, api.Device{ID: id, Tags: tags}, store.Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name  string
			q     store.DeviceQuery
			wants []string
		}{
			{"all", store.DeviceQuery{Limit: 10}, []string{"a", "b", "c", "d", "e", "f", "g", "h"}},
			{"page", store.DeviceQuery{Limit: 2, After: "b"}, []string{"c", "d"}},
			{"tag", store.DeviceQuery{Limit: 10, Tags: map[string]string{"odd": "yes"}}, []string{"c", "d", "e", "f"}},
			{"tag page", store.DeviceQuery{Limit: 1, After: "a", Tags: map[string]string{"odd": "yes"}}, []string{"c"}},
			{"no match", store.DeviceQuery{Limit: 10, Tags: map[string]string{"odd": "maybe"}}, nil},
			{"every tag must match", store.DeviceQuery{Limit: 10,
				Tags: map[string]string{"odd": "yes", "site": "Zürich"}}, []string{"f"}},
			{"odd characters", store.DeviceQuery{Limit: 10,
				Tags: map[string]string{"rack.no": `a"b\c`}}, []string{"f"}},
			{"whole value", store.DeviceQuery{Limit: 10, Tags: map[string]string{"rack.no": `a"b`}}, []string{"h"}},
			{"string, not number", store.DeviceQuery{Limit: 10, Tags: map[string]string{"n": "1"}}, []string{"f"}},
			{"missing name", store.DeviceQuery{Limit: 10, Tags: map[string]string{"none": ""}}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ds, err := st.ListDevices(ctx, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range ds {
					got = append(got, d.ID)
				}
				if len(got) != len(tt.wants) {
					t.Fatalf("got %v, want %v", got, tt.wants)
				}
				for i := range got {
					if got[i] != tt.wants[i] {
						t.Fatalf("got %v, want %v", got, tt.wants)
					}
				}
			})
		}
	})
}

// TestDesiredVersion checks which writes change the desired state.
func TestDesiredVersion(t *testing.T) {
	each(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		mustDevice(t, st, "gw")
		mod := api.Module{Name: "m", Image: "img:1"}
		setRate := func(cur json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{"rate":1}`), nil }
		applied := int64(1)
		steps := []struct {
			name   string
			write  func() error
			change bool
		}{
			{"create module", func() error { _, _, err := st.PutModule(ctx, "gw", mod, store.Precondition{}); return err }, true},
			{"same module", func() error { _, _, err := st.PutModule(ctx, "gw", mod, store.Precondition{}); return err }, false},
			{"twin desired", func() error {
				_, err := st.UpdateTwinDesired(ctx, "gw", "m", store.Precondition{}, setRate)
				return err
			}, true},
			{"same twin", func() error {
				_, err := st.UpdateTwinDesired(ctx, "gw", "m", store.Precondition{}, setRate)
				return err
			}, false},
			{"route", func() error {
				_, _, err := st.PutRoute(ctx, "gw", api.Route{Name: "r", Text: "FROM /messages/* INTO $upstream"}, store.Precondition{})
				return err
			}, true},
			{"upstream", func() error {
				_, _, err := st.PutUpstream(ctx, "gw", api.Upstream{URL: "mqtt://b:1883", Password: "p"}, store.Precondition{})
				return err
			}, true},
			{"upstream without password keeps it", func() error {
				_, _, err := st.PutUpstream(ctx, "gw", api.Upstream{URL: "mqtt://b:1883"}, store.Precondition{})
				return err
			}, false},
			{"registry", func() error {
				_, _, err := st.PutRegistry(ctx, "gw", api.Registry{Name: "r", Server: "r:5000", Password: "p"}, store.Precondition{})
				return err
			}, true},
			{"reported", func() error {
				return st.ApplyReported(ctx, "gw", api.ReportedPatch{AppliedVersion: &applied,
					Twins: map[string]json.RawMessage{"m": json.RawMessage(`{"t":1}`)}})
			}, false},
			{"touch", func() error { return st.Touch(ctx, "gw", time.Now()) }, false},
			{"device tags", func() error {
				_, _, err := st.PutDevice(ctx, api.Device{ID: "gw", Tags: map[string]string{"x": "y"}}, store.Precondition{})
				return err
			}, false},
			{"delete registry", func() error { return st.DeleteRegistry(ctx, "gw", "r", store.Precondition{}) }, true},
			{"delete module", func() error { return st.DeleteModule(ctx, "gw", "m", store.Precondition{}) }, true},
		}
		for _, s := range steps {
			before := desiredVersion(t, st, "gw")
			if err := s.write(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			after := desiredVersion(t, st, "gw")
			if changed := after > before; changed != s.change {
				t.Fatalf("%s: got desired version %d -> %d, want changed=%v", s.name, before, after, s.change)
			}
		}
		ds, err := st.DesiredState(ctx, "gw")
		if err != nil {
			t.Fatal(err)
		}
		if ds.Upstream == nil || ds.Upstream.Password != "p" || len(ds.Modules) != 0 || len(ds.Routes) != 1 ||
			len(ds.Twins) != 0 || len(ds.Registries) != 0 {
			t.Fatalf("got %+v, want the route and the upstream with its password", ds)
		}
	})
}

func TestObjectsAndCascade(t *testing.T) {
	each(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		mustDevice(t, st, "gw")
		if _, _, err := st.PutModule(ctx, "nope", api.Module{Name: "m", Image: "i"}, store.Precondition{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v for a module of a missing device, want ErrNotFound", err)
		}
		for _, name := range []string{"b", "a"} {
			if _, _, err := st.PutModule(ctx, "gw", api.Module{Name: name, Image: "i"}, store.Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		m, _, err := st.PutModule(ctx, "gw", api.Module{Name: "a", Image: "j"}, ifMatch(1))
		if err != nil || m.Version != 2 {
			t.Fatalf("got %+v err %v, want version 2", m, err)
		}
		if _, _, err := st.PutModule(ctx, "gw", api.Module{Name: "a", Image: "k"}, ifMatch(1)); !errors.Is(err, store.ErrVersionMismatch) {
			t.Fatalf("got %v, want ErrVersionMismatch", err)
		}
		ms, err := st.ListModules(ctx, "gw")
		if err != nil || len(ms) != 2 || ms[0].Name != "a" || ms[0].Image != "j" {
			t.Fatalf("got %+v err %v, want a (image j) then b", ms, err)
		}
		if _, err := st.ListModules(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v listing a missing device, want ErrNotFound", err)
		}

		// Module delete takes the twin.
		if err := st.DeleteModule(ctx, "gw", "b", store.Precondition{}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetTwin(ctx, "gw", "b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v for the twin of a deleted module, want ErrNotFound", err)
		}

		// Device delete takes everything.
		if _, _, err := st.PutRoute(ctx, "gw", api.Route{Name: "r", Text: "x"}, store.Precondition{}); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteDevice(ctx, "gw", store.Precondition{}); err != nil {
			t.Fatal(err)
		}
		mustDevice(t, st, "gw")
		ds, err := st.DesiredState(ctx, "gw")
		if err != nil || len(ds.Modules)+len(ds.Routes)+len(ds.Twins) != 0 {
			t.Fatalf("got %+v err %v, want an empty state for a re-created device", ds, err)
		}
	})
}

func TestReported(t *testing.T) {
	each(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		mustDevice(t, st, "gw")
		if _, _, err := st.PutModule(ctx, "gw", api.Module{Name: "m", Image: "i"}, store.Precondition{}); err != nil {
			t.Fatal(err)
		}
		msg := "pull failed"
		patches := []api.ReportedPatch{
			{Agent: &api.AgentInfo{Version: "1"}, LastError: &msg,
				Modules: map[string]*api.ModuleStatus{"m": {Status: api.RuntimeRunning}, "x": {Status: api.RuntimeFailed}},
				Twins:   map[string]json.RawMessage{"m": json.RawMessage(`{"a":1,"b":{"c":2}}`)}},
			{Modules: map[string]*api.ModuleStatus{"x": nil},
				Twins: map[string]json.RawMessage{"m": json.RawMessage(`{"b":{"c":null}}`)}},
		}
		for _, p := range patches {
			if err := st.ApplyReported(ctx, "gw", p); err != nil {
				t.Fatal(err)
			}
		}
		s, err := st.Status(ctx, "gw")
		if err != nil || s.Agent == nil || s.Agent.Version != "1" || s.LastError != msg || len(s.Modules) != 1 {
			t.Fatalf("got %+v err %v, want agent 1, the error, one module", s, err)
		}
		tw, err := st.GetTwin(ctx, "gw", "m")
		if err != nil || string(tw.Reported) != `{"a":1,"b":{}}` || tw.ReportedVersion != 3 {
			t.Fatalf("got %s v%d err %v, want {\"a\":1,\"b\":{}} v3", tw.Reported, tw.ReportedVersion, err)
		}
		seen := time.Now().Truncate(time.Microsecond)
		if err := st.Touch(ctx, "gw", seen); err != nil {
			t.Fatal(err)
		}
		if s, _ := st.Status(ctx, "gw"); !s.LastSeen.Equal(seen) {
			t.Fatalf("got last seen %v, want %v", s.LastSeen, seen)
		}
	})
}

// TestListDevicesStatus checks that a list asked for statuses carries,
// for the devices its filter keeps, what Status answers one by one.
func TestListDevicesStatus(t *testing.T) {
	each(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		for _, id := range []string{"a", "b", "c"} {
			tags := map[string]string{"keep": "yes"}
			if id == "b" {
				tags["keep"] = "no"
			}
			if _, _, err := st.PutDevice(ctx, api.Device{ID: id, Tags: tags}, store.Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		applied := int64(1)
		if err := st.ApplyReported(ctx, "c", api.ReportedPatch{Agent: &api.AgentInfo{Version: "2"},
			AppliedVersion: &applied,
			Modules:        map[string]*api.ModuleStatus{"m": {Status: api.RuntimeBackoff, RestartCount: 3}},
		}); err != nil {
			t.Fatal(err)
		}
		if err := st.Touch(ctx, "c", time.Now().Truncate(time.Microsecond)); err != nil {
			t.Fatal(err)
		}

		ds, err := st.ListDevices(ctx, store.DeviceQuery{Limit: 10, Tags: map[string]string{"keep": "yes"},
			Status: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 || ds[0].ID != "a" || ds[1].ID != "c" {
			t.Fatalf("got %+v, want a and c", ds)
		}
		for _, d := range ds {
			want, err := st.Status(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status == nil || !reflect.DeepEqual(*d.Status, want) {
				t.Errorf("device %s: got status %+v, want %+v", d.ID, d.Status, want)
			}
		}

		// Without Status, none is read.
		ds, err = st.ListDevices(ctx, store.DeviceQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Status != nil {
				t.Errorf("device %s: got status %+v, want none", d.ID, d.Status)
			}
		}
	})
}

// TestConcurrentConditionalWrites: of many writers with the same If-Match,
// exactly one wins.
func TestConcurrentConditionalWrites(t *testing.T) {
	each(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		mustDevice(t, st, "gw")
		if _, _, err := st.PutModule(ctx, "gw", api.Module{Name: "m", Image: "v0"}, store.Precondition{}); err != nil {
			t.Fatal(err)
		}
		const writers = 8
		var (
			wg             sync.WaitGroup
			mu             sync.Mutex
			wins, mismatch int
		)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := st.PutModule(ctx, "gw", api.Module{Name: "m", Image: "v" + string(rune('1'+i))}, ifMatch(1))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, store.ErrVersionMismatch):
					mismatch++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || mismatch != writers-1 {
			t.Fatalf("got %d wins and %d mismatches, want 1 and %d", wins, mismatch, writers-1)
		}
	})
}

func TestWatch(t *testing.T) {
	each(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		got := make(chan string, 16)
		st.Watch(func(device string) { got <- device })
		mustDevice(t, st, "gw")
		if _, _, err := st.PutModule(ctx, "gw", api.Module{Name: "m", Image: "i"}, store.Precondition{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, got, "gw")
	})
}

func waitFor(t *testing.T, got <-chan string, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		select {
		case d := <-got:
			if d == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("got no change notification for %q", want)
		}
	}
}

// TestPostgresListenerReconnects kills the store's LISTEN connection: the
// store must tell its watchers that anything may have changed, and later
// changes must wake them again.
func TestPostgresListenerReconnects(t *testing.T) {
	dsn := pgtest.Database(t)
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := make(chan string, 64)
	st.Watch(func(device string) { got <- device })
	mustDevice(t, st, "gw")

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var killed int
	err = conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("got %d listener connections terminated (%v), want 1", killed, err)
	}
	waitFor(t, got, "")

	if _, _, err := st.PutModule(t.Context(), "gw", api.Module{Name: "m", Image: "i"}, store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, got, "gw")
}

// TestConcurrentCreates: many creates of one new device all succeed, one
// of them as the create.
func TestConcurrentCreates(t *testing.T) {
	each(t, func(t *testing.T, st store.Store) {
		const writers = 8
		var (
			wg      sync.WaitGroup
			created atomic.Int64
		)
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, c, err := st.PutDevice(t.Context(), api.Device{ID: "gw", Enabled: true}, store.Precondition{})
				if err != nil {
					t.Error(err)
				}
				if c {
					created.Add(1)
				}
			}()
		}
		wg.Wait()
		if got := created.Load(); got != 1 {
			t.Fatalf("got %d creates, want 1", got)
		}
	})
}
