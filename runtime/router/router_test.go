package router

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// broker starts a plain Mosquitto on a Unix socket for the test.
func broker(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Mosquitto")
	}
	const bin = "/usr/sbin/mosquitto"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s missing: install the Debian package mosquitto (make deps)", bin)
	}
	dir, err := os.MkdirTemp("", "eprouter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	conf := fmt.Sprintf("listener 0 %s\nallow_anonymous true\nmax_inflight_messages 1000\n", sock)
	if os.Geteuid() == 0 {
		conf = "user root\n" + conf
	}
	if err := os.WriteFile(filepath.Join(dir, "m.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "m.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return "unix://" + sock
}

// toUpstream sends everything to $upstream.
type toUpstream struct{}

func (toUpstream) Targets(_ *Message, dst []Target) ([]Target, error) {
	return append(dst, Target{Upstream: true, Route: "all"}), nil
}

// queue is an Upstream that fails while failing is set.
type queue struct {
	mu      sync.Mutex
	failing bool
	calls   int
	ids     []string
}

func (q *queue) Enqueue(batch []Routed) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.failing {
		return errors.New("disk full")
	}
	for _, r := range batch {
		q.ids = append(q.ids, r.Message.Bag.MessageID)
	}
	return nil
}

func (q *queue) state() (int, []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls, slices.Clone(q.ids)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runRouter runs a router until the returned stop is called.
func runRouter(t *testing.T, url string, up Upstream) (*Router, func()) {
	r := New(Config{BrokerURL: url, Username: "router", DeviceID: "dev1", Upstream: up})
	r.SetRoutes(toUpstream{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	stop := sync.OnceFunc(func() {
		cancel()
		<-done
	})
	t.Cleanup(stop)
	waitFor(t, "the router to subscribe", func() bool { return r.Healthy() == nil })
	return r, stop
}

// TestNoAckBeforeDurable checks that a router whose $upstream queue fails
// acknowledges nothing: a router started after it gets every message again.
func TestNoAckBeforeDurable(t *testing.T) {
	url := broker(t)
	bad := &queue{failing: true}
	r1, stop1 := runRouter(t, url, bad)

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("m"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	var want []string
	for i := range 5 {
		id := fmt.Sprint(i)
		want = append(want, id)
		if tok := pub.Publish("modules/m/outputs/o/%24.mid="+id, 1, false, []byte(id)); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	waitFor(t, "the failing queue to be tried twice", func() bool { n, _ := bad.state(); return n >= 2 })
	stop1()
	if st := r1.Stats(); st.Received != 0 || st.Enqueued != 0 {
		t.Errorf("failing router counted received %d, enqueued %d; want 0, 0", st.Received, st.Enqueued)
	}

	good := &queue{}
	r2, _ := runRouter(t, url, good)
	waitFor(t, "the messages again", func() bool { _, ids := good.state(); return len(ids) >= len(want) })
	_, got := good.state()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("second router got %v, want %v", got, want)
	}
	waitFor(t, "the count", func() bool { return r2.Stats().Enqueued == uint64(len(want)) })
}
