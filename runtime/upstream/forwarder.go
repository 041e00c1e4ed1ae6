// Package upstream is the gateway's $upstream store-and-forward: it keeps
// messages for the device's upstream MQTT broker in a durable on-disk queue
// (runtime/queue) and delivers them with paho at QoS 1, best priority
// first, acknowledging a message in the queue only on the broker's PUBACK.
//
// Enqueue returns once messages are fsync'd. Delivery is at least once: a
// message whose PUBACK was lost to a reconnect, a crash or a power cut is
// sent again and counted in Stats.Redelivered. The package does not route
// messages or talk to modules; the router calls Enqueue.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/queue"
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("upstream forwarder closed")

// Stats are the forwarder's counters; counters count since New.
type Stats struct {
	Queued      int   // messages waiting or in flight
	QueuedBytes int64 // their bytes on disk
	DiskBytes   int64 // bytes of the queue's segment files (what max_queue_bytes bounds)
	InFlight    int   // published, PUBACK not received yet

	Delivered       uint64 // acknowledged by the broker with PUBACK
	DroppedExpired  uint64 // time-to-live ran out before delivery
	DroppedOverflow uint64 // dropped to keep the queue under max_queue_bytes
	// Rejected counts messages dropped because the broker closed the
	// connection each time one of them was sent alone (see judge).
	Rejected uint64
	// Redelivered counts messages published again after an earlier
	// publish got no PUBACK (connection lost, restart, crash): each is a
	// possible duplicate at the broker.
	Redelivered uint64
	// TornRecords counts damaged records cut off when the queue was
	// opened (a crash or power cut in the middle of a write).
	TornRecords uint64

	Connected bool // connected to the upstream broker now
}

// Forwarder keeps the durable queue and delivers it to the device's
// upstream broker. Its methods are safe for concurrent use.
type Forwarder struct {
	q      *queue.Queue
	device string
	log    *slog.Logger

	mu      sync.Mutex
	up      api.Upstream // as last configured, Version cleared
	cfg     *config      // nil: no upstream, queue only
	closed  bool
	changed chan struct{}

	connected atomic.Bool
	running   sync.WaitGroup // a Run in progress; Close waits for it
	runActive atomic.Bool    // a Run is in progress

	// Only Run touches these: the search for a message that the broker
	// refuses by dropping the connection (see judge).
	noProgress int            // connections in a row that delivered nothing
	strikes    map[uint64]int // connections that a lone message ended

	// Tuning; tests shorten the back-off.
	window     int // publishes awaiting PUBACK at most
	minBackoff time.Duration
	maxBackoff time.Duration
}

// New opens or creates the queue in dir for device deviceID. Until
// Configure gives an endpoint, messages are only queued.
func New(dir string, deviceID string, log *slog.Logger) (*Forwarder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q, err := queue.Open(filepath.Clean(dir), queue.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("opening upstream queue: %w", err)
	}
	if st := q.Stats(); st.Messages > 0 || st.TornRecords > 0 {
		log.Info("upstream queue opened", "queued", st.Messages, "bytes", st.Bytes, "torn", st.TornRecords)
	}
	return &Forwarder{
		q:          q,
		device:     deviceID,
		log:        log,
		changed:    make(chan struct{}, 1),
		strikes:    map[uint64]int{},
		window:     1000,
		minBackoff: 250 * time.Millisecond,
		maxBackoff: 30 * time.Second,
	}, nil
}

// Configure makes the forwarder deliver to up, reconnecting when the
// endpoint changed; queued messages stay queued. nil means no upstream:
// messages are queued (with the default bounds) and not sent. An error
// is a *ConfigError naming the field at fault, and changes nothing.
func (f *Forwarder) Configure(up *api.Upstream) error {
	var cfg *config
	var key api.Upstream
	if up != nil {
		var err error
		if cfg, err = parseConfig(up, f.device); err != nil {
			return err
		}
		key = *up
		key.Version = 0
	}

	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	same := (cfg == nil) == (f.cfg == nil) && key == f.up
	f.cfg, f.up = cfg, key
	f.mu.Unlock()

	if cfg == nil {
		f.q.SetMaxBytes(DefaultMaxBytes)
	} else {
		f.q.SetMaxBytes(cfg.maxBytes)
	}
	if same {
		return nil
	}
	if cfg == nil {
		f.log.Info("upstream not configured: queuing only")
	} else {
		f.log.Info("upstream configured", "broker", cfg.broker, "client_id", cfg.clientID,
			"tls", cfg.tls != nil, "username_set", cfg.username != "",
			"client_certificate_set", cfg.tls != nil && len(cfg.tls.Certificates) > 0,
			"topic_prefix", cfg.topicPrefix)
	}
	f.signal()
	return nil
}

