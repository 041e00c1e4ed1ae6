package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/client"
	"github.com/edgeplane/edgeplane/runtime/podmantest"
)

// goTags are the build tags of the Podman bindings (docs/development.md).
const goTags = "remote exclude_graphdriver_btrfs btrfs_noversion exclude_graphdriver_devicemapper containers_image_openpgp"

// TestQuickStart runs the whole stack the quick start sets up: a real hub
// process, the device's modules, twins, routes and upstream put through
// the operator API, and edgeplaned as an unprivileged user with rootless
// Podman running the example module images. Filtered readings must reach
// the upstream broker, and a twin change from the hub must reach the
// running filter (its report comes back to the hub) without restarting
// its container.
func TestQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs rootless Podman, Mosquitto and the binaries")
	}
	requireMosquitto(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	env, err := podmantest.StartAs(ctx, containerUser)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	buildModuleImages(ctx, t, env)

	// Step 1: the binaries, where the user can run them.
	bins := filepath.Join(env.Dir, "bin")
	if err := os.MkdirAll(bins, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"edgeplane", "edgeplaned"} {
		cmd := exec.Command("go", "build", "-tags", goTags, "-o", filepath.Join(bins, c), "../../cmd/"+c)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", c, err, out)
		}
	}

	// Step 2: the hub, with an operator token, on a free port.
	hubDir := t.TempDir()
	addrFile := filepath.Join(hubDir, "addr")
	hub := exec.Command(filepath.Join(bins, "edgeplane"), "hub", "--listen", "127.0.0.1:0",
		"--data-dir", hubDir, "--addr-file", addrFile, "--long-poll-max", "5s")
	hub.Env = append(os.Environ(), "EDGEPLANE_HUB_TOKENS=op-token-for-tests")
	hub.Stderr = testWriter{t}
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = hub.Process.Kill()
		_ = hub.Wait()
	})
	var hubURL string
	waitFor(t, "the hub's address", func() bool {
		b, err := os.ReadFile(addrFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		hubURL = strings.TrimSpace(string(b))
		if !strings.Contains(hubURL, "://") {
			hubURL = "http://" + hubURL
		}
		return true
	})
	hc, err := client.New(client.Config{Endpoint: hubURL, Token: "op-token-for-tests"})
	if err != nil {
		t.Fatal(err)
	}

	// Step 3: the quick start's device, as Terraform would put it.
	cl := startCloud(t)
	const dev = "gw-1"
	d, err := hc.PutDevice(ctx, api.Device{ID: dev, Enabled: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Key == "" {
		if d, err = hc.GetDevice(ctx, dev); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []api.Module{
		{Name: "filter", Image: "localhost/edgeplane/filter:dev", ImagePullPolicy: api.PullNever, StartupOrder: 0},
		{Name: "sensor", Image: "localhost/edgeplane/tempsensor:dev", ImagePullPolicy: api.PullNever, StartupOrder: 1},
	} {
		if _, err := hc.PutModule(ctx, dev, m, 0); err != nil {
			t.Fatal(err)
		}
	}
	twins := map[string]string{"sensor": `{"interval_ms":20,"min":20,"max":30}`, "filter": `{"threshold":25}`}
	for m, desired := range twins {
		if _, err := hc.PutTwinDesired(ctx, dev, m, json.RawMessage(desired), 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []api.Route{
		rt("sensor-to-filter", "sensor/temperature", "filter/input1", "$body.temperature >= 0"),
		rt("alerts-upstream", "filter/output1", "$upstream", "alert = 'true'"),
	} {
		if _, err := hc.PutRoute(ctx, dev, r, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := hc.PutUpstream(ctx, dev, api.Upstream{URL: cl.url}, 0); err != nil {
		t.Fatal(err)
	}

	// Step 4: edgeplaned as the user.
	gw := filepath.Join(env.Dir, "gw")
	if err := os.MkdirAll(gw, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(gw, env.UID, env.GID); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("hub_url: %s\ndevice_id: %s\ndevice_key: %s\ndata_dir: %s\npodman_socket: %s\n"+
		"container_prefix: epqs-\nlog_level: info\n", hubURL, dev, d.Key, gw, env.Socket)
	confPath := filepath.Join(gw, "edgeplaned.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(confPath, env.UID, env.GID); err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command(filepath.Join(bins, "edgeplaned"), "--config", confPath,
		"--testing-timing", "tick=500ms,wait=2s,heartbeat=5s")
	daemon.Env = env.Environ()
	daemon.Stderr = testWriter{t}
	daemon.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(env.UID), Gid: uint32(env.GID)},
	}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = daemon.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = daemon.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = daemon.Process.Kill()
			<-done
		}
	})

	// Step 5: filtered readings arrive upstream.
	waitForOr(t, "alerts upstream", func() bool { return len(cl.received()) >= 5 }, func() {
		out, _ := env.Command(ctx, "podman", "ps", "-a").CombinedOutput()
		t.Logf("podman ps -a:\n%s", out)
	})
	for i, m := range cl.received() {
		var r struct{ Temperature float64 }
		if err := json.Unmarshal(m.Body, &r); err != nil || r.Temperature <= 25 {
			t.Errorf("message %d: body %s, want a temperature above 25", i, m.Body)
		}
		if m.Properties["alert"] != "true" {
			t.Errorf("message %d: alert %q, want true", i, m.Properties["alert"])
		}
	}

	// Step 6: a twin change reaches the running filter; its report comes
	// back to the hub; the container is the same one.
	id := func() string {
		out, err := env.Podman(ctx, "inspect", "--format", "{{.Id}}", "epqs-filter")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	before := id()
	if _, err := hc.PatchTwinDesired(ctx, dev, "filter", json.RawMessage(`{"threshold":29}`), 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the filter to report threshold 29 to the hub", func() bool {
		tw, err := hc.GetTwin(ctx, dev, "filter")
		return err == nil && jsonEq(tw.Reported, `{"threshold":29}`)
	})
	if after := id(); after != before {
		t.Errorf("the filter's container changed from %s to %s, want it kept", before, after)
	}
}
