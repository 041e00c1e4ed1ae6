package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		crashChild()
		return
	}
	os.Exit(m.Run())
}

// newForwarder opens a forwarder in dir that the test closes at its end.
func newForwarder(t *testing.T, dir string) *Forwarder {
	t.Helper()
	log, _ := testLogger(t)
	f, err := New(dir, "gw1", log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.maxBackoff = time.Second
	t.Cleanup(func() { f.Close() })
	return f
}

// run starts f.Run until the end of the test.
func run(t *testing.T, f *Forwarder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: got %v, want nil", err)
		}
	})
}

func msg(id string, prio int) Message {
	return Message{
		Module: "sensor", Output: "temperature", MessageID: id, Priority: prio,
		ContentType: "application/json", Body: []byte(`{"id":"` + id + `"}`),
	}
}

func atoi(s string) int { i, _ := strconv.Atoi(s); return i }

func enqueue(t *testing.T, f *Forwarder, msgs ...Message) {
	t.Helper()
	if err := f.Enqueue(msgs...); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func TestDeliveryOrderByPriority(t *testing.T) {
	b := startBroker(t)
	col := b.subscribe(t, "order", false)
	f := newForwarder(t, t.TempDir())

	// Queued while no upstream is configured, then delivered at once.
	const n = 40
	var want []string
	for i := range n {
		m := msg(fmt.Sprintf("m%02d", i), (i*7)%10)
		m.Properties = map[string]string{"alert": "true", "a b": "x/y+z#"}
		m.CorrelationID = "c" + strconv.Itoa(i)
		enqueue(t, f, m)
	}
	for p := range 10 {
		for i := range n {
			if (i*7)%10 == p {
				want = append(want, fmt.Sprintf("m%02d", i))
			}
		}
	}
	if err := f.Configure(b.upstream()); err != nil {
		t.Fatal(err)
	}
	run(t, f)
	eventually(t, "all messages at the broker", func() bool { _, d := col.count(); return d == n })

	var got []string
	for _, r := range col.snapshot() {
		dev, m, err := ParseTopic(DefaultTopicPrefix, r.topic)
		if err != nil {
			t.Fatal(err)
		}
		if dev != "gw1" || m.Module != "sensor" || m.Output != "temperature" ||
			m.ContentType != "application/json" || m.Properties["alert"] != "true" ||
			m.Properties["a b"] != "x/y+z#" || m.CorrelationID != "c"+strconv.Itoa(atoi(m.MessageID[1:])) {
			t.Errorf("topic %q parsed to device %q, message %+v: fields lost", r.topic, dev, m)
		}
		if string(r.body) != `{"id":"`+m.MessageID+`"}` {
			t.Errorf("got body %q for %s", r.body, m.MessageID)
		}
		got = append(got, m.MessageID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got order %v, want %v", got, want)
	}
	eventually(t, "stats", func() bool { s := f.Stats(); return s.Delivered == n && s.Queued == 0 })
	if s := f.Stats(); !s.Connected || s.Redelivered != 0 {
		t.Errorf("got Connected %v Redelivered %d, want true and 0", s.Connected, s.Redelivered)
	}
}

func TestTopicAndBag(t *testing.T) {
	m := Message{Module: "filter", Output: "alerts", MessageID: "42", ContentEncoding: "utf-8",
		Properties: map[string]string{"z": "1", "alert": "yes please"}}
	got := m.Topic("acme/fleet", "gw-7")
	want := "acme/fleet/gw-7/messages/filter/alerts/%24.ce=utf-8&%24.mid=42&%24.on=alerts&alert=yes%20please&z=1"
	if got != want {
		t.Errorf("got topic %q, want %q", got, want)
	}
	dev, back, err := ParseTopic("acme/fleet", got)
	if err != nil || dev != "gw-7" || back.MessageID != "42" || back.Properties["alert"] != "yes please" {
		t.Errorf("ParseTopic: got %q %+v %v", dev, back, err)
	}
	if got := (&Message{Module: "m", Output: "o"}).Topic("p", "d"); got != "p/d/messages/m/o/%24.on=o" {
		t.Errorf("got %q for a message without properties", got)
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	m := msg("x", 3)
	m.Properties = map[string]string{"k": "v", "": ""}
	m.EnqueuedAt = time.Unix(123, 456)
	back, err := decode(m.encode())
	if err != nil {
		t.Fatal(err)
	}
	back.Priority = 3
	if fmt.Sprint(back) != fmt.Sprint(m) {
		t.Errorf("got %+v, want %+v", back, m)
	}
	if _, err := decode([]byte{1, 2}); err == nil {
		t.Error("decode of a short record: got nil error")
	}
}

func TestEnqueueRejects(t *testing.T) {
	f := newForwarder(t, t.TempDir())
	tests := []struct {
		name string
		edit func(*Message)
		want string
	}{
		{"priority", func(m *Message) { m.Priority = 10 }, "priority 10"},
		{"reserved property", func(m *Message) { m.Properties = map[string]string{"$x": "1"} }, `"$x"`},
		{"empty module", func(m *Message) { m.Module = "" }, "module"},
		{"output with slash", func(m *Message) { m.Output = "a/b" }, "output"},
		{"negative ttl", func(m *Message) { m.TTL = -time.Second }, "time-to-live"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := msg("x", 0)
			tt.edit(&m)
			err := f.Enqueue(msg("ok", 0), m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %s", err, tt.want)
			}
		})
	}
	if q := f.Stats().Queued; q != 0 {
		t.Errorf("got %d queued after rejected calls, want 0", q)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	p := newPKI(t)
	const secret = "pa55-do-not-log"
	tests := []struct {
		name  string
		up    api.Upstream
		field string
	}{
		{"bad scheme", api.Upstream{URL: "http://broker:1883"}, "url"},
		{"no scheme", api.Upstream{URL: "broker:1883"}, "url"},
		{"no host", api.Upstream{URL: "mqtt://:1883"}, "url"},
		{"password in url", api.Upstream{URL: "mqtt://u:" + secret + "@broker"}, "url"},
		{"unparsable url", api.Upstream{URL: "mqtt://u:" + secret + "@bro ker:x"}, "url"},
		{"unreadable ca", api.Upstream{URL: "mqtts://broker", CACertificate: "not pem"}, "ca_certificate"},
		{"ca on plain tcp", api.Upstream{URL: "mqtt://broker", CACertificate: string(p.ca)}, "ca_certificate"},
		{"cert without key", api.Upstream{URL: "ssl://broker", ClientCertificate: string(p.clientCert)}, "client_key"},
		{"key without cert", api.Upstream{URL: "tls://broker", ClientKey: string(p.clientKey)}, "client_certificate"},
		{"unreadable cert", api.Upstream{URL: "mqtts://broker", ClientCertificate: "junk", ClientKey: string(p.clientKey)}, "client_certificate"},
		{"key of another cert", api.Upstream{URL: "mqtts://broker", ClientCertificate: string(p.clientCert), ClientKey: string(p.serverKey)}, "client_certificate"},
		{"password without user", api.Upstream{URL: "mqtt://broker", Password: secret}, "username"},
		{"wildcard prefix", api.Upstream{URL: "mqtt://broker", TopicPrefix: "a/#"}, "topic_prefix"},
		{"negative ttl", api.Upstream{URL: "mqtt://broker", DefaultTimeToLiveSeconds: -1}, "default_time_to_live_seconds"},
		{"tiny queue", api.Upstream{URL: "mqtt://broker", MaxQueueBytes: 1000}, "max_queue_bytes"},
	}
	f := newForwarder(t, t.TempDir())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.Configure(&tt.up)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Fatalf("got %v, want a ConfigError for field %s", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "upstream."+tt.field+": ") || strings.Contains(err.Error(), secret) {
				t.Errorf("got message %q, want it to start with upstream.%s: and hold no password", err, tt.field)
			}
		})
	}

	valid := []api.Upstream{
		{URL: "mqtt://broker"},
		{URL: "tcp://broker:1884", Username: "u", Password: secret},
		{URL: "mqtts://broker", CACertificate: string(p.ca), ClientCertificate: string(p.clientCert), ClientKey: string(p.clientKey)},
	}
	for _, up := range valid {
		if _, err := parseConfig(&up, "gw1"); err != nil {
			t.Errorf("parseConfig(%s): got %v, want nil", up.URL, err)
		}
	}
}

