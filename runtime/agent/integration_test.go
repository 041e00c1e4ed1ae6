package agent_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/agent"
	"github.com/edgeplane/edgeplane/runtime/extension"
	"github.com/edgeplane/edgeplane/runtime/podmantest"
)

// env is the rootless Podman of this package's integration tests.
var env *podmantest.Env

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	var err error
	env, err = podmantest.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up rootless podman:", err)
		os.Exit(1)
	}
	code := m.Run()
	env.Close()
	os.Exit(code)
}

// testTiming keeps back-off short so that crash loops show in seconds.
var testTiming = agent.Timing{
	BackoffBase: time.Second,
	BackoffMax:  2 * time.Second,
	ResetAfter:  time.Hour,
	StopTimeout: 2 * time.Second,
}

func newAgent(t *testing.T, prefix string) *agent.Agent {
	t.Helper()
	return newAgentCounting(t, prefix, "")
}

// newAgentCounting is newAgent with restart counts kept in countsFile.
func newAgentCounting(t *testing.T, prefix, countsFile string) *agent.Agent {
	t.Helper()
	if testing.Short() {
		t.Skip("needs rootless Podman")
	}
	a, err := agent.New(t.Context(), agent.Config{
		Socket: env.Socket, Prefix: prefix, Timing: testTiming,
		Logger: testLogger(), CountsFile: countsFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// testLogger discards the agent's log unless EDGEPLANE_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("EDGEPLANE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// uniquePrefix gives each test its own containers.
func uniquePrefix(t *testing.T) string {
	return fmt.Sprintf("t%d-", time.Now().UnixNano()%1e9)
}

func module(name string, env map[string]string) api.Module {
	e := map[string]string{"MODULE_NAME": name}
	for k, v := range env {
		e[k] = v
	}
	return api.Module{Name: name, Image: podmantest.ModuleImage, Env: e, ImagePullPolicy: api.PullNever}
}

// until reconciles ds until cond holds or a generous deadline passes.
func until(t *testing.T, a *agent.Agent, ds *api.DesiredState, what string, cond func(map[string]api.ModuleStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last map[string]api.ModuleStatus
	for time.Now().Before(deadline) {
		if err := a.Reconcile(t.Context(), ds); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		last = a.Statuses()
		if cond(last) {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	b, _ := json.MarshalIndent(last, "", "  ")
	t.Fatalf("got statuses %s, want %s", b, what)
}

func allRunning(names ...string) func(map[string]api.ModuleStatus) bool {
	return func(s map[string]api.ModuleStatus) bool {
		for _, n := range names {
			if s[n].Status != api.RuntimeRunning {
				return false
			}
		}
		return true
	}
}

type inspected struct {
	ID      string
	Started string
	State   string
	Labels  map[string]string
}

// inspect returns the container's id, start time, state and labels, or
// ok=false when it does not exist.
func inspect(t *testing.T, name string) (inspected, bool) {
	t.Helper()
	out, err := env.Podman(t.Context(), "container", "inspect", "--format",
		"{{.ID}}|{{.State.StartedAt}}|{{.State.Status}}|{{json .Config.Labels}}", name)
	if err != nil {
		if strings.Contains(err.Error(), "no such container") {
			return inspected{}, false
		}
		t.Fatal(err)
	}
	parts := strings.SplitN(strings.TrimSpace(out), "|", 4)
	if len(parts) != 4 {
		t.Fatalf("unexpected inspect output %q", out)
	}
	var labels map[string]string
	_ = json.Unmarshal([]byte(parts[3]), &labels)
	return inspected{ID: parts[0], Started: parts[1], State: parts[2], Labels: labels}, true
}

func TestDeployUpdateStopRemove(t *testing.T) {
	prefix := uniquePrefix(t)
	a := newAgent(t, prefix)
	ds := &api.DesiredState{Version: 1, Modules: []api.Module{
		module("alpha", nil), module("beta", nil),
	}}

	t.Run("deploy", func(t *testing.T) {
		until(t, a, ds, "alpha and beta running", allRunning("alpha", "beta"))
		for _, n := range []string{"alpha", "beta"} {
			c, ok := inspect(t, prefix+n)
			if !ok {
				t.Fatalf("got no container %s, want one", prefix+n)
			}
			want := map[string]string{agent.LabelManaged: "true", agent.LabelModule: n}
			for k, v := range want {
				if c.Labels[k] != v {
					t.Errorf("%s: got label %s=%q, want %q", n, k, c.Labels[k], v)
				}
			}
			if len(c.Labels[agent.LabelSpecHash]) != 64 {
				t.Errorf("%s: got spec hash %q, want 64 hex digits", n, c.Labels[agent.LabelSpecHash])
			}
		}
	})

	t.Run("reported start time is stable", func(t *testing.T) {
		first := a.Statuses()["alpha"].LastStart
		if first.IsZero() {
			t.Fatal("got no last start for alpha, want one")
		}
		for range 3 {
			if err := a.Reconcile(t.Context(), ds); err != nil {
				t.Fatalf("reconcile: %v", err)
			}
		}
		if got := a.Statuses()["alpha"].LastStart; !got.Equal(first) {
			t.Errorf("got last start %s after more reconciles, want it unchanged at %s", got, first)
		}
	})

	t.Run("journal by module", func(t *testing.T) {
		for _, match := range []string{"CONTAINER_NAME=" + prefix + "alpha", "SYSLOG_IDENTIFIER=alpha"} {
			waitJournal(t, match, "hello from alpha")
		}
	})

	t.Run("restarted agent restarts nothing", func(t *testing.T) {
		before, _ := inspect(t, prefix+"alpha")
		b := newAgent(t, prefix)
		until(t, b, ds, "all running", allRunning("alpha", "beta"))
		after, _ := inspect(t, prefix+"alpha")
		if after.ID != before.ID || after.Started != before.Started {
			t.Errorf("got container %s started %s, want unchanged %s started %s",
				after.ID, after.Started, before.ID, before.Started)
		}
	})

	t.Run("update restarts only the changed module", func(t *testing.T) {
		alpha0, _ := inspect(t, prefix+"alpha")
		beta0, _ := inspect(t, prefix+"beta")
		ds = &api.DesiredState{Version: 2, Modules: []api.Module{
			module("alpha", nil), module("beta", map[string]string{"NEW": "1"}),
		}}
		until(t, a, ds, "beta recreated and running", func(s map[string]api.ModuleStatus) bool {
			c, ok := inspect(t, prefix+"beta")
			return ok && c.ID != beta0.ID && s["beta"].Status == api.RuntimeRunning
		})
		alpha1, _ := inspect(t, prefix+"alpha")
		if alpha1.ID != alpha0.ID || alpha1.Started != alpha0.Started {
			t.Errorf("alpha: got %s started %s, want untouched %s started %s",
				alpha1.ID, alpha1.Started, alpha0.ID, alpha0.Started)
		}
	})

	// Stopped and then running again, alpha keeps its container; with
	// restart policy never it still starts again, since it was stopped on
	// request rather than by exiting, and that is no restart. In between
	// a new agent (edgeplaned restarted) takes over from the counts file.
	counts := filepath.Join(t.TempDir(), "counts.json")
	t.Run("stop", func(t *testing.T) {
		a := newAgentCounting(t, prefix, counts)
		alpha0, _ := inspect(t, prefix+"alpha")
		ds = &api.DesiredState{Version: 3, Modules: []api.Module{
			module("alpha", nil), module("beta", map[string]string{"NEW": "1"}),
		}}
		ds.Modules[0].DesiredStatus = api.StatusStopped
		ds.Modules[0].RestartPolicy = api.RestartNever
		until(t, a, ds, "alpha stopped", func(s map[string]api.ModuleStatus) bool {
			c, ok := inspect(t, prefix+"alpha")
			return s["alpha"].Status == api.RuntimeStopped && ok && c.State != "running" &&
				s["beta"].Status == api.RuntimeRunning
		})
		if c, _ := inspect(t, prefix+"alpha"); c.ID != alpha0.ID {
			t.Errorf("alpha stopped in container %s, want its container %s kept", c.ID, alpha0.ID)
		}
	})

	t.Run("start again", func(t *testing.T) {
		a := newAgentCounting(t, prefix, counts)
		alpha0, _ := inspect(t, prefix+"alpha")
		ds = &api.DesiredState{Version: 4, Modules: []api.Module{
			module("alpha", nil), module("beta", map[string]string{"NEW": "1"}),
		}}
		ds.Modules[0].RestartPolicy = api.RestartNever
		until(t, a, ds, "alpha running again", func(s map[string]api.ModuleStatus) bool {
			return s["alpha"].Status == api.RuntimeRunning
		})
		c, _ := inspect(t, prefix+"alpha")
		if c.ID != alpha0.ID {
			t.Errorf("alpha runs in container %s, want its container %s kept", c.ID, alpha0.ID)
		}
		if got := a.Statuses()["alpha"].RestartCount; got != 0 {
			t.Errorf("restart count %d after a start on request, want 0", got)
		}
	})

	t.Run("remove", func(t *testing.T) {
		ds = &api.DesiredState{Version: 5, Modules: []api.Module{module("beta", map[string]string{"NEW": "1"})}}
		until(t, a, ds, "alpha gone", func(s map[string]api.ModuleStatus) bool {
			_, ok := inspect(t, prefix+"alpha")
			_, reported := s["alpha"]
			return !ok && !reported
		})
	})

	t.Run("orphan removed", func(t *testing.T) {
		if _, err := env.Podman(t.Context(), "create", "--name", prefix+"ghost",
			"--label", agent.LabelManaged+"=true", "--label", agent.LabelModule+"=ghost",
			podmantest.ModuleImage); err != nil {
			t.Fatal(err)
		}
		until(t, a, ds, "ghost removed", func(map[string]api.ModuleStatus) bool {
			_, ok := inspect(t, prefix+"ghost")
			return !ok
		})
	})

	t.Run("empty", func(t *testing.T) {
		until(t, a, &api.DesiredState{Version: 5}, "nothing left", func(s map[string]api.ModuleStatus) bool {
			_, ok := inspect(t, prefix+"beta")
			return !ok && len(s) == 0
		})
	})
}

func TestCrashLoopDoesNotBlockOthers(t *testing.T) {
	prefix := uniquePrefix(t)
	a := newAgent(t, prefix)
	t.Cleanup(func() { _ = a.RemoveAll(context.Background()) })
	crash := module("crasher", map[string]string{"MODE": "crash"})
	ds := &api.DesiredState{Version: 1, Modules: []api.Module{crash, module("steady", nil)}}

	sawBackoff := false
	until(t, a, ds, "crasher restarted at least twice with back-off, steady running",
		func(s map[string]api.ModuleStatus) bool {
			if s["crasher"].Status == api.RuntimeBackoff {
				sawBackoff = true
				if s["crasher"].ExitCode != 3 {
					t.Errorf("got exit code %d in back-off, want 3", s["crasher"].ExitCode)
				}
			}
			return sawBackoff && s["crasher"].RestartCount >= 2 && s["steady"].Status == api.RuntimeRunning
		})
}

// Restarting the agent (edgeplaned) keeps a crash-looping module's restart
// count, and with it the length of its back-off; an agent without the
// counts file starts again from zero, which is what the file prevents.
func TestRestartCountsSurviveAgentRestart(t *testing.T) {
	prefix := uniquePrefix(t)
	counts := filepath.Join(t.TempDir(), "counts.json")
	first := newAgentCounting(t, prefix, counts)
	t.Cleanup(func() { _ = first.RemoveAll(context.Background()) })
	ds := &api.DesiredState{Version: 1, Modules: []api.Module{module("crasher", map[string]string{"MODE": "crash"})}}
	until(t, first, ds, "crasher restarted at least twice", func(s map[string]api.ModuleStatus) bool {
		return s["crasher"].RestartCount >= 2
	})
	before := first.Statuses()["crasher"].RestartCount

	forgetful := newAgent(t, prefix)
	if err := forgetful.Reconcile(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	if got := forgetful.Statuses()["crasher"].RestartCount; got >= before {
		t.Fatalf("an agent without the counts file reports %d restarts; the test needs it below %d", got, before)
	}

	again := newAgentCounting(t, prefix, counts)
	if err := again.Reconcile(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	if got := again.Statuses()["crasher"].RestartCount; got < before {
		t.Fatalf("after a restart of the agent the crasher has %d restarts, want at least the %d it had", got, before)
	}
}

func TestRestartPolicies(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		mode   string
		want   string
	}{
		{"never after crash", api.RestartNever, "crash", api.RuntimeFailed},
		{"on-failure after clean exit", api.RestartOnFailure, "exit0", api.RuntimeStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := uniquePrefix(t)
			a := newAgent(t, prefix)
			t.Cleanup(func() { _ = a.RemoveAll(context.Background()) })
			m := module("m", map[string]string{"MODE": tt.mode})
			m.RestartPolicy = tt.policy
			ds := &api.DesiredState{Version: 1, Modules: []api.Module{m}}
			until(t, a, ds, "status "+tt.want, func(s map[string]api.ModuleStatus) bool {
				return s["m"].Status == tt.want && !s["m"].LastExit.IsZero()
			})
			// It stays down: more passes restart nothing.
			for range 5 {
				if err := a.Reconcile(t.Context(), ds); err != nil {
					t.Fatal(err)
				}
			}
			if got := a.Statuses()["m"]; got.Status != tt.want || got.RestartCount != 0 {
				t.Errorf("got %s with %d restarts, want %s with 0", got.Status, got.RestartCount, tt.want)
			}
		})
	}
}

func TestPull(t *testing.T) {
	tests := []struct {
		name     string
		image    string
		policy   string
		password string
		want     string // status
		wantDesc string // substring of the description
	}{
		{name: "with credentials", image: "registry", password: podmantest.RegistryPassword,
			want: api.RuntimeRunning},
		{name: "auth failure", image: "registry", password: "wrong", want: api.RuntimeFailed,
			wantDesc: "pulling image"},
		{name: "image not found in registry", image: "missing", password: podmantest.RegistryPassword,
			want: api.RuntimeFailed, wantDesc: "pulling image"},
		{name: "image not present, pull never", image: "localhost/ep-no-such-image:1", policy: api.PullNever,
			want: api.RuntimeFailed, wantDesc: "image_pull_policy is never"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := uniquePrefix(t)
			a := newAgent(t, prefix)
			t.Cleanup(func() { _ = a.RemoveAll(context.Background()) })
			image := tt.image
			switch image {
			case "registry":
				image = env.RegistryImage
			case "missing":
				image = env.Registry + "/edgeplane/absent:1"
			}
			m := module("p", nil)
			m.Image, m.ImagePullPolicy = image, tt.policy
			ds := &api.DesiredState{Version: 1, Modules: []api.Module{m}, Registries: []api.Registry{{
				Name: "local", Server: env.Registry, Username: podmantest.RegistryUser, Password: tt.password,
			}}}
			until(t, a, ds, "status "+tt.want, func(s map[string]api.ModuleStatus) bool {
				return s["p"].Status == tt.want && strings.Contains(s["p"].Description, tt.wantDesc)
			})
		})
	}
}

// TestUpdateKeepsRunningWhenPullFails: an update whose image cannot be
// pulled leaves the previous version running until the pull succeeds.
func TestUpdateKeepsRunningWhenPullFails(t *testing.T) {
	prefix := uniquePrefix(t)
	a := newAgent(t, prefix)
	t.Cleanup(func() { _ = a.RemoveAll(context.Background()) })
	reg := func(password string) []api.Registry {
		return []api.Registry{{Name: "local", Server: env.Registry, Username: podmantest.RegistryUser, Password: password}}
	}
	m := module("upd", nil)
	m.Image, m.ImagePullPolicy = env.RegistryImage, api.PullOnCreate
	ds := &api.DesiredState{Version: 1, Modules: []api.Module{m}, Registries: reg(podmantest.RegistryPassword)}
	until(t, a, ds, "upd running", allRunning("upd"))
	c0, _ := inspect(t, prefix+"upd")

	// New spec, and the registry refuses us.
	m2 := module("upd", map[string]string{"V": "2"})
	m2.Image, m2.ImagePullPolicy = env.RegistryImage, api.PullOnCreate
	ds = &api.DesiredState{Version: 2, Modules: []api.Module{m2}, Registries: reg("wrong")}
	until(t, a, ds, "update pending, old version running", func(s map[string]api.ModuleStatus) bool {
		return s["upd"].Status == api.RuntimeRunning && strings.Contains(s["upd"].Description, "update pending")
	})
	if c, _ := inspect(t, prefix+"upd"); c.ID != c0.ID || c.State != "running" {
		t.Fatalf("got container %+v, want the old one %s still running", c, c0.ID)
	}

	// The registry lets us in again: the update goes through.
	ds = &api.DesiredState{Version: 3, Modules: []api.Module{m2}, Registries: reg(podmantest.RegistryPassword)}
	until(t, a, ds, "upd recreated", func(s map[string]api.ModuleStatus) bool {
		c, ok := inspect(t, prefix+"upd")
		return ok && c.ID != c0.ID && s["upd"].Status == api.RuntimeRunning && s["upd"].Description == ""
	})
}

func TestLimitsOnThisHost(t *testing.T) {
	prefix := uniquePrefix(t)
	a := newAgent(t, prefix)
	t.Cleanup(func() { _ = a.RemoveAll(context.Background()) })
	m := module("limited", nil)
	m.CreateOptions = &api.CreateOptions{MemoryBytes: 64 << 20, CPUs: 0.5}
	ds := &api.DesiredState{Version: 1, Modules: []api.Module{m}}
	until(t, a, ds, "limited running", allRunning("limited"))

	// Either the limit is in force, or the status says why it is not.
	out, err := env.Podman(t.Context(), "container", "inspect", "--format", "{{.HostConfig.Memory}}", prefix+"limited")
	if err != nil {
		t.Fatal(err)
	}
	desc := a.Statuses()["limited"].Description
	enforced := strings.TrimSpace(out) == fmt.Sprint(64<<20)
	if !enforced && !strings.Contains(desc, "not enforced") {
		t.Errorf("got memory %s and description %q, want the limit or a note that it is not enforced", out, desc)
	}
}

func TestHealthCheckUnhealthyRestarts(t *testing.T) {
	prefix := uniquePrefix(t)
	a := newAgent(t, prefix)
	t.Cleanup(func() { _ = a.RemoveAll(context.Background()) })
	m := module("hc", map[string]string{"UNHEALTHY_FILE": "/module"}) // always present: always unhealthy
	m.RestartPolicy = api.RestartOnUnhealthy
	m.CreateOptions = &api.CreateOptions{HealthCheck: &api.HealthCheck{
		Test: []string{"CMD", "/module", "health"}, Interval: "1s", Retries: 1,
	}}
	ds := &api.DesiredState{Version: 1, Modules: []api.Module{m}}
	sawUnhealthy := false
	until(t, a, ds, "hc seen unhealthy and restarted", func(s map[string]api.ModuleStatus) bool {
		if s["hc"].Status == api.RuntimeUnhealthy {
			sawUnhealthy = true
		}
		return sawUnhealthy && s["hc"].RestartCount >= 1
	})
}

func TestStartupOrder(t *testing.T) {
	prefix := uniquePrefix(t)
	a := newAgent(t, prefix)
	t.Cleanup(func() { _ = a.RemoveAll(context.Background()) })
	// Name order is the reverse of startup order.
	mods := []api.Module{module("aa", nil), module("bb", nil), module("cc", nil)}
	mods[0].StartupOrder, mods[1].StartupOrder, mods[2].StartupOrder = 3, 2, 1
	ds := &api.DesiredState{Version: 1, Modules: mods}
	until(t, a, ds, "all running", allRunning("aa", "bb", "cc"))

	var started []time.Time
	for _, n := range []string{"cc", "bb", "aa"} {
		out, err := env.Podman(t.Context(), "container", "inspect", "--format",
			"{{.State.StartedAt.Format \"2006-01-02T15:04:05.999999999Z07:00\"}}", prefix+n)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(out))
		if err != nil {
			t.Fatal(err)
		}
		started = append(started, ts)
	}
	if !started[0].Before(started[1]) || !started[1].Before(started[2]) {
		t.Errorf("got start times cc %s, bb %s, aa %s; want them in startup order", started[0], started[1], started[2])
	}
}

// TestExtensionWiring: what extensions add reaches the container, and a
// change of it recreates the container.
func TestExtensionWiring(t *testing.T) {
	if testing.Short() {
		t.Skip("needs rootless Podman")
	}
	dir, err := os.MkdirTemp(env.Dir, "wiring-")
	if err != nil {
		t.Fatal(err)
	}
	value := "one"
	a, err := agent.New(t.Context(), agent.Config{
		Socket: env.Socket, Prefix: uniquePrefix(t), Timing: testTiming, Logger: testLogger(),
		Wiring: func(module string) ([]extension.Wiring, error) {
			return []extension.Wiring{{
				Env:    map[string]string{"EDGEPLANE_TEST_WIRING": value},
				Mounts: []api.Mount{{Type: "bind", Source: dir, Target: "/run/edgeplane/test", ReadOnly: true}},
			}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.RemoveAll(context.Background()) })
	ds := &api.DesiredState{Version: 1, Modules: []api.Module{module("wired", nil)}}
	until(t, a, ds, "wired running", allRunning("wired"))

	name := a.ContainerName("wired")
	out, err := env.Podman(t.Context(), "container", "inspect", "--format",
		"{{range .Config.Env}}{{println .}}{{end}}{{range .Mounts}}{{.Destination}} {{end}}", name)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"EDGEPLANE_TEST_WIRING=one", "/run/edgeplane/test"} {
		if !strings.Contains(out, want) {
			t.Errorf("got container config %q, want it to contain %q", out, want)
		}
	}

	c0, _ := inspect(t, name)
	value = "two"
	until(t, a, ds, "wired recreated", func(s map[string]api.ModuleStatus) bool {
		c, ok := inspect(t, name)
		return ok && c.ID != c0.ID && s["wired"].Status == api.RuntimeRunning
	})
}

// waitJournal waits until journalctl finds want in the lines matching match.
func waitJournal(t *testing.T, match, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var out []byte
	for time.Now().Before(deadline) {
		var err error
		out, err = exec.CommandContext(t.Context(), "journalctl", "--no-pager", "-o", "cat", match).CombinedOutput()
		if err == nil && strings.Contains(string(out), want) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("journalctl %s: got %q, want a line containing %q", match, out, want)
}
