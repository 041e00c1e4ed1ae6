package bus

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/internal/mqttconn"
	"github.com/edgeplane/edgeplane/sdk"
)

// The bus benchmarks measure, in one run, the routed path (module → broker
// → router → broker → module) and one raw hop through a plain Mosquitto
// (publisher → broker → subscriber) with the same publisher, payload
// (256 bytes) and QoS 1. `make bench-bus` runs them.

const benchPayload = 256

// rawBroker starts a plain Mosquitto on a Unix socket, anonymous, with the
// bus's queue limits, and returns its URL.
func rawBroker(tb testing.TB) string {
	tb.Helper()
	if _, err := os.Stat(DefaultMosquitto); err != nil {
		tb.Fatalf("%s missing: install the Debian package mosquitto", DefaultMosquitto)
	}
	dir := shortTempDir(tb)
	sock := filepath.Join(dir, "raw.sock")
	conf := fmt.Sprintf("listener 0 %s\nallow_anonymous true\nmax_queued_messages %d\nmax_inflight_messages %d\n",
		sock, DefaultLimits.MaxQueuedMessages, DefaultLimits.MaxInflightMessages)
	if os.Geteuid() == 0 {
		conf = "user root\n" + conf
	}
	if err := os.WriteFile(filepath.Join(dir, "m.conf"), []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(DefaultMosquitto, "-c", filepath.Join(dir, "m.conf"))
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return "unix://" + sock
}

func connectRaw(tb testing.TB, url, id, user, pass string, onMsg mqtt.MessageHandler) mqtt.Client {
	tb.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetCleanSession(true).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond)
	// The same connection as the router and the SDK use, so that the
	// baseline gains whatever the client side gains.
	mqttconn.Use(o, url)
	if onMsg != nil {
		o.SetDefaultPublishHandler(onMsg)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		tb.Fatal(tok.Error())
	}
	tb.Cleanup(func() { c.Disconnect(50) })
	return c
}

// pump publishes n messages on tp at QoS 1 with up to 1000 in flight.
// stamp, when set, writes the send time into each body; every is the pause
// between messages (0: as fast as possible).
func pump(tb testing.TB, c mqtt.Client, tp string, n int, every time.Duration) {
	tb.Helper()
	window := make([]mqtt.Token, 0, 1000)
	var tick *time.Ticker
	if every > 0 {
		tick = time.NewTicker(every)
		defer tick.Stop()
	}
	for i := 0; i < n; i++ {
		if tick != nil {
			<-tick.C
		}
		body := make([]byte, benchPayload)
		binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
		window = append(window, c.Publish(tp, 1, false, body))
		if len(window) == cap(window) {
			for _, t := range window {
				t.Wait()
			}
			window = window[:0]
		}
	}
	for _, t := range window {
		t.Wait()
	}
}

// sink counts messages and records their latency.
type sink struct {
	n    atomic.Int64
	want int64
	done chan struct{}
	lat  []time.Duration // written by the single handler goroutine
}

func newSink(want int) *sink {
	return &sink{want: int64(want), done: make(chan struct{}), lat: make([]time.Duration, 0, want)}
}

func (s *sink) got(body []byte) {
	if len(body) >= 8 {
		s.lat = append(s.lat, time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(body)))))
	}
	if s.n.Add(1) == s.want {
		close(s.done)
	}
}

func (s *sink) wait(tb testing.TB) {
	select {
	case <-s.done:
	case <-time.After(5 * time.Minute):
		tb.Fatalf("received %d of %d messages", s.n.Load(), s.want)
	}
}

// rawHop sends n messages through a plain broker and returns what the
// receiver saw.
func rawHop(tb testing.TB, url string, n int, every time.Duration) (*sink, time.Duration) {
	s := newSink(n)
	sub := connectRaw(tb, url, "rawsub", "", "", func(_ mqtt.Client, m mqtt.Message) { s.got(m.Payload()) })
	if tok := sub.Subscribe("raw/#", 1, nil); tok.Wait() && tok.Error() != nil {
		tb.Fatal(tok.Error())
	}
	pub := connectRaw(tb, url, "rawpub", "", "", nil)
	start := time.Now()
	pump(tb, pub, "raw/x", n, every)
	s.wait(tb)
	d := time.Since(start)
	sub.Disconnect(50)
	pub.Disconnect(50)
	return s, d
}

// benchBus starts the bus of the benchmarks as edgeplaned runs it, with the
// fast-route plugin, and module a's output "out" routed to module b's
// input "in". With where set the route has that condition, so that the
// router, not the broker, routes it.
func benchBus(b *testing.B, where string) *testBus {
	requireMosquitto(b)
	ds := &api.DesiredState{DeviceID: "dev1",
		Modules: []api.Module{{Name: "a"}, {Name: "b"}},
		Routes:  []api.Route{rt("r", "a/out", "b/in", where)}}
	return startBusWith(b, shortTempDir(b), ds, fastRoutePlugin(b))
}

