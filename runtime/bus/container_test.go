package bus

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/extension"
	"github.com/edgeplane/edgeplane/runtime/podmantest"
)

// containerUser runs this package's rootless Podman and bus.
const containerUser = "ep-bus"

// TestContainersSensorFilterUpstream runs the example modules as rootless
// Podman containers (FROM scratch images, no network) wired to a bus that
// runs as the same unprivileged user, as edgeplaned would: the broker's
// socket and each module's secret are bind-mounted, the rest comes from
// the environment. Filtered readings must reach the upstream broker.
func TestContainersSensorFilterUpstream(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs rootless Podman and Mosquitto")
	}
	requireMosquitto(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	env, err := podmantest.StartAs(ctx, containerUser)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	chown := func(p string) {
		t.Helper()
		if err := os.Chown(p, env.UID, env.GID); err != nil {
			t.Fatal(err)
		}
	}

	// Step 1: the example module images, built as the user.
	buildModuleImages(ctx, t, env)

	// Step 2: the bus, as the user, in a helper process (this test
	// binary, copied where the user can run it).
	cl := startCloud(t)
	dir := filepath.Join(env.Dir, "bus")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	chown(dir)
	ds := &api.DesiredState{
		DeviceID: "dev1", Version: 1,
		Modules: []api.Module{{Name: "sensor"}, {Name: "filter"}},
		Routes: []api.Route{
			rt("to-filter", "sensor/temperature", "filter/input1", "$body.temperature >= 0"),
			rt("alerts-up", "filter/output1", "$upstream", "alert = 'true'"),
		},
		Twins: map[string]api.DesiredTwin{
			"sensor": {Properties: json.RawMessage(`{"interval_ms":20,"min":20,"max":30}`), Version: 1},
			"filter": {Properties: json.RawMessage(`{"threshold":25}`), Version: 1},
		},
		Upstream: &api.Upstream{URL: cl.url},
	}
	raw, _ := json.Marshal(ds)
	if err := os.WriteFile(filepath.Join(dir, "ds.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	chown(filepath.Join(dir, "ds.json"))
	self := filepath.Join(env.Dir, "bus.test")
	copyFile(t, os.Args[0], self, 0o755)
	helper := exec.Command(self, "-test.run=^$")
	helper.Env = append(env.Environ(), "EPBUS_HELPER_DIR="+dir)
	helper.Stderr = testWriter{t}
	helper.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(env.UID), Gid: uint32(env.GID)},
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = helper.Process.Kill()
		_ = helper.Wait()
	})

	// Step 3: the modules, as containers with the bus's wiring; the filter
	// first, so that its input queue exists when readings come.
	for _, m := range []struct{ name, image string }{{"filter", "filter"}, {"sensor", "tempsensor"}} {
		var w extension.Wiring
		p := filepath.Join(dir, "wiring-"+m.name+".json")
		waitFor(t, "the wiring of "+m.name, func() bool {
			b, err := os.ReadFile(p)
			return err == nil && json.Unmarshal(b, &w) == nil
		})
		args := []string{"run", "-d", "--name", "bus-" + m.name, "--network", "none", "--log-driver", "k8s-file"}
		for k, v := range w.Env {
			args = append(args, "-e", k+"="+v)
		}
		for _, mt := range w.Mounts {
			opt := mt.Source + ":" + mt.Target
			if mt.ReadOnly {
				opt += ":ro"
			}
			args = append(args, "-v", opt)
		}
		args = append(args, "localhost/edgeplane/"+m.image+":dev")
		if _, err := env.Podman(ctx, args...); err != nil {
			t.Fatal(err)
		}
		if m.name == "filter" {
			waitForOr(t, "the filter to apply its threshold", func() bool {
				out, _ := env.Command(ctx, "podman", "logs", "bus-filter").CombinedOutput()
				return strings.Contains(string(out), "threshold applied")
			}, func() {
				out, _ := env.Command(ctx, "podman", "ps", "-a").CombinedOutput()
				logs, _ := env.Command(ctx, "podman", "logs", "bus-filter").CombinedOutput()
				t.Logf("podman ps -a:\n%s\nfilter logs:\n%s", out, logs)
			})
		}
	}

	// Step 4: alerts arrive upstream with their properties.
	waitFor(t, "alerts upstream from the containers", func() bool { return len(cl.received()) >= 5 })
	for i, m := range cl.received() {
		var r struct{ Temperature float64 }
		if err := json.Unmarshal(m.Body, &r); err != nil || r.Temperature <= 25 {
			t.Errorf("message %d: body %s, want a temperature above 25", i, m.Body)
		}
		if m.Module != "filter" || m.Properties["alert"] != "true" || m.ConnectionModuleID != "filter" {
			t.Errorf("message %d: got module %q alert %q connection module %q, want filter, true, filter",
				i, m.Module, m.Properties["alert"], m.ConnectionModuleID)
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitForOr is waitFor that calls explain before failing.
func waitForOr(t *testing.T, what string, cond func() bool, explain func()) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			explain()
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// buildModuleImages builds the example module images as env's user, as
// `make module-images` does.
func buildModuleImages(ctx context.Context, t *testing.T, env *podmantest.Env) {
	t.Helper()
	build := filepath.Join(env.Dir, "bus-images")
	if err := os.MkdirAll(build, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"tempsensor", "filter"} {
		copyFile(t, exampleBinary(t, m), filepath.Join(build, m), 0o755)
		cf := filepath.Join("..", "..", "examples", "modules", m, "Containerfile")
		if _, err := env.Podman(ctx, "build", "-q", "-f", mustAbs(t, cf), "-t", "localhost/edgeplane/"+m+":dev", build); err != nil {
			t.Fatal(err)
		}
	}
}