func (f *Forwarder) signal() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// Enqueue stores msgs and returns only after they are durable on disk
// (fsync'd). Concurrent calls share a disk write. A message with a zero
// EnqueuedAt gets the current time, one with a zero TTL the device default.
// It returns an error, and stores nothing, when a message is malformed;
// queue.ErrFull when the size bound leaves no room even after dropping; or
// the I/O error that stopped the queue.
func (f *Forwarder) Enqueue(msgs ...Message) error {
	f.mu.Lock()
	ttl := DefaultTTL
	if f.cfg != nil {
		ttl = f.cfg.ttl
	}
	f.mu.Unlock()

	now := time.Now()
	items := make([]queue.Item, len(msgs))
	for i := range msgs {
		m := msgs[i]
		if err := m.validate(); err != nil {
			return fmt.Errorf("queuing upstream message %d: %w", i, err)
		}
		if m.EnqueuedAt.IsZero() {
			m.EnqueuedAt = now
		}
		t := m.TTL
		if t == 0 {
			t = ttl
		}
		items[i] = queue.Item{Priority: m.Priority, Expires: m.EnqueuedAt.Add(t), Data: m.encode()}
	}
	if err := f.q.Push(items...); err != nil {
		return fmt.Errorf("queuing upstream messages: %w", err)
	}
	return nil
}

// Run delivers queued messages until ctx ends, connecting and reconnecting
// to the configured endpoint with exponential back-off. It returns nil when
// ctx ends, ErrClosed after Close, and an error while another Run runs.
func (f *Forwarder) Run(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	if f.runActive.Swap(true) {
		f.mu.Unlock()
		return errors.New("upstream forwarder: Run is already running")
	}
	f.running.Add(1)
	f.mu.Unlock()
	defer f.running.Done()
	defer f.runActive.Store(false)

	backoff := f.minBackoff
	for {
		// The configuration is read below; a signal about it is stale.
		select {
		case <-f.changed:
		default:
		}
		f.mu.Lock()
		cfg, closed := f.cfg, f.closed
		f.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if cfg == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-f.changed:
				continue
			}
		}

		// Step 1: connect.
		client, lost, err := f.connect(ctx, cfg)
		if err == nil {
			// Step 2: deliver until the connection or configuration ends.
			f.connected.Store(true)
			f.log.Info("upstream connected", "broker", cfg.broker)
			start := time.Now()
			window := f.window
			if f.noProgress >= probeAfter {
				window = 1
			}
			var n int
			var failed []sent
			n, failed, err = f.deliver(ctx, client, cfg, lost, window)
			f.connected.Store(false)
			f.judge(window, n, failed, err)
			if n > 0 || time.Since(start) > time.Minute {
				backoff = f.minBackoff // progress: this was no flapping link
			}
		}
		if ctx.Err() != nil {
			return nil
		}

		// Step 3: wait before the next attempt, unless the configuration
		// changed meanwhile.
		if errors.Is(err, errReconfigured) {
			backoff = f.minBackoff
			continue
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		f.log.Warn("upstream unavailable", "broker", cfg.broker, "err", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-f.changed:
			backoff = f.minBackoff
			continue
		case <-time.After(wait):
		}
		backoff = min(backoff*2, f.maxBackoff)
	}
}

var (
	errReconfigured   = errors.New("configuration changed")
	errConnectionLost = errors.New("connection lost")
)

// connect opens a clean MQTT session to cfg's broker. lost is closed when
// the connection drops.
func (f *Forwarder) connect(ctx context.Context, cfg *config) (mqtt.Client, <-chan struct{}, error) {
	lost := make(chan struct{})
	var once sync.Once
	opts := mqtt.NewClientOptions().
		AddBroker(cfg.broker).
		SetClientID(cfg.clientID).
		// The queue is the session: a clean session per connection, and
		// every message without PUBACK goes back to the queue.
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetPingTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetOrderMatters(false).
		SetConnectionLostHandler(func(mqtt.Client, error) { once.Do(func() { close(lost) }) })
	if cfg.username != "" {
		opts.SetUsername(cfg.username).SetPassword(cfg.password)
	}
	if cfg.tls != nil {
		opts.SetTLSConfig(cfg.tls.Clone())
	}
	client := mqtt.NewClient(opts)
	tok := client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		go client.Disconnect(0)
		return nil, nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, nil, fmt.Errorf("connecting: %w", err)
	}
	return client, lost, nil
}

type result struct {
	seq uint64
	err error
}

// sent describes a publish for the log, without its payload.
type sent struct {
	seq            uint64
	module, output string
	bytes          int
}

// A message that makes the broker drop the connection (larger than its
// packet limit, or denied by an ACL that disconnects) would otherwise be
// retried at the head of the queue until its TTL ran out, and hold back
// everything behind it. After probeAfter connections in a row that
// delivered nothing, Run publishes one message at a time; a message that
// alone loses its connection rejectAfter times is rejected: dropped,
// counted in Stats.Rejected and logged.
const (
	probeAfter  = 2
	rejectAfter = 3
)

