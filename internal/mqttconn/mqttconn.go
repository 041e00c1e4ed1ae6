// Package mqttconn opens the network connection of a paho MQTT client with
// its reads buffered and its writes coalesced.
//
// paho.mqtt.golang reads every packet from the bare connection: one read for
// the packet type, one per byte of the remaining length and one for the rest,
// so a 256-byte PUBLISH costs four system calls and a PUBACK three; and it
// writes every packet, PUBACKs included, with a system call of its own. On
// the local bus, where the router and the modules exchange tens of thousands
// of small packets a second, those calls were a third of the CPU time of the
// routed path.
//
// Reads go through a buffer, so every packet that has arrived is taken in
// one call. Writes are handed to a goroutine of the connection that writes
// whatever has accumulated while its previous write was in the kernel: an
// idle connection writes each packet at once (no delay is added, unlike
// Nagle's algorithm), a busy one writes many packets per call.
//
// A packet paho has written is therefore not yet on the wire when Write
// returns. That changes nothing MQTT relies on: a QoS 1 message is done only
// when its PUBACK comes back, and a write error closes the connection, which
// paho sees as a lost connection and handles as it always does.
package mqttconn

import (
	"bufio"
	"errors"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Use makes o open unix:// and tcp:// (mqtt://) brokers through Open. Other
// schemes (TLS, websockets) keep paho's own connection.
func Use(o *mqtt.ClientOptions, brokerURL string) *mqtt.ClientOptions {
	u, err := url.Parse(brokerURL)
	if err != nil {
		return o // paho reports the bad URL when it connects
	}
	switch u.Scheme {
	case "unix", "tcp", "mqtt":
		return o.SetCustomOpenConnectionFn(Open)
	}
	return o
}

// Open dials uri (unix:// with a path, tcp:// or mqtt:// with host:port)
// with the client's dialer and returns a connection whose reads are
// buffered. It has paho's OpenConnectionFunc signature.
func Open(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: o.ConnectTimeout}
	}
	var (
		c   net.Conn
		err error
	)
	switch uri.Scheme {
	case "unix":
		addr := uri.Path
		if uri.Host != "" { // unix://relative.sock, as paho accepts
			addr = uri.Host + uri.Path
		}
		c, err = d.Dial("unix", addr)
	case "tcp", "mqtt":
		c, err = d.Dial("tcp", uri.Host)
	default:
		return nil, &net.OpError{Op: "dial", Net: uri.Scheme, Err: net.UnknownNetworkError(uri.Scheme)}
	}
	if err != nil {
		return nil, err
	}
	return newConn(c), nil
}

const (
	// readBuffer holds many small packets and one 256 KiB message in a
	// few reads.
	readBuffer = 64 << 10
	// maxPending bounds what Write accepts before the writer goroutine has
	// written it; beyond it Write waits, as a full socket buffer would.
	maxPending = 1 << 20
	// closeFlush bounds how long Close waits for pending writes (paho's
	// DISCONNECT is the last of them).
	closeFlush = time.Second
)

// conn is a net.Conn that reads through a buffer and coalesces writes.
// Only paho's incoming goroutine reads, so the read buffer needs no lock.
type conn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond // signalled when pending, err or closed change
	pending []byte     // accepted, not yet handed to the kernel
	spare   []byte     // the writer's previous buffer, reused
	err     error      // the first write error; every later Write returns it
	closed  bool
	done    chan struct{} // closed when the writer goroutine has exited
}

func newConn(c net.Conn) *conn {
	bc := &conn{Conn: c, r: bufio.NewReaderSize(c, readBuffer), done: make(chan struct{})}
	bc.cond = sync.NewCond(&bc.mu)
	go bc.writer()
	return bc
}

func (c *conn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Write queues p for the writer goroutine. It returns an earlier write's
// error, if any, and waits while maxPending bytes are queued.
func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && !c.closed && len(c.pending) > 0 && len(c.pending)+len(p) > maxPending {
		c.cond.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.closed {
		return 0, net.ErrClosed
	}
	c.pending = append(c.pending, p...)
	c.cond.Broadcast()
	return len(p), nil
}

// writer writes what is pending until the connection closes or a write
// fails. A failed write closes the connection so that paho's reader sees
// the loss at once.
func (c *conn) writer() {
	defer close(c.done)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for len(c.pending) == 0 && !c.closed {
			c.cond.Wait()
		}
		if len(c.pending) == 0 { // closed and flushed
			return
		}
		buf := c.pending
		c.pending, c.spare = c.spare[:0], nil
		c.cond.Broadcast() // a Write waiting for room has it now
		c.mu.Unlock()
		_, err := c.Conn.Write(buf)
		c.mu.Lock()
		c.spare = buf[:0]
		if cap(c.spare) > 4*maxPending { // one huge burst: do not keep it
			c.spare = nil
		}
		c.cond.Broadcast()
		if err != nil {
			c.err = err
			c.pending = nil
			c.Conn.Close()
			return
		}
	}
}

// Close writes what is pending (for up to closeFlush) and closes the
// connection.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()

	t := time.NewTimer(closeFlush)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C: // a peer that reads nothing: give up on the rest
	}
	err := c.Conn.Close()
	if errors.Is(err, net.ErrClosed) { // the writer closed it after an error
		err = nil
	}
	return err
}
