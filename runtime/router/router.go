// Package router moves messages between modules on the local bus: it takes
// module outputs from the broker at QoS 1, asks the device's routes where
// each message goes, publishes it to module inputs at QoS 1 and hands
// $upstream messages to the store-and-forward queue. Outputs whose routes
// are all unconditional module-to-module routes may be routed inside the
// broker instead (runtime/bus, fast routes); the router never sees those.
//
// A message is acknowledged to the broker only after all of that is done,
// so a router that dies mid-way gets the message again from its persistent
// session. Delivery is therefore at least once. The router does not parse
// route text (runtime/route does), keep the $upstream queue
// (runtime/upstream does) or run the broker (runtime/bus does).
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/internal/fifo"
	"github.com/edgeplane/edgeplane/internal/mqttconn"

	"github.com/edgeplane/edgeplane/runtime/bus/topic"
)

// Message is a module's output message as the router sees it.
type Message struct {
	Module string // the sending module, from the topic
	Output string
	Bag    topic.Bag // ConnectionModuleID/DeviceID and OutputName are set by the router
	Body   []byte
}

// Target is one place a message goes.
type Target struct {
	// Upstream is true for $upstream; otherwise Module and Input name a
	// module input.
	Upstream      bool
	Module, Input string
	// Priority is 0 (highest) to 9; TTL 0 means the device default. Both
	// matter for $upstream only.
	Priority int
	TTL      time.Duration
	// Route is the name of the route that chose this target, for logs.
	Route string
}

// Routes decides where a message goes. It returns each endpoint once, at
// the best priority of the routes that chose it, appended to dst. A non-nil
// error drops the message and names the reason (ErrBodyNotJSON).
type Routes interface {
	Targets(m *Message, dst []Target) ([]Target, error)
}

// ErrBodyNotJSON is returned by Routes when a route's condition reads the
// body as JSON and the body is not JSON.
var ErrBodyNotJSON = errors.New("body is not JSON")

// Routed is a message with its $upstream target.
type Routed struct {
	Message *Message
	Target  Target
}

// Upstream takes $upstream messages. Enqueue returns only after every
// message is durable; the router retries a failed batch and acknowledges
// nothing of it until it succeeds.
type Upstream interface {
	Enqueue(batch []Routed) error
}

// Reasons a message is dropped, as counted in Stats.Dropped.
const (
	DropUnknownTopic = "unknown_topic"
	DropBadBag       = "bad_bag"
	DropTooLarge     = "too_large"
	DropBodyNotJSON  = "body_not_json"
	DropNoRoute      = "no_route"
	DropNoUpstream   = "no_upstream"
)

// Config is what New needs.
type Config struct {
	// BrokerURL is the local broker ("unix:///path/broker.sock").
	BrokerURL string
	// Username and Password are the router's bus credential; the broker
	// uses the username as client id.
	Username, Password string
	DeviceID           string
	// Upstream takes $upstream messages; nil drops them (counted).
	Upstream Upstream
	// MaxBatch bounds how many messages are routed and acknowledged
	// together; default 500. It should not exceed the broker's
	// max_inflight_messages, which bounds it anyway.
	MaxBatch int
	Log      *slog.Logger
}

// Stats are the router's counters since it started.
type Stats struct {
	Received uint64 // output messages taken from the broker
	// Delivered counts messages published to module inputs (one per
	// target), Enqueued those written to the $upstream queue.
	Delivered, Enqueued uint64
	// Dropped counts dropped messages by reason (Drop* constants).
	Dropped map[string]uint64
}

// Router routes module outputs. Create it with New, give it routes with
// SetRoutes and start it with Run.
type Router struct {
	cfg    Config
	log    *slog.Logger
	routes atomic.Pointer[routesBox]
	in     *fifo.Queue[mqtt.Message]

	connected atomic.Bool
	mu        sync.Mutex // guards stats
	stats     Stats
}

type routesBox struct{ r Routes }