// judge updates the search for a refused message after a connection that
// delivered n messages and lost the publishes failed.
func (f *Forwarder) judge(window, n int, failed []sent, err error) {
	switch {
	case n > 0:
		f.noProgress = 0
		clear(f.strikes)
		return
	case len(failed) == 0 || errors.Is(err, errReconfigured) || errors.Is(err, context.Canceled):
		return
	}
	f.noProgress++
	if window != 1 || len(failed) != 1 {
		return
	}
	m := failed[0]
	if f.strikes[m.seq]++; f.strikes[m.seq] < rejectAfter {
		return
	}
	delete(f.strikes, m.seq)
	f.q.Reject(m.seq)
	f.log.Warn("upstream message rejected: the broker closed the connection each time it was sent",
		"module", m.module, "output", m.output, "bytes", m.bytes, "attempts", rejectAfter)
}

// deliver publishes queued messages on client, up to f.window awaiting
// PUBACK, until the connection drops, the configuration changes or ctx
// ends. It returns the number of messages acknowledged and why it stopped.
func (f *Forwarder) deliver(ctx context.Context, client mqtt.Client, cfg *config, lost <-chan struct{},
	window int,
) (int, []sent, error) {
	results := make(chan result, window)
	inFlight := make(map[uint64]sent, window)
	var failed []sent

	// PUBACKs come in publish order on one connection, so one goroutine
	// waiting on the tokens in order is as quick as one per token.
	type published struct {
		seq uint64
		tok mqtt.Token
	}
	pubs := make(chan published, window)
	defer close(pubs)
	go func() {
		for p := range pubs {
			<-p.tok.Done()
			results <- result{p.seq, p.tok.Error()}
		}
	}()
	delivered := 0
	var acks []uint64

	// settle applies a result and those already waiting behind it.
	settle := func(r result) error {
		var failure error
		acks = acks[:0]
		for {
			if r.err == nil {
				acks = append(acks, r.seq)
			} else {
				f.q.Nack(r.seq)
				failed = append(failed, inFlight[r.seq])
				failure = r.err
			}
			delete(inFlight, r.seq)
			select {
			case r = <-results:
				continue
			default:
			}
			break
		}
		f.q.Ack(acks...)
		delivered += len(acks)
		return failure
	}

	var failure error
	for failure == nil {
		// Fill the window, best priority first.
		es, err := f.q.NextN(window - len(inFlight))
		if err != nil {
			failure = err
		}
		for _, e := range es {
			m, err := decode(e.Data)
			if err != nil {
				// Only a bug or a disk fault gets here; the record's
				// checksum was right. Skip it rather than block the queue.
				f.log.Error("dropping undecodable upstream message", "seq", e.Seq, "err", err)
				f.q.Ack(e.Seq)
				continue
			}
			topic := m.Topic(cfg.topicPrefix, f.device)
			tok := client.Publish(topic, 1, false, m.Body)
			inFlight[e.Seq] = sent{e.Seq, m.Module, m.Output, len(topic) + len(m.Body)}
			pubs <- published{e.Seq, tok}
		}
		if failure != nil {
			break
		}

		select {
		case r := <-results:
			if err := settle(r); err != nil {
				failure = fmt.Errorf("publishing: %w", err)
			}
		case <-f.q.Ready():
		case <-lost:
			failure = errConnectionLost
		case <-f.changed:
			failure = errReconfigured
		case <-ctx.Done():
			failure = ctx.Err()
		}
	}

	// Disconnecting completes every outstanding token, with PUBACK or with
	// an error; wait for them so each message is acked or back in queue.
	client.Disconnect(100)
	timeout := time.After(30 * time.Second)
	for len(inFlight) > 0 {
		select {
		case r := <-results:
			settle(r)
		case <-timeout:
			for seq := range inFlight {
				f.q.Nack(seq)
			}
			f.log.Warn("upstream publishes never completed; queued again", "count", len(inFlight))
			return delivered, failed, failure
		}
	}
	return delivered, failed, failure
}

// Stats returns the current counters.
func (f *Forwarder) Stats() Stats {
	s := f.q.Stats()
	return Stats{
		Queued:          s.Messages,
		QueuedBytes:     s.Bytes,
		DiskBytes:       s.DiskBytes,
		InFlight:        s.InFlight,
		Delivered:       s.Delivered,
		DroppedExpired:  s.DroppedExpired,
		DroppedOverflow: s.DroppedOverflow,
		Rejected:        s.Rejected,
		Redelivered:     s.Redelivered,
		TornRecords:     s.TornRecords,
		Connected:       f.connected.Load(),
	}
}

// Healthy returns nil while the forwarder can accept messages. An
// unreachable upstream broker is not unhealthy: that is what the queue is
// for (see Stats.Connected); a queue that can no longer write is.
func (f *Forwarder) Healthy() error {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := f.q.Err(); err != nil {
		return fmt.Errorf("upstream queue: %w", err)
	}
	return nil
}

// Close stops a running Run (which returns ErrClosed), waiting for its
// publishes to be acknowledged or put back, and closes the queue; messages
// not yet delivered stay on disk for the next New.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	f.signal()
	f.running.Wait()
	return f.q.Close()
}
