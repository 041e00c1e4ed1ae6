package bus

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/bus/topic"
	"github.com/edgeplane/edgeplane/runtime/router"
	"github.com/edgeplane/edgeplane/sdk"
)

func twoModules() *api.DesiredState {
	return &api.DesiredState{
		DeviceID: "dev1",
		Modules:  []api.Module{{Name: "sensor"}, {Name: "filter"}},
		Routes:   []api.Route{rt("r1", "sensor/temp", "filter/in1", "")},
	}
}

// inbox collects input messages of a module.
type inbox struct {
	mu   sync.Mutex
	msgs []*sdk.Message
	ch   chan *sdk.Message
}

func newInbox() *inbox { return &inbox{ch: make(chan *sdk.Message, 10000)} }

func (b *inbox) handle(_ context.Context, m *sdk.Message) error {
	b.ch <- m
	return nil
}

func (b *inbox) next(t *testing.T) *sdk.Message {
	t.Helper()
	select {
	case m := <-b.ch:
		return m
	case <-time.After(time.Minute):
		t.Fatal("gave up waiting for an input message")
		return nil
	}
}

func TestModuleToModule(t *testing.T) {
	tb := startBus(t, twoModules())
	in := newInbox()
	tb.module(t, "filter", func(c *sdk.Client) { c.HandleInput("in1", in.handle) })
	sensor := tb.module(t, "sensor", nil)

	sent := &sdk.Message{
		Body: []byte(`{"t":21.5}`), ContentType: "application/json", ContentEncoding: "utf-8",
		MessageID: "m1", CorrelationID: "c1",
		Properties: map[string]string{"unit": "C", "odd key": "a/b&c=d"},
		// A module cannot pretend to be another one.
		ConnectionModuleID: "filter",
	}
	if err := sensor.SendOutput(t.Context(), "temp", sent); err != nil {
		t.Fatal(err)
	}
	got := in.next(t)
	checks := []struct{ name, got, want string }{
		{"body", string(got.Body), `{"t":21.5}`},
		{"content type", got.ContentType, "application/json"},
		{"content encoding", got.ContentEncoding, "utf-8"},
		{"message id", got.MessageID, "m1"},
		{"correlation id", got.CorrelationID, "c1"},
		{"connection module", got.ConnectionModuleID, "sensor"},
		{"connection device", got.ConnectionDeviceID, "dev1"},
		{"output", got.OutputName, "temp"},
		{"input", got.Input, "in1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if !maps.Equal(got.Properties, sent.Properties) {
		t.Errorf("properties: got %v, want %v", got.Properties, sent.Properties)
	}
}

// rawClient connects a plain MQTT client with module's credential, as a
// module in another language would.
func rawClient(t *testing.T, tb *testBus, module string, onMsg mqtt.MessageHandler) mqtt.Client {
	t.Helper()
	cfg, err := configFromEnvList(tb.ModuleEnv(module))
	if err != nil {
		t.Fatal(err)
	}
	o := mqtt.NewClientOptions().AddBroker(cfg.BrokerURL).SetClientID(module).
		SetUsername(module).SetPassword(cfg.Secret).SetCleanSession(true).SetAutoReconnect(false)
	if onMsg != nil {
		o.SetDefaultPublishHandler(onMsg)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatalf("connecting %s: %v", module, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, tp string, body []byte) {
	t.Helper()
	if tok := c.Publish(tp, 1, false, body); tok.Wait() && tok.Error() != nil {
		t.Fatalf("publishing to %s: %v", tp, tok.Error())
	}
}

func TestACL(t *testing.T) {
	ds := twoModules()
	ds.Modules = append(ds.Modules, api.Module{Name: "evil"})
	ds.Routes = append(ds.Routes,
		rt("r2", "evil/out", "filter/in2", ""),
		rt("r3", "filter/done", "evil/back", ""))
	tb := startBus(t, ds)
	in := newInbox()
	filter := tb.module(t, "filter", func(c *sdk.Client) {
		c.HandleInput("in1", in.handle)
		c.HandleInput("in2", in.handle)
	})

	// evil tries to read the filter's inputs and twin answers and to
	// write the sensor's output and the filter's twin.
	var mu sync.Mutex
	var seen []string
	back := make(chan struct{}, 10)
	evil := rawClient(t, tb, "evil", func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		seen = append(seen, m.Topic())
		mu.Unlock()
		if strings.HasPrefix(m.Topic(), "modules/evil/inputs/back/") {
			back <- struct{}{}
		}
	})
	for _, f := range []string{"modules/filter/inputs/#", "modules/filter/twin/res/+",
		"modules/filter/twin/desired", "modules/+/outputs/#", "modules/evil/inputs/#"} {
		if tok := evil.Subscribe(f, 1, nil); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	publish(t, evil, "modules/sensor/outputs/temp/", []byte("forged"))
	publish(t, evil, "modules/filter/twin/reported", []byte(`{"forged":true}`))
	publish(t, evil, "modules/filter/twin/get/x1", []byte{})
	// Then a message evil may send: it reaches the filter after anything
	// the broker let through from evil before it.
	publish(t, evil, "modules/evil/outputs/out/", []byte("allowed"))

	if got := in.next(t); string(got.Body) != "allowed" || got.Input != "in2" {
		t.Errorf("filter got %q on %s, want \"allowed\" on in2 (a forged message came through)", got.Body, got.Input)
	}
	// The filter answers on its own output, routed to evil/back: by the
	// time evil has that, the broker delivered every earlier message that
	// evil was allowed to read.
	if err := filter.SendOutput(t.Context(), "done", &sdk.Message{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := filter.Twin(t.Context()); err != nil { // filter's twin answer must not leak
		t.Fatal(err)
	}
	if err := filter.SendOutput(t.Context(), "done", &sdk.Message{Body: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	<-back
	<-back
	mu.Lock()
	defer mu.Unlock()
	for _, tp := range seen {
		if !strings.HasPrefix(tp, "modules/evil/inputs/") {
			t.Errorf("evil read %q, want only its own inputs", tp)
		}
	}
	select {
	case p := <-tb.rep.ch:
		t.Errorf("forged reported patch reached the hub: %+v", p)
	default:
	}

	// A wrong secret is refused.
	cfg, _ := configFromEnvList(tb.ModuleEnv("evil"))
	o := mqtt.NewClientOptions().AddBroker(cfg.BrokerURL).SetClientID("evil").
		SetUsername("filter").SetPassword(cfg.Secret).SetConnectRetry(false)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); tok.Wait() && tok.Error() == nil {
		c.Disconnect(0)
		t.Error("connecting as filter with evil's secret: got success, want refusal")
	}
}

func TestBadInputKeepsWorking(t *testing.T) {
	ds := twoModules()
	ds.Routes = append(ds.Routes, rt("json", "sensor/json", "filter/in1", "$body.t > 0"))
	tb := startBus(t, ds)
	in := newInbox()
	tb.module(t, "filter", func(c *sdk.Client) { c.HandleInput("in1", in.handle) })
	raw := rawClient(t, tb, "sensor", nil)

	publish(t, raw, "modules/sensor/outputs/temp/%zz", []byte("bad escape"))
	publish(t, raw, "modules/sensor/outputs/temp/$.nope=1", []byte("unknown system key"))
	publish(t, raw, "modules/sensor/outputs/temp/", make([]byte, topic.MaxPayload+1))
	publish(t, raw, "modules/sensor/outputs/temp/a/b", []byte("unknown topic"))
	publish(t, raw, "modules/sensor/outputs/nowhere/", []byte("no route"))
	publish(t, raw, "modules/sensor/outputs/json/", []byte("not JSON"))
	publish(t, raw, "modules/sensor/outputs/temp/k=v", []byte("good"))

	got := in.next(t)
	if string(got.Body) != "good" {
		t.Fatalf("got %q, want the good message only", got.Body)
	}
	// Five reach the router: two bad bags, one without a route, one not
	// JSON, the good one.
	waitFor(t, "the router to count", func() bool { return tb.Router().Stats().Received >= 5 })
	st := tb.Router().Stats()
	want := map[string]uint64{router.DropBadBag: 2, router.DropNoRoute: 1, router.DropBodyNotJSON: 1}
	if !maps.Equal(st.Dropped, want) {
		t.Errorf("dropped: got %v, want %v (oversize and unknown topics are refused by the broker)", st.Dropped, want)
	}
	if st.Delivered != 1 {
		t.Errorf("delivered: got %d, want 1", st.Delivered)
	}
}

func TestModulesAddedAndRemoved(t *testing.T) {
	ds := twoModules()
	tb := startBus(t, ds)
	oldEnv := tb.ModuleEnv("sensor")
	oldCfg, _ := configFromEnvList(oldEnv)
	in := newInbox()
	filter := tb.module(t, "filter", func(c *sdk.Client) { c.HandleInput("in1", in.handle) })
	w1, _ := tb.Wiring("filter")
	pid1, err := os.ReadFile(filepath.Join(tb.dir, "mosquitto.pid"))
	if err != nil {
		t.Fatal(err)
	}

	// Add a module and a route, drop sensor: no restart of the broker or
	// the filter.
	ds2 := &api.DesiredState{DeviceID: "dev1", Version: 2,
		Modules: []api.Module{{Name: "filter"}, {Name: "late"}},
		Routes:  []api.Route{rt("r1", "late/o", "filter/in1", "")}}
	if err := tb.Apply(t.Context(), ds2); err != nil {
		t.Fatal(err)
	}
	late := tb.module(t, "late", nil)
	if err := late.SendOutput(t.Context(), "o", &sdk.Message{Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	if got := in.next(t); string(got.Body) != "hi" {
		t.Errorf("got %q, want hi", got.Body)
	}
	w2, _ := tb.Wiring("filter")
	if pid2, _ := os.ReadFile(filepath.Join(tb.dir, "mosquitto.pid")); string(pid2) != string(pid1) {
		t.Errorf("broker pid changed from %s to %s: it was restarted, want a reload", pid1, pid2)
	}
	if !equalWiring(w1, w2) {
		t.Errorf("wiring changed across Apply: %+v then %+v", w1, w2)
	}
	_ = filter

	if _, err := os.Stat(oldCfg.BrokerURL[len("unix://"):]); err != nil {
		t.Fatal(err)
	}
	o := mqtt.NewClientOptions().AddBroker(oldCfg.BrokerURL).SetClientID("sensor").
		SetUsername("sensor").SetPassword(oldCfg.Secret).SetConnectRetry(false)
	c := mqtt.NewClient(o)
	waitFor(t, "the removed module to be refused", func() bool {
		tok := c.Connect()
		tok.Wait()
		if tok.Error() == nil {
			c.Disconnect(0)
			return false
		}
		return true
	})
}

func equalWiring(a, b interface {
}) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestTwin(t *testing.T) {
	ds := twoModules()
	ds.Version = 1
	ds.Twins = map[string]api.DesiredTwin{"sensor": {Properties: json.RawMessage(`{"interval_ms":1000,"range":{"min":10,"max":30}}`), Version: 3}}
	tb := startBus(t, ds)

	changes := make(chan sdk.Desired, 10)
	sensor := tb.module(t, "sensor", func(c *sdk.Client) {
		c.OnDesired(func(_ context.Context, d sdk.Desired) { changes <- d })
	})
	next := func() sdk.Desired {
		t.Helper()
		select {
		case d := <-changes:
			return d
		case <-time.After(time.Minute):
			t.Fatal("gave up waiting for a desired change")
			return sdk.Desired{}
		}
	}

	// First the whole twin, read on connect.
	d := next()
	if d.Version != 3 || !jsonEq(d.Properties, `{"interval_ms":1000,"range":{"min":10,"max":30}}`) {
		t.Fatalf("first desired: got v%d %s, want v3 and the whole twin", d.Version, d.Properties)
	}
	tw, err := sensor.Twin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tw.Version != 3 {
		t.Errorf("Twin version: got %d, want 3", tw.Version)
	}

	// A change from the hub reaches the running module as a patch.
	ds2 := *ds
	ds2.Version = 2
	ds2.Twins = map[string]api.DesiredTwin{"sensor": {Properties: json.RawMessage(`{"interval_ms":500,"range":{"min":10}}`), Version: 4}}
	if err := tb.Apply(t.Context(), &ds2); err != nil {
		t.Fatal(err)
	}
	d = next()
	if d.Version != 4 || !jsonEq(d.Patch, `{"interval_ms":500,"range":{"max":null}}`) ||
		!jsonEq(d.Properties, `{"interval_ms":500,"range":{"min":10}}`) {
		t.Errorf("patch: got v%d patch %s props %s", d.Version, d.Patch, d.Properties)
	}

	// Reported patches go to the hub.
	if err := sensor.PatchReported(t.Context(), map[string]any{"interval_ms": 500}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-tb.rep.ch:
		if !jsonEq(p.Twins["sensor"], `{"interval_ms":500}`) {
			t.Errorf("reported: got %s, want {\"interval_ms\":500}", p.Twins["sensor"])
		}
	case <-time.After(time.Minute):
		t.Fatal("gave up waiting for the reported patch")
	}
	tw, err = sensor.Twin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEq(tw.Reported, `{"interval_ms":500}`) {
		t.Errorf("Twin reported: got %s", tw.Reported)
	}

	// A module that missed versions gets the whole twin: edgeplaned
	// restarts with a newer twin, and the module, still running, follows.
	ds3 := ds2
	ds3.Twins = map[string]api.DesiredTwin{"sensor": {Properties: json.RawMessage(`{"interval_ms":250}`), Version: 7}}
	tb.stop()
	startBusIn(t, tb.dir, &ds3)
	d = next()
	if d.Version != 7 || !jsonEq(d.Properties, `{"interval_ms":250}`) || !jsonEq(d.Patch, `{"interval_ms":250}`) {
		t.Errorf("after a gap: got v%d patch %s props %s, want the whole twin at v7", d.Version, d.Patch, d.Properties)
	}
}

func jsonEq(a json.RawMessage, b string) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	p, _ := json.Marshal(x)
	q, _ := json.Marshal(y)
	return string(p) == string(q)
}

// Inputs routed to a module before it first connects wait for it in the
// session the bus opened for it, and a removed module's session goes with
// it: added again, it starts empty.
func TestInputsKeptUntilFirstConnect(t *testing.T) {
	tb := startBus(t, twoModules())
	waitFor(t, "the filter's session", func() bool {
		_, err := os.Stat(filepath.Join(tb.dir, "sessions", "filter"))
		return err == nil
	})
	sensor := tb.module(t, "sensor", nil)
	send := func(body string) {
		t.Helper()
		if err := sensor.SendOutput(t.Context(), "temp", &sdk.Message{Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	delivered := func(n uint64) func() bool {
		return func() bool { return tb.Router().Stats().Delivered >= n }
	}
	for _, body := range []string{"one", "two", "three"} {
		send(body)
	}
	waitFor(t, "the router to deliver three messages", delivered(3))

	in := newInbox()
	filter := tb.module(t, "filter", func(c *sdk.Client) { c.HandleInput("in1", in.handle) })
	for _, want := range []string{"one", "two", "three"} {
		if got := in.next(t); string(got.Body) != want {
			t.Fatalf("got %q, want %q (in order)", got.Body, want)
		}
	}
	filter.Close()

	// Two more wait for the filter; then it is removed and added again.
	send("stale-1")
	send("stale-2")
	waitFor(t, "the router to deliver five messages", delivered(5))
	without := &api.DesiredState{DeviceID: "dev1", Version: 2, Modules: []api.Module{{Name: "sensor"}}}
	if err := tb.Apply(t.Context(), without); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tb.dir, "sessions", "filter")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("session marker of the removed filter: %v, want it gone", err)
	}
	again := twoModules()
	again.Version = 3
	if err := tb.Apply(t.Context(), again); err != nil {
		t.Fatal(err)
	}
	send("fresh")
	waitFor(t, "the router to deliver six messages", delivered(6))
	in = newInbox()
	tb.module(t, "filter", func(c *sdk.Client) { c.HandleInput("in1", in.handle) })
	if got := in.next(t); string(got.Body) != "fresh" {
		t.Fatalf("the filter added again got %q first, want %q: its old session was kept", got.Body, "fresh")
	}
}
