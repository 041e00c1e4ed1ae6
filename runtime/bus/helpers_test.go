package bus

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/sdk"
)

// requireMosquitto fails (or skips under -short) when Mosquitto is missing.
func requireMosquitto(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Mosquitto")
	}
	if _, err := os.Stat(DefaultMosquitto); err != nil {
		t.Fatalf("%s missing: install the Debian package mosquitto (make deps)", DefaultMosquitto)
	}
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		t.Fatalf("mosquitto_pub missing: install the Debian package mosquitto-clients (make deps)")
	}
}

// rt is a route from module output "m/o" to module input "m/i" or to
// "$upstream", with an optional WHERE condition.
func rt(name, from, to, where string) api.Route {
	text := "FROM /messages/modules/" + strings.Replace(from, "/", "/outputs/", 1)
	if where != "" {
		text += " WHERE " + where
	}
	if to == "$upstream" {
		text += " INTO $upstream"
	} else {
		text += ` INTO BrokeredEndpoint("/modules/` + strings.Replace(to, "/", "/inputs/", 1) + `")`
	}
	return api.Route{Name: name, Text: text}
}

// reporter records reported patches.
type reporter struct {
	mu      sync.Mutex
	patches []api.ReportedPatch
	ch      chan api.ReportedPatch
}

func newReporter() *reporter { return &reporter{ch: make(chan api.ReportedPatch, 100)} }

func (r *reporter) Report(p api.ReportedPatch) {
	r.mu.Lock()
	r.patches = append(r.patches, p)
	r.mu.Unlock()
	r.ch <- p
}

// testBus is a running bus in a temporary directory.
type testBus struct {
	*Bus
	rep  *reporter
	dir  string
	stop func()
}

// startBus runs a bus for ds until the test ends.
func startBus(t testing.TB, ds *api.DesiredState) *testBus {
	t.Helper()
	return startBusIn(t, shortTempDir(t), ds)
}

// startBusIn runs a bus in dir for ds until stop or the end of the test.
func startBusIn(t testing.TB, dir string, ds *api.DesiredState) *testBus {
	t.Helper()
	return startBusWith(t, dir, ds, "")
}

// startBusWith is startBusIn with the fast-route plugin at plugin ("" for
// none).
func startBusWith(t testing.TB, dir string, ds *api.DesiredState, plugin string) *testBus {
	t.Helper()
	requireMosquitto(t)
	level := slog.LevelInfo
	if _, bench := t.(*testing.B); bench {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
	b, err := New(Config{DeviceID: "dev1", Dir: dir, Log: log, FastRoutePlugin: plugin})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(ds); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rep := newReporter()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Run(ctx, rep)
	}()
	stop := sync.OnceFunc(func() {
		cancel()
		<-done
	})
	t.Cleanup(stop)
	waitFor(t, "the bus to be healthy", func() bool { return b.Healthy() == nil })
	return &testBus{Bus: b, rep: rep, dir: dir, stop: stop}
}

// module connects an SDK client as module name.
func (tb *testBus) module(t *testing.T, name string, setup func(c *sdk.Client)) *sdk.Client {
	t.Helper()
	cfg, err := configFromEnvList(tb.ModuleEnv(name))
	if err != nil {
		t.Fatal(err)
	}
	c := sdk.New(cfg)
	if setup != nil {
		setup(c)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connecting module %s: %v", name, err)
	}
	t.Cleanup(c.Close)
	return c
}

func configFromEnvList(env []string) (sdk.Config, error) {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	sec, err := os.ReadFile(m[EnvSecretFile])
	if err != nil {
		return sdk.Config{}, err
	}
	return sdk.Config{DeviceID: m[EnvDeviceID], ModuleID: m[EnvModuleID], BrokerURL: m[EnvBrokerURL],
		Secret: strings.TrimSpace(string(sec))}, nil
}

// shortTempDir is a temporary directory with a path short enough for a
// Unix socket (108 bytes).
func shortTempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "epbus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// waitFor polls cond until it holds; it fails the test after a minute, a
// bound for hangs rather than a timing assertion.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
