package mqttconn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// socketPair listens on a Unix socket in a short temporary directory (socket
// paths are limited to 108 bytes) and returns a client connection opened by
// Open and the server's end.
func socketPair(t *testing.T) (*conn, net.Conn) {
	t.Helper()
	dir, err := os.MkdirTemp("", "mqttconn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := Open(&url.URL{Scheme: "unix", Path: path}, *mqtt.NewClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	return c.(*conn), srv
}

// Writes queued faster than the kernel takes them arrive complete and in
// order, whatever way they were coalesced.
func TestWritesArriveInOrder(t *testing.T) {
	c, srv := socketPair(t)
	const n = 20000
	go func() {
		var b [8]byte
		for i := range n {
			binary.BigEndian.PutUint64(b[:], uint64(i))
			if _, err := c.Write(b[:]); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	}()
	buf := make([]byte, 8*n)
	if _, err := io.ReadFull(srv, buf); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if got := binary.BigEndian.Uint64(buf[8*i:]); got != uint64(i) {
			t.Fatalf("record %d holds %d", i, got)
		}
	}
}

// Close writes what is pending before it closes, so paho's DISCONNECT (the
// last packet it writes) is not lost.
func TestCloseFlushesPending(t *testing.T) {
	c, srv := socketPair(t)
	want := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	if _, err := c.Write(want); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	got, err := io.ReadAll(srv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("server read %d bytes, want the %d written", len(got), len(want))
	}
	if err := <-done; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// A peer that goes away makes later writes fail and reads end, which is how
// paho learns that the connection is lost.
func TestPeerGoneSurfaces(t *testing.T) {
	c, srv := socketPair(t)
	srv.Close()
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = c.Write(make([]byte, 64<<10))
		time.Sleep(time.Millisecond)
	}
	if err == nil {
		t.Fatal("writes to a closed peer kept succeeding")
	}
	if _, rerr := c.Read(make([]byte, 1)); rerr == nil {
		t.Fatal("read from a closed peer succeeded")
	}
}

// A peer that reads nothing fills the socket and then maxPending: Write
// waits, as on a bare socket, and Close gives up after closeFlush instead of
// hanging, releasing the waiting writer.
func TestStuckPeerDoesNotHangClose(t *testing.T) {
	c, _ := socketPair(t)
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		chunk := make([]byte, 256<<10)
		for werr == nil {
			_, werr = c.Write(chunk)
		}
	}()
	// Wait until the writer is blocked: pending is at its bound.
	for deadline := time.Now().Add(time.Minute); ; {
		c.mu.Lock()
		full := len(c.pending) > maxPending/2
		pending := len(c.pending)
		c.mu.Unlock()
		if full {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending stayed at %d bytes while the peer read nothing; want more than %d", pending, maxPending/2)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if werr == nil {
		t.Fatal("the blocked Write returned no error after Close")
	}
}

// Two paho clients over a real Mosquitto, both through Open, exchange QoS 1
// messages from 1 byte to 200 KiB; every one arrives intact and in order.
func TestPahoThroughMosquitto(t *testing.T) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("mosquitto missing: install the Debian package mosquitto (make deps)")
	}
	dir, err := os.MkdirTemp("", "mqttconn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "b.sock")
	conf := fmt.Sprintf("listener 0 %s\nallow_anonymous true\nmax_queued_messages 100000\nmax_inflight_messages 1000\n", sock)
	if os.Geteuid() == 0 {
		conf = "user root\n" + conf
	}
	if err := os.WriteFile(filepath.Join(dir, "m.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "m.conf"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("mosquitto: %s", stderr.String())
		}
	})

	brokerURL := "unix://" + sock
	connect := func(id string, h mqtt.MessageHandler) mqtt.Client {
		o := mqtt.NewClientOptions().AddBroker(brokerURL).SetClientID(id).
			SetOrderMatters(true).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond)
		Use(o, brokerURL)
		if o.CustomOpenConnectionFn == nil {
			t.Fatalf("Use did not install Open for %s", brokerURL)
		}
		if h != nil {
			o.SetDefaultPublishHandler(h)
		}
		c := mqtt.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("connect %s: %v", id, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c
	}

	const n = 5000
	size := func(i int) int {
		if i%1000 == 999 {
			return 200 << 10
		}
		return 1 + i%300
	}
	var mu sync.Mutex
	next := 0
	done := make(chan struct{})
	sub := connect("sub", func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		defer mu.Unlock()
		p := m.Payload()
		if len(p) != size(next) || (len(p) >= 2 && binary.BigEndian.Uint16(p) != uint16(next)) {
			t.Errorf("message %d: got %d bytes starting %x, want %d bytes", next, len(p), p[:min(2, len(p))], size(next))
		}
		next++
		if next == n {
			close(done)
		}
	})
	if tok := sub.Subscribe("t", 1, nil); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	pub := connect("pub", nil)
	toks := make([]mqtt.Token, 0, n)
	for i := range n {
		body := make([]byte, size(i))
		if len(body) >= 2 {
			binary.BigEndian.PutUint16(body, uint16(i))
		}
		toks = append(toks, pub.Publish("t", 1, false, body))
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(time.Minute) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("received %d of %d messages", next, n)
	}
}

func TestUseLeavesOtherSchemesToPaho(t *testing.T) {
	for _, u := range []string{"ssl://h:8883", "tls://h:8883", "ws://h/mqtt", "wss://h/mqtt", "::bad"} {
		o := Use(mqtt.NewClientOptions(), u)
		if o.CustomOpenConnectionFn != nil {
			t.Errorf("Use(%q) installed Open; paho's own connection should handle it", u)
		}
	}
	for _, u := range []string{"unix:///run/b.sock", "tcp://127.0.0.1:1883", "mqtt://h:1883"} {
		if Use(mqtt.NewClientOptions(), u).CustomOpenConnectionFn == nil {
			t.Errorf("Use(%q) did not install Open", u)
		}
	}
}