func TestTLSAndAuthentication(t *testing.T) {
	b := startBroker(t)
	col := b.subscribe(t, "tls", false)
	certURL := fmt.Sprintf("mqtts://localhost:%d", b.certPort)
	passURL := fmt.Sprintf("ssl://127.0.0.1:%d", b.passPort)
	ca, cert, key := string(b.pki.ca), string(b.pki.clientCert), string(b.pki.clientKey)
	tests := []struct {
		name string
		up   api.Upstream
		ok   bool
	}{
		{"client certificate", api.Upstream{URL: certURL, CACertificate: ca, ClientCertificate: cert, ClientKey: key}, true},
		{"username and password", api.Upstream{URL: passURL, CACertificate: ca, Username: b.user, Password: b.pass}, true},
		{"wrong password", api.Upstream{URL: passURL, CACertificate: ca, Username: b.user, Password: "wrong-pw"}, false},
		{"no client certificate", api.Upstream{URL: certURL, CACertificate: ca}, false},
		{"unknown CA", api.Upstream{URL: passURL, Username: b.user, Password: b.pass}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := testLogger(t)
			f, err := New(t.TempDir(), "gw1", log)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			if err := f.Configure(&tt.up); err != nil {
				t.Fatal(err)
			}

			// A refused connection is checked on connect itself, where
			// the outcome is certain, not by waiting for nothing to come.
			cfg, _ := parseConfig(&tt.up, "gw1")
			client, _, err := f.connect(t.Context(), cfg)
			if client != nil {
				client.Disconnect(0)
			}
			if (err == nil) != tt.ok {
				t.Fatalf("connect: got %v, want success %v", err, tt.ok)
			}
			if tt.ok {
				id := fmt.Sprintf("tls-%d", i)
				enqueue(t, f, msg(id, 0))
				run(t, f)
				eventually(t, "the message over TLS", func() bool { return col.has(id) })
			}
			if strings.Contains(logs.String(), b.pass) || strings.Contains(logs.String(), "PRIVATE KEY") {
				t.Error("a credential appears in the log")
			}
		})
	}
}

