package bus

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/router"
)

var (
	pluginOnce sync.Once
	pluginPath string
	pluginErr  error
)

// fastRoutePlugin builds fastroute/fastroute.c with gcc once per test run
// and returns the plugin's path.
func fastRoutePlugin(tb testing.TB) string {
	tb.Helper()
	pluginOnce.Do(func() {
		if _, err := os.Stat("/usr/include/mosquitto_broker.h"); err != nil {
			pluginErr = fmt.Errorf("%v: install Debian's mosquitto-dev and libmosquitto-dev (make deps)", err)
			return
		}
		dir, err := os.MkdirTemp("", "epbus-plugin")
		if err != nil {
			pluginErr = err
			return
		}
		pluginPath = filepath.Join(dir, "edgeplane-fastroute.so")
		out, err := exec.Command("gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
			"-o", pluginPath, "fastroute/fastroute.c").CombinedOutput()
		if err != nil {
			pluginErr = fmt.Errorf("building the fast-route plugin: %v\n%s", err, out)
		}
	})
	if pluginErr != nil {
		tb.Fatal(pluginErr)
	}
	return pluginPath
}

func TestFastRouteTable(t *testing.T) {
	tests := []struct {
		name   string
		routes []api.Route
		want   string
	}{
		{"one input", []api.Route{rt("r", "a/o", "b/i", "")}, "a o b i\n"},
		{"fan-out, once each", []api.Route{rt("r1", "a/o", "b/i", ""), rt("r2", "a/o", "c/i", ""),
			rt("r3", "a/o", "b/i", "")}, "a o b i c i\n"},
		{"a condition leaves the output to the router", []api.Route{rt("r1", "a/o", "b/i", ""),
			rt("r2", "a/o", "c/i", "x = 1")}, ""},
		{"$upstream leaves it to the router", []api.Route{rt("r1", "a/o", "b/i", ""),
			rt("r2", "a/o", "$upstream", "")}, ""},
		{"a wildcard route counts", []api.Route{rt("r1", "a/o", "b/i", ""),
			{Name: "all", Text: "FROM /messages/modules/a/* INTO $upstream"}}, ""},
		{"a wildcard route of another module does not", []api.Route{rt("r1", "a/o", "b/i", ""),
			{Name: "all", Text: "FROM /messages/modules/z/* INTO $upstream"}}, "a o b i\n"},
		{"a wildcard alone is the router's", []api.Route{{Name: "w",
			Text: `FROM /messages/modules/a/* INTO BrokeredEndpoint("/modules/b/inputs/i")`}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fastRouteTable("dev 1", tt.routes)
			if err != nil {
				t.Fatal(err)
			}
			want := "edgeplane-fastroutes 1\ndevice dev%201\n" + tt.want
			if string(got) != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// The plugin must deliver exactly what the router delivers. Every bag of
// the corpus goes out on two outputs of module a: o1, routed in the broker,
// and o2, routed by the router (its route has a condition that is always
// true). Module b must get each on both inputs or on neither, with the same
// property bag.
func TestFastRoutesDeliverWhatTheRouterDelivers(t *testing.T) {
	requireMosquitto(t)
	ds := &api.DesiredState{DeviceID: "dev1",
		Modules: []api.Module{{Name: "a"}, {Name: "b"}},
		Routes: []api.Route{rt("fast", "a/o1", "b/in1", ""),
			rt("slow", "a/o2", "b/in2", "$connectionModuleId = 'a'")}}
	tb := startBusWith(t, shortTempDir(t), ds, fastRoutePlugin(t))

	var mu sync.Mutex
	got := map[string]map[string]string{} // input → payload → bag
	recv := rawClient(t, tb, "b", func(_ mqtt.Client, m mqtt.Message) {
		lv := strings.SplitN(m.Topic(), "/", 5)
		bag := ""
		if len(lv) == 5 {
			bag = lv[4]
		}
		mu.Lock()
		if got[lv[3]] == nil {
			got[lv[3]] = map[string]string{}
		}
		got[lv[3]][string(m.Payload())] = bag
		mu.Unlock()
	})
	if tok := recv.Subscribe("modules/b/inputs/#", 1, nil); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	send := rawClient(t, tb, "a", nil)

	// Plain messages on the fast output never reach the router.
	for i := range 10 {
		publish(t, send, "modules/a/outputs/o1/%24.mid=m"+fmt.Sprint(i), []byte(fmt.Sprint("plain", i)))
	}
	waitFor(t, "ten plain messages", func() bool { mu.Lock(); defer mu.Unlock(); return len(got["in1"]) == 10 })
	if n := tb.Router().Stats().Received; n != 0 {
		t.Fatalf("the router received %d messages of the fast output, want 0", n)
	}

	corpus := []string{
		"",
		"%24.ct=application%2Fjson&%24.ce=utf-8&%24.mid=m1",
		"unit=C&odd=a%2Fb%26c%3Dd",
		"%24.cmid=evil&%24.cdid=x&%24.on=zzz",
		"b=2&a=1",
		"%24.ct=",
		"a=",
		"%24.mid=m&%24.mid=n",
		"a=1&a=2",
		"%24.zz=1",
		"a=%2f",
		"a=%41",
		"sp=a%20b",
		"semi=a;b",
		"&a=1",
		"a=1&",
		"noval",
		"%24.uid=u&z=9&A=1&_=2&~x=3&-=4",
		"k%2Dx=1",
		"%zz=1",
		"ü=1",
		"%24.cid=c%C3%BC&%24.ct=text%2Fplain&%24.uid=",
	}
	corpus = append(corpus, randomBags(400)...)
	for i, bag := range corpus {
		for _, out := range []string{"o1", "o2"} {
			tp := "modules/a/outputs/" + out
			if bag != "" {
				tp += "/" + bag
			}
			publish(t, send, tp, []byte(fmt.Sprint(i)))
		}
	}
	// A last message on each output marks the end. Both go through the
	// router, which keeps a sender's order ("%31" is not how the encoder
	// writes "1", so the broker leaves it to the router): on o1 the messages
	// the broker routed were queued for b before the marker was even sent.
	publish(t, send, "modules/a/outputs/o1/end=%31", []byte("end"))
	publish(t, send, "modules/a/outputs/o2/end=%31", []byte("end"))
	waitFor(t, "the end markers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		_, e1 := got["in1"]["end"]
		_, e2 := got["in2"]["end"]
		return e1 && e2
	})

	mu.Lock()
	defer mu.Unlock()
	delivered := 0
	for i, bag := range corpus {
		fast, okFast := got["in1"][fmt.Sprint(i)]
		slow, okSlow := got["in2"][fmt.Sprint(i)]
		if okFast != okSlow {
			t.Errorf("bag %q: delivered in the broker %v, by the router %v", bag, okFast, okSlow)
			continue
		}
		if okSlow {
			delivered++
		}
		if want := strings.Replace(slow, "%24.on=o2", "%24.on=o1", 1); fast != want {
			t.Errorf("bag %q: in the broker %q, by the router %q", bag, fast, want)
		}
	}
	// The router saw every o2 message and the o1 messages the broker left
	// to it; the rest of o1 was routed in the broker.
	inBroker := 2*len(corpus) + 2 - int(tb.Router().Stats().Received)
	t.Logf("%d of %d bags delivered; %d routed in the broker", delivered, len(corpus), inBroker)
	if delivered < len(corpus)/4 || inBroker < len(corpus)/10 {
		t.Errorf("%d of %d bags delivered, %d routed in the broker: the corpus lost its point",
			delivered, len(corpus), inBroker)
	}
}

// A route change reaches the plugin without a restart: a condition hands
// the output to the router, a second route fans it out in the broker, and a
// removed route stops it.
func TestFastRoutesFollowRouteChanges(t *testing.T) {
	requireMosquitto(t)
	ds := &api.DesiredState{DeviceID: "dev1", Version: 1,
		Modules: []api.Module{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		Routes:  []api.Route{rt("r", "a/o", "b/i", "")}}
	tb := startBusWith(t, shortTempDir(t), ds, fastRoutePlugin(t))
	pid1, _ := os.ReadFile(filepath.Join(tb.dir, "mosquitto.pid"))

	var mu sync.Mutex
	got := map[string][]string{}
	for _, m := range []string{"b", "c"} {
		c := rawClient(t, tb, m, func(_ mqtt.Client, msg mqtt.Message) {
			mu.Lock()
			got[m] = append(got[m], string(msg.Payload()))
			mu.Unlock()
		})
		if tok := c.Subscribe("modules/"+m+"/inputs/#", 1, nil); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	send := rawClient(t, tb, "a", nil)
	count := func(m string) int { mu.Lock(); defer mu.Unlock(); return len(got[m]) }
	apply := func(v int64, routes ...api.Route) {
		t.Helper()
		d := &api.DesiredState{DeviceID: "dev1", Version: v, Modules: ds.Modules, Routes: routes}
		if err := tb.Apply(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}

	publish(t, send, "modules/a/outputs/o", []byte("1"))
	waitFor(t, "b's first message", func() bool { return count("b") == 1 })
	if n := tb.Router().Stats().Received; n != 0 {
		t.Errorf("the router received %d, want 0: the route is the broker's", n)
	}

	apply(2, rt("r", "a/o", "b/i", "$connectionModuleId = 'a'"))
	publish(t, send, "modules/a/outputs/o", []byte("2"))
	// The router counts a message after b has it, so wait for both.
	waitFor(t, "b's message, counted by the router (the route has a condition now)", func() bool {
		return count("b") == 2 && tb.Router().Stats().Received == 1
	})

	apply(3, rt("r", "a/o", "b/i", ""), rt("r2", "a/o", "c/i", ""))
	before := tb.Router().Stats().Received
	cb := count("c")
	publish(t, send, "modules/a/outputs/o", []byte("3"))
	waitFor(t, "the fan-out to b and c", func() bool { return count("c") > cb && count("b") == 3 })
	if n := tb.Router().Stats().Received; n != before {
		t.Errorf("the router received %d more, want none: both routes are the broker's", n-before)
	}

	apply(4)
	bb, cc := count("b"), count("c")
	publish(t, send, "modules/a/outputs/o", []byte("4"))
	waitFor(t, "the router to drop the unrouted message", func() bool {
		return tb.Router().Stats().Dropped[router.DropNoRoute] > 0
	})
	if count("b") != bb || count("c") != cc {
		t.Errorf("a message without a route was delivered")
	}
	if pid2, _ := os.ReadFile(filepath.Join(tb.dir, "mosquitto.pid")); string(pid2) != string(pid1) {
		t.Errorf("the broker was restarted (pid %s, then %s), want a reload", pid1, pid2)
	}
}

// randomBags returns n bags made of pieces that the bag rules treat
// differently (system and application keys, escapes of every kind, broken
// ones, separators), the same n on every run.
func randomBags(n int) []string {
	keys := []string{"%24.ct", "%24.ce", "%24.mid", "%24.cid", "%24.uid", "%24.cdid", "%24.cmid", "%24.on",
		"%24.zz", "%24", "a", "b", "B", "_x", "~t", "-", "k.y", "a%2Db", "%41", "", "ü"}
	vals := []string{"", "1", "x", "%2F", "%2f", "%41", "%20", "%", "%G1", "a%26b", "~._-", "%C3%BC",
		"ü", "a;b", "%3B", "text%2Fplain", "z"}
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]string, 0, n)
	for range n {
		var b strings.Builder
		for i := range 1 + r.IntN(5) {
			if i > 0 || r.IntN(8) == 0 {
				b.WriteByte('&')
			}
			b.WriteString(keys[r.IntN(len(keys))])
			if r.IntN(10) > 0 {
				b.WriteByte('=')
				b.WriteString(vals[r.IntN(len(vals))])
			}
		}
		if r.IntN(10) == 0 {
			b.WriteByte('&')
		}
		out = append(out, b.String())
	}
	return out
}