// New returns a router that is not yet connected.
func New(cfg Config) *Router {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 500
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Router{
		cfg:   cfg,
		log:   cfg.Log,
		in:    fifo.New[mqtt.Message](),
		stats: Stats{Dropped: map[string]uint64{}},
	}
}

// SetRoutes replaces the routes atomically: the next message is routed by
// rt. Until the first call, every message is dropped as DropNoRoute.
func (r *Router) SetRoutes(rt Routes) { r.routes.Store(&routesBox{rt}) }

// Stats returns a copy of the counters.
func (r *Router) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Dropped = maps.Clone(r.stats.Dropped)
	return s
}

// Healthy returns nil while the router is connected to the broker.
func (r *Router) Healthy() error {
	if !r.connected.Load() {
		return errors.New("router not connected to the bus")
	}
	return nil
}

// Run connects to the broker and routes until ctx ends. Connection losses
// are retried for ever; Run returns nil when ctx ends.
func (r *Router) Run(ctx context.Context) error {
	opts := mqtt.NewClientOptions().
		AddBroker(r.cfg.BrokerURL).
		SetClientID(r.cfg.Username).
		SetUsername(r.cfg.Username).
		SetPassword(r.cfg.Password).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(2 * time.Second).
		SetKeepAlive(30 * time.Second)
	mqttconn.Use(opts, r.cfg.BrokerURL)
	opts.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { r.in.Push(m) })
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		// Subscribing again is harmless with a persistent session and
		// needed the first time.
		go func() {
			t := c.Subscribe(topic.AllOutputs, 1, nil)
			t.Wait()
			if err := t.Error(); err != nil {
				r.log.Error("subscribing to outputs", "err", err)
				return
			}
			r.connected.Store(true)
			r.log.Info("router connected")
		}()
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		r.connected.Store(false)
		r.log.Warn("router lost the bus", "err", err)
	})
	c := mqtt.NewClient(opts)
	c.Connect() // retries by itself (ConnectRetry)
	defer c.Disconnect(250)

	// Batches are routed one after the other; a second goroutine waits
	// for each batch's input publishes and then acknowledges it, so the
	// next batch is routed while the broker confirms the last one.
	// Batches are acknowledged in the order they were received.
	acks := make(chan *pending, 4)
	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		for p := range acks {
			if !r.finish(ctx, p) {
				for range acks { // drain: ctx ended, nothing more is acked
				}
				return
			}
		}
	}()
	defer func() {
		close(acks)
		<-ackDone
	}()

	for {
		// Take what is waiting, up to MaxBatch, so that one durable
		// write and one round of acknowledgements serve many messages.
		batch := r.in.Take(make([]mqtt.Message, 0, r.cfg.MaxBatch), r.cfg.MaxBatch)
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-r.in.Ready():
			}
			continue
		}
		p, err := r.route(ctx, c, batch)
		if err != nil {
			return nil // ctx ended; unacknowledged messages come again
		}
		acks <- p
	}
}

// pending is a routed batch waiting for its input publishes to be
// confirmed before it is acknowledged.
type pending struct {
	batch    []mqtt.Message
	tokens   []mqtt.Token
	enqueued int
	drops    map[string]uint64
}

// finish waits for p's publishes, acknowledges its messages and counts
// them. It returns false when ctx ended first.
func (r *Router) finish(ctx context.Context, p *pending) bool {
	for _, t := range p.tokens {
		select {
		case <-t.Done():
		case <-ctx.Done():
			return false
		}
		// An error here means the connection went away; the publish is
		// kept by the client and sent again after it reconnects, and the
		// acknowledgements below are dropped with the old connection,
		// so the broker sends the batch again.
	}
	for _, m := range p.batch {
		m.Ack()
	}

	r.mu.Lock()
	r.stats.Received += uint64(len(p.batch))
	r.stats.Delivered += uint64(len(p.tokens))
	r.stats.Enqueued += uint64(p.enqueued)
	for k, v := range p.drops {
		r.stats.Dropped[k] += v
	}
	r.mu.Unlock()
	return true
}