func TestExpiredMessagesAreDroppedAndCounted(t *testing.T) {
	b := startBroker(t)
	col := b.subscribe(t, "ttl", false)
	f := newForwarder(t, t.TempDir())
	for i := range 10 {
		short := msg(fmt.Sprintf("short%d", i), 0)
		short.TTL = time.Millisecond
		enqueue(t, f, short, msg(fmt.Sprintf("long%d", i), 5))
	}
	eventually(t, "10 expired messages", func() bool { return f.Stats().DroppedExpired == 10 })

	if err := f.Configure(b.upstream()); err != nil {
		t.Fatal(err)
	}
	run(t, f)
	eventually(t, "10 delivered", func() bool { return f.Stats().Delivered == 10 })
	eventually(t, "10 at the broker", func() bool { _, d := col.count(); return d == 10 })
	for _, r := range col.snapshot() {
		if _, m, _ := ParseTopic(DefaultTopicPrefix, r.topic); !strings.HasPrefix(m.MessageID, "long") {
			t.Errorf("got %s at the broker, want only long-lived messages", m.MessageID)
		}
	}
	if s := f.Stats(); s.DroppedExpired != 10 || s.Queued != 0 {
		t.Errorf("got %d expired and %d queued, want 10 and 0", s.DroppedExpired, s.Queued)
	}
}

func TestSizeBoundDropsOldest(t *testing.T) {
	b := startBroker(t)
	col := b.subscribe(t, "bound", false)
	f := newForwarder(t, t.TempDir())

	// An endpoint that sets the bound; Run is not started yet.
	up := &api.Upstream{URL: b.url(), MaxQueueBytes: 64 << 10}
	if err := f.Configure(up); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	body := strings.Repeat("x", 256)
	for i := range n {
		m := msg(fmt.Sprintf("%04d", i), i%10)
		m.Body = []byte(body)
		enqueue(t, f, m)
	}
	s := f.Stats()
	if s.DroppedOverflow == 0 || int(s.DroppedOverflow)+s.Queued != n || s.DiskBytes > up.MaxQueueBytes {
		t.Fatalf("got %d dropped, %d queued, %d disk bytes; want drops, sum %d, at most %d bytes",
			s.DroppedOverflow, s.Queued, s.DiskBytes, n, up.MaxQueueBytes)
	}

	run(t, f)
	eventually(t, "the kept messages at the broker", func() bool { _, d := col.count(); return d >= s.Queued })
	var ids []int
	for _, r := range col.snapshot() {
		_, m, _ := ParseTopic(DefaultTopicPrefix, r.topic)
		ids = append(ids, atoi(m.MessageID))
	}
	slices.Sort(ids)
	ids = slices.Compact(ids) // at least once: duplicates may come
	for k, i := range ids {
		if want := n - len(ids) + k; i != want {
			t.Fatalf("got message %d at rank %d, want %d: the oldest must be dropped", i, k, want)
		}
	}
}

