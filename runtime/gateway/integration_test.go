package gateway_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/gateway"
	"github.com/edgeplane/edgeplane/runtime/podmantest"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	stop, err := setup(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs edgeplaned against rootless Podman and a hub")
	}
}

// TestDeviceLifecycle brings a device from empty to three modules, updates
// one, stops one, and back to empty, checking each step at the hub, in
// Podman, in the journal and in the systemd notifications.
func TestDeviceLifecycle(t *testing.T) {
	skipShort(t)
	dev, key := newDevice(t)
	d := newDaemon(t, dev, key)
	d.journal = true
	d.start()

	t.Run("ready and empty", func(t *testing.T) {
		st := eventually(t, dev, "agent reported, online", func(st *api.DeviceStatus) bool {
			return st.Agent != nil && st.Online
		})
		if st.Agent.Version == "" || st.Agent.StartedAt.IsZero() {
			t.Errorf("got agent %+v, want version and start time", st.Agent)
		}
		if _, ok := d.waitNotify("READY=1", false); !ok {
			t.Errorf("got no READY=1, want one after the first reconcile")
		}
	})

	for _, n := range []string{"a", "b", "c"} {
		m := testModule(n, nil)
		m.StartupOrder = int(n[0])
		putModule(t, dev, m)
	}
	t.Run("deploy", func(t *testing.T) {
		st := eventually(t, dev, "a, b, c running and applied", func(st *api.DeviceStatus) bool {
			return modulesRunning("a", "b", "c")(st) && st.AppliedVersion == st.DesiredVersion
		})
		for n, ms := range st.Modules {
			if ms.LastStart.IsZero() || ms.Image != podmantest.ModuleImage {
				t.Errorf("module %s: got %+v, want a start time and the image", n, ms)
			}
		}
		const want = "STATUS=3/3 modules running, hub connected"
		if got, ok := d.waitNotify(want, false); !ok {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("journal by module", func(t *testing.T) {
		waitJournal(t, "hello from b", "CONTAINER_NAME="+d.prefix+"b")
		waitJournal(t, "hello from b", "SYSLOG_IDENTIFIER=b")
	})

	t.Run("daemon journal fields", func(t *testing.T) {
		waitJournal(t, "started module", "DEVICE="+dev, "MODULE=a")
	})

	t.Run("update restarts only the changed module", func(t *testing.T) {
		a0, _ := inspect(t, d.prefix+"a")
		b0, _ := inspect(t, d.prefix+"b")
		m := testModule("b", map[string]string{"COLOUR": "blue"})
		m.StartupOrder = 'b'
		putModule(t, dev, m)
		eventually(t, dev, "b recreated and running", func(st *api.DeviceStatus) bool {
			c, ok := inspect(t, d.prefix+"b")
			return ok && c.ID != b0.ID && modulesRunning("b")(st) && st.AppliedVersion == st.DesiredVersion
		})
		if a1, _ := inspect(t, d.prefix+"a"); a1 != a0 {
			t.Errorf("a: got %+v, want untouched %+v", a1, a0)
		}
	})

	t.Run("stop", func(t *testing.T) {
		m := testModule("c", nil)
		m.StartupOrder = 'c'
		m.DesiredStatus = api.StatusStopped
		putModule(t, dev, m)
		eventually(t, dev, "c stopped", func(st *api.DeviceStatus) bool {
			c, ok := inspect(t, d.prefix+"c")
			return st.Modules["c"].Status == api.RuntimeStopped && ok && c.State != "running"
		})
	})

	t.Run("remove", func(t *testing.T) {
		if err := theHub.client.DeleteModule(t.Context(), dev, "a"); err != nil {
			t.Fatal(err)
		}
		eventually(t, dev, "a gone from Podman and the report", func(st *api.DeviceStatus) bool {
			_, ok := inspect(t, d.prefix+"a")
			_, reported := st.Modules["a"]
			return !ok && !reported
		})
	})

	t.Run("back to empty", func(t *testing.T) {
		for _, n := range []string{"b", "c"} {
			if err := theHub.client.DeleteModule(t.Context(), dev, n); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, dev, "no modules", func(st *api.DeviceStatus) bool {
			_, b := inspect(t, d.prefix+"b")
			_, c := inspect(t, d.prefix+"c")
			return len(st.Modules) == 0 && !b && !c && st.AppliedVersion == st.DesiredVersion
		})
	})
}

// TestKilledAndRestarted: SIGKILL leaves modules running; the next
// edgeplaned adopts them without restarting any.
func TestKilledAndRestarted(t *testing.T) {
	skipShort(t)
	dev, key := newDevice(t)
	putModule(t, dev, testModule("x", nil))
	putModule(t, dev, testModule("y", nil))
	d := newDaemon(t, dev, key)
	d.start()
	eventually(t, dev, "x and y running", modulesRunning("x", "y"))
	x0, _ := inspect(t, d.prefix+"x")
	y0, _ := inspect(t, d.prefix+"y")

	d.kill(syscall.SIGKILL)
	d.start()
	if _, ok := d.waitNotify("READY=1", false); !ok {
		t.Fatalf("got no READY=1 from the restarted edgeplaned")
	}
	// Several reconcile passes have run by now; nothing was restarted.
	time.Sleep(2 * time.Second)
	x1, _ := inspect(t, d.prefix+"x")
	y1, _ := inspect(t, d.prefix+"y")
	if x1 != x0 || y1 != y0 {
		t.Errorf("got x %+v y %+v, want untouched x %+v y %+v", x1, y1, x0, y0)
	}
}

// TestHubDownAtStart: a gateway that restarts without its hub runs the
// last stored state.
func TestHubDownAtStart(t *testing.T) {
	skipShort(t)
	dev, key := newDevice(t)
	putModule(t, dev, testModule("offline", nil))
	d := newDaemon(t, dev, key)
	d.start()
	eventually(t, dev, "offline running", modulesRunning("offline"))
	d.stop()

	// As after a reboot without network: no containers, no hub.
	if _, err := env.Podman(t.Context(), "rm", "-f", "-t", "0", d.prefix+"offline"); err != nil {
		t.Fatal(err)
	}
	port, err := podmantest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	d.hubURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	d.start()

	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if c, ok := inspect(t, d.prefix+"offline"); ok && c.State == "running" {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if c, ok := inspect(t, d.prefix+"offline"); !ok || c.State != "running" {
		t.Fatalf("got container %+v (exists %v), want it running from the stored state", c, ok)
	}
	status, ok := d.waitNotify("STATUS=1/1 modules running", true)
	if !ok || strings.Contains(status, "hub connected") {
		t.Errorf("got %q, want 1/1 modules running without the hub", status)
	}
}

// TestInvalidDesiredStateRejected: a state the gateway cannot satisfy is
// rejected whole and reported; the last good one keeps running.
func TestInvalidDesiredStateRejected(t *testing.T) {
	skipShort(t)
	dev, key := newDevice(t)
	putModule(t, dev, testModule("good", nil))
	d := newDaemon(t, dev, key)
	d.start()
	st := eventually(t, dev, "good running", func(st *api.DeviceStatus) bool {
		return modulesRunning("good")(st) && st.AppliedVersion == st.DesiredVersion
	})
	good := st.AppliedVersion
	c0, _ := inspect(t, d.prefix+"good")

	// A second module whose bind mount source does not exist on the gateway,
	// and a change to the good one: neither may be applied.
	bad := testModule("bad", nil)
	bad.CreateOptions = &api.CreateOptions{Mounts: []api.Mount{{
		Type: "bind", Source: "/nonexistent/edgeplane-test", Target: "/data",
	}}}
	putModule(t, dev, bad)
	putModule(t, dev, testModule("good", map[string]string{"CHANGED": "1"}))
	st = eventually(t, dev, "last error naming the bad mount", func(st *api.DeviceStatus) bool {
		return strings.Contains(st.LastError, "/nonexistent/edgeplane-test") && st.DesiredVersion > good
	})
	if st.AppliedVersion != good {
		t.Errorf("got applied version %d, want the last good %d", st.AppliedVersion, good)
	}
	time.Sleep(time.Second)
	if c1, _ := inspect(t, d.prefix+"good"); c1 != c0 {
		t.Errorf("good: got %+v, want untouched %+v", c1, c0)
	}
	if _, ok := inspect(t, d.prefix+"bad"); ok {
		t.Errorf("got a container for the rejected module, want none")
	}

	// Fixing it clears the error and applies.
	if err := theHub.client.DeleteModule(t.Context(), dev, "bad"); err != nil {
		t.Fatal(err)
	}
	eventually(t, dev, "applied, error cleared", func(st *api.DeviceStatus) bool {
		return st.LastError == "" && st.AppliedVersion == st.DesiredVersion && modulesRunning("good")(st)
	})
}

// TestCrashLoopReported: a crash-looping module is reported in back-off
// with its restart count, and does not hold up another module.
func TestCrashLoopReported(t *testing.T) {
	skipShort(t)
	dev, key := newDevice(t)
	putModule(t, dev, testModule("crasher", map[string]string{"MODE": "crash"}))
	putModule(t, dev, testModule("steady", nil))
	d := newDaemon(t, dev, key)
	d.start()
	sawBackoff := false
	eventually(t, dev, "crasher in back-off with restarts, steady running", func(st *api.DeviceStatus) bool {
		c := st.Modules["crasher"]
		if c.Status == api.RuntimeBackoff && c.ExitCode == 3 {
			sawBackoff = true
		}
		return sawBackoff && c.RestartCount >= 2 && modulesRunning("steady")(st)
	})

	// The counts are kept in the data directory, so a restart of
	// edgeplaned keeps the back-off (runtime/agent tests the restart).
	file := filepath.Join(d.dir, "data", gateway.CountsFileName)
	var counts struct {
		Modules map[string]struct{ Restarts int } `json:"modules"`
	}
	b, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(b, &counts)
	}
	if err != nil {
		t.Fatalf("restart counts in the data directory: %v", err)
	}
	if n := counts.Modules["crasher"].Restarts; n < 1 {
		t.Fatalf("%s holds %d restarts for crasher (%s), want at least 1", file, n, b)
	}
}

// TestPullFailuresReported: registry auth failure and a missing image are
// reported in the module's status; correct credentials pull and run.
func TestPullFailuresReported(t *testing.T) {
	skipShort(t)
	tests := []struct {
		name     string
		image    func() string
		password string
		want     string
	}{
		{"good credentials", func() string { return env.RegistryImage }, podmantest.RegistryPassword, api.RuntimeRunning},
		{"auth failure", func() string { return env.RegistryImage }, "wrong", api.RuntimeFailed},
		{"image not found", func() string { return env.Registry + "/edgeplane/absent:1" },
			podmantest.RegistryPassword, api.RuntimeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev, key := newDevice(t)
			if _, err := theHub.client.PutRegistry(t.Context(), dev, api.Registry{
				Name: "local", Server: env.Registry, Username: podmantest.RegistryUser, Password: tt.password,
			}, 0); err != nil {
				t.Fatal(err)
			}
			m := testModule("pulled", nil)
			m.Image, m.ImagePullPolicy = tt.image(), api.PullOnCreate
			putModule(t, dev, m)
			d := newDaemon(t, dev, key)
			d.start()
			eventually(t, dev, "pulled "+tt.want, func(st *api.DeviceStatus) bool {
				s := st.Modules["pulled"]
				if tt.want == api.RuntimeFailed {
					// Failed pulls are retried with back-off in between.
					return (s.Status == api.RuntimeFailed || s.Status == api.RuntimeBackoff) &&
						strings.Contains(s.Description, "pulling image")
				}
				return s.Status == tt.want
			})
		})
	}
}

// TestWatchdogFollowsPodman: watchdog pings flow while the Podman API
// answers, stop while it is down, and resume when it is back.
func TestWatchdogFollowsPodman(t *testing.T) {
	skipShort(t)
	dev, key := newDevice(t)
	putModule(t, dev, testModule("w", nil))

	// A Podman API service of our own, so that killing it disturbs no
	// other test.
	sock := filepath.Join(env.Dir, fmt.Sprintf("wd-%d.sock", time.Now().UnixNano()%1e9))
	startService := func() *exec.Cmd {
		os.Remove(sock)
		svc, err := env.StartService(t.Context(), sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-svc.Process.Pid, syscall.SIGKILL) })
		return svc
	}
	svc := startService()

	d := newDaemon(t, dev, key)
	d.podmanSocket = "unix://" + sock
	d.extraEnv = []string{"WATCHDOG_USEC=600000"} // a ping every 200 ms
	d.start()
	eventually(t, dev, "w running", modulesRunning("w"))
	waitPings := func(what string) {
		t.Helper()
		n0 := d.countNotify("WATCHDOG=1")
		deadline := time.Now().Add(60 * time.Second)
		for d.countNotify("WATCHDOG=1") < n0+3 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if got := d.countNotify("WATCHDOG=1"); got < n0+3 {
			t.Fatalf("%s: got %d new watchdog pings, want at least 3", what, got-n0)
		}
	}
	waitPings("healthy")

	t.Run("podman down", func(t *testing.T) {
		_ = syscall.Kill(-svc.Process.Pid, syscall.SIGKILL)
		if got, ok := d.waitStatus("Podman API failing"); !ok {
			t.Fatalf("got %q, want a status saying the Podman API fails", got)
		}
		// From here on Healthy fails until a reconcile succeeds, which
		// cannot happen while the service is down: no ping may follow.
		n := d.countNotify("WATCHDOG=1")
		time.Sleep(2 * time.Second)
		if got := d.countNotify("WATCHDOG=1"); got != n {
			t.Errorf("got %d watchdog pings while Podman was down, want 0", got-n)
		}
	})

	t.Run("podman back", func(t *testing.T) {
		startService()
		if got, ok := d.waitStatus("1/1 modules running, hub connected"); !ok {
			t.Fatalf("got %q, want 1/1 modules running, hub connected", got)
		}
		waitPings("recovered")
	})
}

// waitJournal waits until journalctl finds want in the lines matching all
// of matches.
func waitJournal(t *testing.T, want string, matches ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var out []byte
	for time.Now().Before(deadline) {
		var err error
		args := append([]string{"--no-pager", "-o", "cat"}, matches...)
		out, err = exec.CommandContext(t.Context(), "journalctl", args...).CombinedOutput()
		if err == nil && strings.Contains(string(out), want) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("journalctl %s: got %q, want a line containing %q", matches, tail(string(out), 5), want)
}
