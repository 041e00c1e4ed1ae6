package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/upstream"
)

// cloud is a second Mosquitto standing in for the upstream broker, on a
// free loopback TCP port, with a subscriber to everything.
type cloud struct {
	url  string
	mu   sync.Mutex
	msgs []upstream.Message
	ch   chan struct{}
}

func startCloud(t testing.TB) *cloud {
	t.Helper()
	requireMosquitto(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n", port)
	if os.Geteuid() == 0 {
		conf = "user root\n" + conf
	}
	if err := os.WriteFile(filepath.Join(dir, "cloud.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(DefaultMosquitto, "-c", filepath.Join(dir, "cloud.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	c := &cloud{url: fmt.Sprintf("tcp://127.0.0.1:%d", port), ch: make(chan struct{}, 1)}
	sub := connectRaw(t, c.url, "cloud-sub", "", "", func(_ mqtt.Client, m mqtt.Message) {
		_, um, err := upstream.ParseTopic("edgeplane", m.Topic())
		if err != nil {
			t.Errorf("cloud got a bad topic %q: %v", m.Topic(), err)
			return
		}
		um.Body = m.Payload()
		c.mu.Lock()
		c.msgs = append(c.msgs, um)
		c.mu.Unlock()
		select {
		case c.ch <- struct{}{}:
		default:
		}
	})
	if tok := sub.Subscribe("edgeplane/#", 1, nil); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return c
}

func (c *cloud) received() []upstream.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]upstream.Message(nil), c.msgs...)
}

// buildModules builds the example modules once per test binary run.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func exampleBinary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "epbus-modules")
		if buildErr != nil {
			return
		}
		for _, m := range []string{"tempsensor", "filter"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, m), "../../examples/modules/"+m)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("building %s: %v\n%s", m, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, name)
}

// runModule starts an example module as a process with the environment a
// container would get (host paths instead of the container's).
func runModule(t *testing.T, tb *testBus, name, binary string) {
	t.Helper()
	cmd := exec.Command(exampleBinary(t, binary))
	cmd.Env = append(os.Environ(), tb.ModuleEnv(name)...)
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// TestSensorFilterUpstream runs the quick start's modules: the sensor's
// readings go to the filter where a $body condition holds, the filter
// sends those above its threshold with alert=true, and a route on that
// property sends them to $upstream, here a second Mosquitto.
func TestSensorFilterUpstream(t *testing.T) {
	cl := startCloud(t)
	ds := &api.DesiredState{
		DeviceID: "dev1", Version: 1,
		Modules: []api.Module{{Name: "sensor"}, {Name: "filter"}},
		Routes: []api.Route{
			rt("to-filter", "sensor/temperature", "filter/input1", "$body.temperature >= 0"),
			rt("alerts-up", "filter/output1", "$upstream", "alert = 'true' AND $connectionModuleId = 'filter'"),
			// Never matches: the filter sends no "quiet" property.
			rt("quiet-up", "filter/output1", "$upstream", "quiet = 'true'"),
		},
		Twins: map[string]api.DesiredTwin{
			"sensor": {Properties: json.RawMessage(`{"interval_ms":10,"min":20,"max":30}`), Version: 1},
			"filter": {Properties: json.RawMessage(`{"threshold":25}`), Version: 1},
		},
		Upstream: &api.Upstream{URL: cl.url},
	}
	tb := startBus(t, ds)
	runModule(t, tb, "filter", "filter")
	// The filter's input queue exists once it connected (docs/bus.md).
	waitFor(t, "the filter's reported threshold", func() bool { return reportedHas(tb.rep, "filter", "threshold") })
	runModule(t, tb, "sensor", "tempsensor")

	const want = 20
	waitFor(t, "alerts upstream", func() bool { return len(cl.received()) >= want })
	for i, m := range cl.received() {
		var r struct{ Temperature float64 }
		if err := json.Unmarshal(m.Body, &r); err != nil {
			t.Fatalf("message %d: body %q: %v", i, m.Body, err)
		}
		if r.Temperature <= 25 || r.Temperature > 30 {
			t.Errorf("message %d: temperature %v, want in (25, 30]", i, r.Temperature)
		}
		checks := []struct{ what, got, want string }{
			{"module", m.Module, "filter"},
			{"output", m.Output, "output1"},
			{"alert", m.Properties["alert"], "true"},
			{"content type", m.ContentType, "application/json"},
			{"connection module", m.ConnectionModuleID, "filter"},
			{"connection device", m.ConnectionDeviceID, "dev1"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("message %d: %s: got %q, want %q", i, c.what, c.got, c.want)
			}
		}
		if !strings.HasPrefix(m.MessageID, "sensor-") {
			t.Errorf("message %d: message id %q, want the sensor's", i, m.MessageID)
		}
	}
	if !reportedHas(tb.rep, "sensor", "interval_ms") {
		t.Error("the sensor did not report its applied settings")
	}

	// A twin change reaches the running filter: above 30 nothing passes.
	ds2 := *ds
	ds2.Version = 2
	ds2.Twins = map[string]api.DesiredTwin{
		"sensor": ds.Twins["sensor"],
		"filter": {Properties: json.RawMessage(`{"threshold":30}`), Version: 2},
	}
	if err := tb.Apply(t.Context(), &ds2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the filter to report threshold 30", func() bool {
		tb.rep.mu.Lock()
		defer tb.rep.mu.Unlock()
		for _, p := range tb.rep.patches {
			if jsonEq(p.Twins["filter"], `{"threshold":30}`) {
				return true
			}
		}
		return false
	})
	before := tb.Router().Stats().Received
	n := len(cl.received())
	waitFor(t, "more readings to be routed", func() bool { return tb.Router().Stats().Received > before+50 })
	// Readings in flight while the threshold changed may still arrive.
	if got := len(cl.received()); got > n+5 {
		t.Errorf("after threshold 30: %d more alerts arrived, want none beyond those in flight", got-n)
	}
}