func TestUpstreamOutage(t *testing.T) {
	b := startBroker(t)
	col := b.subscribe(t, "outage", true)
	f := newForwarder(t, t.TempDir())
	if err := f.Configure(b.upstream()); err != nil {
		t.Fatal(err)
	}
	run(t, f)

	const n = 3000
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("o%d", i)
	}
	// Stream a third, stop the broker mid-stream, queue a third while it
	// is down, start it again and stream the rest.
	for i := 0; i < n/3; i += 100 {
		var batch []Message
		for j := i; j < min(i+100, n/3); j++ {
			batch = append(batch, msg(ids[j], j%3))
		}
		enqueue(t, f, batch...)
	}
	b.stop() // while the last batches are in flight
	eventually(t, "the forwarder to notice", func() bool { return !f.Stats().Connected })
	for i := n / 3; i < 2*n/3; i++ {
		enqueue(t, f, msg(ids[i], i%3))
	}
	b.start()
	for i := 2 * n / 3; i < n; i++ {
		enqueue(t, f, msg(ids[i], i%3))
	}

	eventually(t, "every accepted message at the broker", func() bool { _, d := col.count(); return d == n })
	for _, id := range ids {
		if !col.has(id) {
			t.Fatalf("message %s lost", id)
		}
	}
	eventually(t, "an empty queue", func() bool { return f.Stats().Queued == 0 })
	tot, _ := col.count()
	s := f.Stats()
	t.Logf("received %d for %d sent: %d duplicates at the subscriber; forwarder redelivered %d",
		tot, n, tot-n, s.Redelivered)
	if s.Delivered < n {
		t.Errorf("got Delivered %d, want at least %d", s.Delivered, n)
	}
}

func TestReconfigureKeepsQueue(t *testing.T) {
	b1, b2 := startBroker(t), startBroker(t)
	c1, c2 := b1.subscribe(t, "re1", false), b2.subscribe(t, "re2", false)
	f := newForwarder(t, t.TempDir())
	if err := f.Configure(b1.upstream()); err != nil {
		t.Fatal(err)
	}
	run(t, f)
	enqueue(t, f, msg("first", 0))
	eventually(t, "first at broker 1", func() bool { return c1.has("first") })

	if err := f.Configure(nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "disconnect", func() bool { return !f.Stats().Connected })
	enqueue(t, f, msg("kept", 0))
	if err := f.Configure(b2.upstream()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "kept at broker 2", func() bool { return c2.has("kept") })
	if c1.has("kept") {
		t.Error("got the message at the old endpoint too")
	}
}