// route sends every message of batch where the routes say: it starts the
// input publishes and writes the $upstream messages. It returns an error
// only when ctx ends before that is done.
func (r *Router) route(ctx context.Context, c mqtt.Client, batch []mqtt.Message) (*pending, error) {
	var (
		tokens   []mqtt.Token
		upstream []Routed
		targets  []Target
		drops    map[string]uint64
		box      = r.routes.Load()
	)
	drop := func(reason string, tp string, err error) {
		if drops == nil {
			drops = map[string]uint64{}
		}
		drops[reason]++
		// No payloads or bags in logs: they may hold user data.
		lvl := slog.LevelWarn
		if reason == DropNoRoute {
			lvl = slog.LevelDebug
		}
		r.log.Log(ctx, lvl, "message dropped", "reason", reason, "topic_len", len(tp), "err", err)
	}

	for _, pm := range batch {
		m, reason, err := r.decode(pm)
		if reason != "" {
			drop(reason, pm.Topic(), err)
			continue
		}
		if box == nil {
			drop(DropNoRoute, pm.Topic(), nil)
			continue
		}
		targets, err = box.r.Targets(m, targets[:0])
		if err != nil {
			reason := DropNoRoute
			if errors.Is(err, ErrBodyNotJSON) {
				reason = DropBodyNotJSON
			}
			drop(reason, pm.Topic(), fmt.Errorf("module %s output %s: %w", m.Module, m.Output, err))
			continue
		}
		if len(targets) == 0 {
			drop(DropNoRoute, pm.Topic(), nil)
			continue
		}

		for _, t := range targets {
			if t.Upstream {
				if r.cfg.Upstream == nil {
					drop(DropNoUpstream, pm.Topic(), nil)
					continue
				}
				upstream = append(upstream, Routed{Message: m, Target: t})
				continue
			}
			bag, err := m.Bag.Encode()
			if err != nil { // decode checked the names already
				drop(DropBadBag, pm.Topic(), err)
				continue
			}
			tokens = append(tokens, c.Publish(topic.Input(t.Module, t.Input, bag), 1, false, m.Body))
		}
	}

	// The $upstream batch is written while the input publishes are on
	// their way; both finish before anything is acknowledged.
	if len(upstream) > 0 {
		if err := r.enqueue(ctx, upstream); err != nil {
			return nil, err
		}
	}
	return &pending{batch: batch, tokens: tokens, enqueued: len(upstream), drops: drops}, nil
}

// enqueue writes batch to the $upstream queue, retrying until it succeeds
// or ctx ends: a message must not be acknowledged before it is durable.
func (r *Router) enqueue(ctx context.Context, batch []Routed) error {
	wait := 100 * time.Millisecond
	for {
		err := r.cfg.Upstream.Enqueue(batch)
		if err == nil {
			return nil
		}
		r.log.Error("writing upstream messages", "count", len(batch), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// decode checks one received message and returns it, or the reason to
// drop it.
func (r *Router) decode(pm mqtt.Message) (*Message, string, error) {
	p, err := topic.Parse(pm.Topic())
	if err != nil || p.Kind != topic.KindOutput {
		return nil, DropUnknownTopic, err
	}
	if len(pm.Payload()) > topic.MaxPayload {
		return nil, DropTooLarge, fmt.Errorf("module %s output %s: body of %d bytes", p.Module, p.Name, len(pm.Payload()))
	}
	bag, err := topic.ParseBag(p.Bag)
	if err != nil {
		return nil, DropBadBag, fmt.Errorf("module %s output %s: %w", p.Module, p.Name, err)
	}

	// The topic names the sender (the broker's ACL sees to that), so the
	// connection properties come from it, whatever the module wrote.
	bag.ConnectionModuleID = p.Module
	bag.ConnectionDeviceID = r.cfg.DeviceID
	bag.OutputName = p.Name
	return &Message{Module: p.Module, Output: p.Name, Bag: bag, Body: pm.Payload()}, "", nil
}