func reportedHas(r *reporter, module, key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.patches {
		var m map[string]any
		if json.Unmarshal(p.Twins[module], &m) == nil {
			if _, ok := m[key]; ok {
				return true
			}
		}
	}
	return false
}

// Helper process for TestKillMidStream: runs a bus in EPBUS_HELPER_DIR
// for the desired state in its ds.json until killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("EPBUS_HELPER_DIR"); dir != "" {
		os.Exit(helperMain(dir))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func helperMain(dir string) int {
	raw, err := os.ReadFile(filepath.Join(dir, "ds.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ds api.DesiredState
	if err := json.Unmarshal(raw, &ds); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, err := New(Config{DeviceID: ds.DeviceID, Dir: filepath.Join(dir, "bus")})
	if err == nil {
		err = b.Apply(context.Background(), &ds)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// What the container agent would ask for, for tests that run modules
	// as containers.
	for _, m := range ds.Modules {
		w, err := b.Wiring(m.Name)
		if err == nil {
			raw, _ := json.Marshal(w)
			err = os.WriteFile(filepath.Join(dir, "wiring-"+m.Name+".json"), raw, 0o600)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	_ = b.Run(context.Background(), nopReporter{})
	return 0
}

type nopReporter struct{}

func (nopReporter) Report(api.ReportedPatch) {}

// TestKillMidStream kills the process running the bus with SIGKILL while a
// module sends, starts it again, and checks that every message the runtime
// acknowledged to the module reaches the upstream broker.
func TestKillMidStream(t *testing.T) {
	cl := startCloud(t)
	dir := shortTempDir(t)
	ds := &api.DesiredState{
		DeviceID: "dev1", Version: 1,
		Modules:  []api.Module{{Name: "sensor"}},
		Routes:   []api.Route{rt("up", "sensor/out", "$upstream", "")},
		Upstream: &api.Upstream{URL: cl.url},
	}
	raw, _ := json.Marshal(ds)
	if err := os.WriteFile(filepath.Join(dir, "ds.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	busDir := filepath.Join(dir, "bus")

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "EPBUS_HELPER_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		return cmd
	}
	p1 := start()
	secret := filepath.Join(busDir, "secrets", "sensor")
	waitFor(t, "the sensor's secret", func() bool { _, err := os.Stat(secret); return err == nil })

	env := []string{EnvDeviceID + "=dev1", EnvModuleID + "=sensor",
		EnvBrokerURL + "=unix://" + filepath.Join(busDir, "sock", "broker.sock"), EnvSecretFile + "=" + secret}
	cfg, err := configFromEnvList(env)
	if err != nil {
		t.Fatal(err)
	}
	o := mqtt.NewClientOptions().AddBroker(cfg.BrokerURL).SetClientID("sensor").SetUsername("sensor").
		SetPassword(cfg.Secret).SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(500 * time.Millisecond)
	sensor := mqtt.NewClient(o)
	sensor.Connect()
	t.Cleanup(func() { sensor.Disconnect(50) })

	// Send in windows of 50; a message counts as acknowledged when its
	// PUBACK came back. Kill the bus after 1,000 acknowledged messages.
	const total = 3000
	acked := map[string]bool{}
	killed := false
	for seq := 0; len(acked) < total; {
		var toks []mqtt.Token
		var ids []string
		for range 50 {
			seq++
			id := strconv.Itoa(seq)
			ids = append(ids, id)
			toks = append(toks, sensor.Publish("modules/sensor/outputs/out/%24.mid="+id, 1, false, []byte(id)))
		}
		for i, tok := range toks {
			if tok.WaitTimeout(2*time.Second) && tok.Error() == nil {
				acked[ids[i]] = true
			}
		}
		if !killed && len(acked) >= 1000 {
			killed = true
			if err := p1.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = p1.Wait()
			waitBrokerGone(t, busDir)
			start()
		}
	}

	missing := func() []int {
		got := map[string]bool{}
		for _, m := range cl.received() {
			got[m.MessageID] = true
		}
		var ids []int
		for id := range acked {
			if !got[id] {
				n, _ := strconv.Atoi(id)
				ids = append(ids, n)
			}
		}
		slices.Sort(ids)
		return ids
	}
	deadline := time.Now().Add(time.Minute)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if m := missing(); len(m) > 0 {
		t.Fatalf("%d acknowledged messages never arrived upstream, first %v", len(m), m[:min(len(m), 20)])
	}
	t.Logf("%d acknowledged, %d received upstream (duplicates are allowed)", len(acked), len(cl.received()))
}

// waitBrokerGone waits until the Mosquitto of a killed bus has saved its
// state and exited.
func waitBrokerGone(t *testing.T, busDir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(busDir, "mosquitto.pid"))
	if err != nil {
		return // removed on exit
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	waitFor(t, "the old broker to exit", func() bool {
		p, err := os.FindProcess(pid)
		return err != nil || p.Signal(syscallZero) != nil
	})
}

var syscallZero = syscall.Signal(0)