func TestTornTailAtRestart(t *testing.T) {
	b := startBroker(t)
	col := b.subscribe(t, "torn", false)
	dir := t.TempDir()
	f, err := New(dir, "gw1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := f.Enqueue(msg(fmt.Sprintf("t%d", i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	// Cut the last record in half, as a power cut in a write would.
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if len(segs) != 1 {
		t.Fatalf("got %d segments, want 1", len(segs))
	}
	fi, _ := os.Stat(segs[0])
	if err := os.Truncate(segs[0], fi.Size()-20); err != nil {
		t.Fatal(err)
	}

	f = newForwarder(t, dir)
	if s := f.Stats(); s.TornRecords != 1 || s.Queued != 9 {
		t.Fatalf("got %d torn and %d queued, want 1 and 9", s.TornRecords, s.Queued)
	}
	if err := f.Configure(b.upstream()); err != nil {
		t.Fatal(err)
	}
	run(t, f)
	eventually(t, "9 messages", func() bool { _, d := col.count(); return d == 9 })
	for i := range 9 {
		if !col.has(fmt.Sprintf("t%d", i)) {
			t.Errorf("message t%d lost", i)
		}
	}
}

const childEnv = "EDGEPLANE_UPSTREAM_CRASH_CHILD"

// crashChild runs in a child process: it forwards to the broker in
// EDGEPLANE_UPSTREAM_URL while four producers enqueue without end, each
// printing a message's id after Enqueue returned, until it is killed.
func crashChild() {
	f, err := New(os.Getenv(childEnv), "gw1", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := f.Configure(&api.Upstream{URL: os.Getenv("EDGEPLANE_UPSTREAM_URL")}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go f.Run(context.Background())
	var mu sync.Mutex
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("k%d-%d", g, i)
				if err := f.Enqueue(msg(id, i%10)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Println(id) // os.Stdout is unbuffered
				mu.Unlock()
			}
		}()
	}
	select {}
}

func TestCrashLosesNoAcknowledgedMessage(t *testing.T) {
	b := startBroker(t)
	col := b.subscribe(t, "crash", true)
	dir := t.TempDir()

	// Step 1: a child process enqueues and delivers until SIGKILL.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, "EDGEPLANE_UPSTREAM_URL="+b.url())
	cmd.Stderr = t.Output()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		acked = append(acked, sc.Text())
		if len(acked) == 3000 {
			cmd.Process.Kill() // SIGKILL, mid-stream
		}
	}
	cmd.Wait()
	if len(acked) < 3000 {
		t.Fatalf("child acknowledged only %d messages before it ended", len(acked))
	}
	_, before := col.count()
	t.Logf("child acknowledged %d messages; %d had reached the broker when it died", len(acked), before)

	// Step 2: a new forwarder on the same directory delivers the rest.
	f := newForwarder(t, dir)
	if err := f.Configure(b.upstream()); err != nil {
		t.Fatal(err)
	}
	run(t, f)
	missing := func() (m []string) {
		for _, id := range acked {
			if !col.has(id) {
				m = append(m, id)
			}
		}
		return m
	}
	deadline := time.Now().Add(2 * time.Minute)
	for m := missing(); len(m) > 0; m = missing() {
		if time.Now().After(deadline) {
			t.Fatalf("got %d acknowledged messages missing at the broker (first %s), want none", len(m), m[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	eventually(t, "an empty queue", func() bool { return f.Stats().Queued == 0 })
	tot, d := col.count()
	s := f.Stats()
	t.Logf("received %d (%d distinct); after restart: redelivered %d, torn records %d",
		tot, d, s.Redelivered, s.TornRecords)
	// The broker stayed up, so every duplicate is a message the child sent
	// without seeing its PUBACK: the restarted forwarder must count it.
	if dups := uint64(tot - d); dups > s.Redelivered {
		t.Errorf("got %d duplicates at the broker, but Redelivered %d: duplicates went uncounted", dups, s.Redelivered)
	}
}

func TestHealthyAndClose(t *testing.T) {
	dir := t.TempDir()
	f, err := New(dir, "gw1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Healthy(); err != nil {
		t.Errorf("Healthy of a new forwarder: got %v, want nil", err)
	}
	if _, err := New(dir, "gw1", nil); err == nil {
		t.Error("second New on the same directory: got nil error, want one")
	}
	ran := make(chan error, 1)
	go func() { ran <- f.Run(context.Background()) }()
	f.Close() // stops Run
	if err := <-ran; !errors.Is(err, ErrClosed) {
		t.Errorf("Run stopped by Close: got %v, want ErrClosed", err)
	}
	if err := f.Healthy(); !errors.Is(err, ErrClosed) {
		t.Errorf("Healthy after Close: got %v, want ErrClosed", err)
	}
	if err := f.Enqueue(msg("late", 0)); err == nil {
		t.Error("Enqueue after Close: got nil error, want one")
	}
	if err := f.Run(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: got %v, want ErrClosed", err)
	}
}

func TestRefusedMessageIsRejected(t *testing.T) {
	// The broker drops the connection of a client that sends a packet
	// larger than this.
	b := startBroker(t, "max_packet_size 4096")
	col := b.subscribe(t, "refused", false)
	f := newForwarder(t, t.TempDir())
	big := msg("big", 0)
	big.Body = make([]byte, 8192)
	enqueue(t, f, msg("before", 0), big, msg("after1", 0), msg("after2", 5))
	if err := f.Configure(b.upstream()); err != nil {
		t.Fatal(err)
	}
	run(t, f)

	eventually(t, "the messages around the refused one", func() bool {
		return col.has("before") && col.has("after1") && col.has("after2")
	})
	if s := f.Stats(); s.Rejected != 1 || col.has("big") {
		t.Errorf("got Rejected %d, big delivered %v; want 1 and false", s.Rejected, col.has("big"))
	}
	// Back to normal: a new message goes through.
	enqueue(t, f, msg("later", 0))
	eventually(t, "a message after the rejection", func() bool { return col.has("later") })
}