// throughputRounds is how many times BenchmarkBusThroughput alternates the
// raw hop and the routed path. The machines this runs on are shared: a
// neighbour's burst can halve one measurement, so each round's ratio is
// taken from two back-to-back measurements and the median round is
// reported.
const throughputRounds = 5

// BenchmarkBusThroughput sends b.N messages of 256 bytes at QoS 1 through
// one raw Mosquitto hop and then module to module, throughputRounds times,
// and reports the median round's rates and ratio (goal: at least 0.5). The
// sub-benchmark "broker" has an unconditional route, which the fast-route
// plugin takes; "router" has a condition that always holds, so the router
// takes it.
func BenchmarkBusThroughput(b *testing.B) {
	b.Run("broker", func(b *testing.B) { benchThroughput(b, "") })
	b.Run("router", func(b *testing.B) { benchThroughput(b, "$connectionModuleId = 'a'") })
}

func benchThroughput(b *testing.B, where string) {
	requireMosquitto(b)
	raw := rawBroker(b)
	bus := benchBus(b, where)
	type round struct{ raw, routed, ratio float64 }
	rounds := make([]round, 0, throughputRounds)
	b.ResetTimer()
	for range throughputRounds {
		_, rawD := rawHop(b, raw, b.N, 0)
		_, routedD := routedHop(b, bus, b.N, 0)
		r := round{raw: float64(b.N) / rawD.Seconds(), routed: float64(b.N) / routedD.Seconds()}
		r.ratio = r.routed / r.raw
		rounds = append(rounds, r)
	}
	b.StopTimer()
	ratios := make([]string, len(rounds))
	for i, r := range rounds {
		ratios[i] = fmt.Sprintf("%.2f", r.ratio)
	}

	slices.SortFunc(rounds, func(x, y round) int { return cmp.Compare(x.ratio, y.ratio) })
	m := rounds[len(rounds)/2]
	b.ReportMetric(m.raw, "raw-msg/s")
	b.ReportMetric(m.routed, "routed-msg/s")
	b.ReportMetric(m.ratio, "routed/raw")
	// One line per run: go test keeps only the first lines a benchmark
	// logs.
	b.Logf("median of %d rounds of %d msgs: raw hop %.0f msg/s, routed %.0f msg/s, ratio %.2f (rounds in order: %s)",
		len(rounds), b.N, m.raw, m.routed, m.ratio, strings.Join(ratios, " "))
}

// BenchmarkBusLatency sends 3,000 messages at 1,000 msg/s through one raw
// hop and through the router and reports p50 and p99 of each. b.N is not
// used: the rate is fixed. Run it with -benchtime 1x.
func BenchmarkBusLatency(b *testing.B) {
	requireMosquitto(b)
	raw := rawBroker(b)
	bus := benchBus(b, "")
	const n = 3000
	b.ResetTimer()
	rs, _ := rawHop(b, raw, n, time.Millisecond)
	ps, _ := routedHop(b, bus, n, time.Millisecond)
	b.StopTimer()

	for _, x := range []struct {
		name string
		s    *sink
	}{{"raw", rs}, {"routed", ps}} {
		b.ReportMetric(float64(percentile(x.s.lat, 0.50).Microseconds()), x.name+"-p50-µs")
		b.ReportMetric(float64(percentile(x.s.lat, 0.99).Microseconds()), x.name+"-p99-µs")
	}
	b.Logf("at 1000 msg/s: raw p50 %v p99 %v; routed p50 %v p99 %v",
		percentile(rs.lat, 0.5), percentile(rs.lat, 0.99), percentile(ps.lat, 0.5), percentile(ps.lat, 0.99))
}

func routedHop(tb testing.TB, bus *testBus, n int, every time.Duration) (*sink, time.Duration) {
	s := newSink(n)
	cfgB, err := configFromEnvList(bus.ModuleEnv("b"))
	if err != nil {
		tb.Fatal(err)
	}
	mb := sdk.New(cfgB)
	mb.HandleInput("in", func(_ context.Context, m *sdk.Message) error { s.got(m.Body); return nil })
	if err := mb.Connect(context.Background()); err != nil {
		tb.Fatal(err)
	}
	defer mb.Close()
	cfgA, _ := configFromEnvList(bus.ModuleEnv("a"))
	pub := connectRaw(tb, cfgA.BrokerURL, "a", "a", cfgA.Secret, nil)
	start := time.Now()
	pump(tb, pub, "modules/a/outputs/out/", n, every)
	s.wait(tb)
	d := time.Since(start)
	pub.Disconnect(50)
	return s, d
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}
