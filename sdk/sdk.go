// Package sdk is the Go client for Edgeplane module authors. A module uses
// it to send messages to its outputs, handle messages on its inputs, read
// its twin, follow changes of its desired properties and patch its reported
// properties, over the gateway's local MQTT bus.
//
// The client takes everything from the environment that edgeplaned gives
// every module container (EDGEPLANE_DEVICE_ID, EDGEPLANE_MODULE_ID,
// EDGEPLANE_BROKER_URL, EDGEPLANE_MODULE_SECRET_FILE), reconnects by itself
// and keeps a persistent session, so input messages that arrive while the
// module is down wait for it. Input messages are acknowledged after their
// handler returns: a module that dies in a handler gets the message again.
//
// Register handlers with HandleInput and OnDesired before Connect. The
// package follows the bus contract in docs/bus.md; a module in another
// language can do the same with any MQTT client.
package sdk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/internal/fifo"
	"github.com/edgeplane/edgeplane/internal/mqttconn"

	"github.com/edgeplane/edgeplane/runtime/bus/topic"
	"github.com/edgeplane/edgeplane/runtime/twin"
)

// Environment variables edgeplaned sets in every module container.
const (
	EnvDeviceID   = "EDGEPLANE_DEVICE_ID"
	EnvModuleID   = "EDGEPLANE_MODULE_ID"
	EnvBrokerURL  = "EDGEPLANE_BROKER_URL"
	EnvSecretFile = "EDGEPLANE_MODULE_SECRET_FILE"
)

// MaxBody is the largest message body the bus carries.
const MaxBody = topic.MaxPayload

// Message is a message sent to an output or received on an input.
type Message struct {
	Body            []byte
	ContentType     string
	ContentEncoding string
	MessageID       string
	CorrelationID   string
	UserID          string
	// Properties are application properties; names must not start with '$'.
	Properties map[string]string

	// Set on received messages: where the message came from.
	ConnectionDeviceID string
	ConnectionModuleID string
	OutputName         string
	// Input is the input the message arrived on.
	Input string
}

// InputHandler handles one input message. The message is acknowledged when
// the handler returns, whatever it returns; an error is logged.
type InputHandler func(ctx context.Context, m *Message) error

// Desired is a change of the module's desired properties.
type Desired struct {
	// Version is the twin's desired version after the change.
	Version int64
	// Patch is the change as a JSON merge patch; after a full reload of
	// the twin it is the whole desired document.
	Patch json.RawMessage
	// Properties is the whole desired document after the change.
	Properties json.RawMessage
}

// DesiredHandler is called for each change of the desired properties, one
// at a time, in version order.
type DesiredHandler func(ctx context.Context, d Desired)

// Twin is a module's twin as the runtime knows it.
type Twin struct {
	Version  int64
	Desired  json.RawMessage
	Reported json.RawMessage
}

// Config says how to reach the bus. FromEnv fills it from the environment.
type Config struct {
	DeviceID, ModuleID string
	// BrokerURL is "unix:///run/edgeplane/bus/broker.sock" in a container;
	// tcp:// works too.
	BrokerURL string
	Secret    string
	Log       *slog.Logger
}

// ConfigFromEnv reads the configuration edgeplaned gives a module.
func ConfigFromEnv() (Config, error) {
	c := Config{
		DeviceID:  os.Getenv(EnvDeviceID),
		ModuleID:  os.Getenv(EnvModuleID),
		BrokerURL: os.Getenv(EnvBrokerURL),
	}
	for k, v := range map[string]string{EnvModuleID: c.ModuleID, EnvBrokerURL: c.BrokerURL} {
		if v == "" {
			return c, fmt.Errorf("reading the module environment: %s is not set (is this running under edgeplaned?)", k)
		}
	}
	f := os.Getenv(EnvSecretFile)
	if f == "" {
		return c, fmt.Errorf("reading the module environment: %s is not set", EnvSecretFile)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return c, fmt.Errorf("reading the module secret: %w", err)
	}
	c.Secret = strings.TrimSpace(string(b))
	return c, nil
}

// Client is a module's connection to the bus. Its methods are safe for
// concurrent use.
type Client struct {
	cfg Config
	log *slog.Logger
	mqc mqtt.Client

	ctx    context.Context // ends on Close; handlers get it
	cancel context.CancelFunc

	mu        sync.Mutex
	inputs    map[string]InputHandler
	onDesired DesiredHandler
	pending   map[string]chan []byte // twin requests by request id
	desired   map[string]any         // the twin as last applied
	version   int64
	haveTwin  bool

	inputQ   *fifo.Queue[inputItem]   // input messages, handled in order
	desiredQ *fifo.Queue[desiredItem] // desired patches, handled in order
}

// New returns a client for cfg that is not yet connected.
func New(cfg Config) *Client {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		cfg: cfg, log: cfg.Log, ctx: ctx, cancel: cancel,
		inputs:   map[string]InputHandler{},
		pending:  map[string]chan []byte{},
		inputQ:   fifo.New[inputItem](),
		desiredQ: fifo.New[desiredItem](),
	}
}

// FromEnv returns a client configured from the environment.
func FromEnv() (*Client, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	return New(cfg), nil
}

// ModuleID returns the module's name.
func (c *Client) ModuleID() string { return c.cfg.ModuleID }

// DeviceID returns the gateway's device id.
func (c *Client) DeviceID() string { return c.cfg.DeviceID }

// HandleInput registers h for messages on input. Call it before Connect:
// messages that wait in the session arrive right after connecting, and one
// for an input without a handler is dropped.
func (c *Client) HandleInput(input string, h InputHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inputs[input] = h
}

// OnDesired registers h for desired-property changes. After each
// (re)connection the client reads the whole twin and calls h with it when
// its version is new to the client. Call it before Connect.
func (c *Client) OnDesired(h DesiredHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onDesired = h
}

// Connect connects to the bus and returns when the first connection is up
// and subscribed, or when ctx ends. After that the client reconnects by
// itself until Close.
func (c *Client) Connect(ctx context.Context) error {
	subscribed := make(chan error, 1)
	var once sync.Once
	opts := mqtt.NewClientOptions().
		AddBroker(c.cfg.BrokerURL).
		SetClientID(c.cfg.ModuleID).
		SetUsername(c.cfg.ModuleID).
		SetPassword(c.cfg.Secret).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(250 * time.Millisecond).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(30 * time.Second)
	mqttconn.Use(opts, c.cfg.BrokerURL)
	opts.SetDefaultPublishHandler(c.receive)
	opts.SetOnConnectHandler(func(m mqtt.Client) {
		go func() {
			err := c.subscribe(m)
			once.Do(func() { subscribed <- err })
			if err != nil {
				c.log.Error("subscribing to the bus", "module", c.cfg.ModuleID, "err", err)
				return
			}
			// The module may have missed desired patches while away: ask
			// desiredLoop, which owns the twin, to read it whole.
			c.desiredQ.Push(desiredItem{reload: true})
		}()
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		c.log.Warn("bus connection lost", "module", c.cfg.ModuleID, "err", err)
	})
	c.mqc = mqtt.NewClient(opts)
	go c.desiredLoop()
	go c.inputLoop()
	c.mqc.Connect()

	select {
	case err := <-subscribed:
		return err
	case <-ctx.Done():
		return fmt.Errorf("connecting to the bus at %s: %w", c.cfg.BrokerURL, ctx.Err())
	}
}

func (c *Client) subscribe(m mqtt.Client) error {
	mod := c.cfg.ModuleID
	t := m.SubscribeMultiple(map[string]byte{
		topic.Inputs(mod):            1,
		topic.TwinResponse(mod, "+"): 1,
		topic.TwinDesired(mod):       1,
	}, nil)
	t.Wait()
	return t.Error()
}

// Close disconnects. Handlers still running get a cancelled context.
func (c *Client) Close() {
	c.cancel()
	if c.mqc != nil {
		c.mqc.Disconnect(250)
	}
}

// SendOutput publishes m on output and returns when the broker has it
// (QoS 1), or when ctx ends.
func (c *Client) SendOutput(ctx context.Context, output string, m *Message) error {
	if c.mqc == nil {
		return ErrNotConnected
	}
	if !topic.ValidName(output) {
		return fmt.Errorf("sending to output %q: invalid output name", output)
	}
	if len(m.Body) > MaxBody {
		return fmt.Errorf("sending to output %q: body of %d bytes is over the %d byte limit", output, len(m.Body), MaxBody)
	}
	bag := topic.Bag{
		ContentType: m.ContentType, ContentEncoding: m.ContentEncoding,
		MessageID: m.MessageID, CorrelationID: m.CorrelationID, UserID: m.UserID,
		Properties: m.Properties,
	}
	b, err := bag.Encode()
	if err != nil {
		return fmt.Errorf("sending to output %q: %w", output, err)
	}
	return c.wait(ctx, c.mqc.Publish(topic.Output(c.cfg.ModuleID, output, b), 1, false, m.Body))
}

// ErrNotConnected is returned by calls made before Connect.
var ErrNotConnected = errors.New("not connected: call Connect first")

func (c *Client) wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// desiredItem is a desired patch, or a request to read the whole twin.
type desiredItem struct {
	reload bool
	body   []byte
}

// receive sorts one message from the broker. It runs on the MQTT client's
// goroutine and must not block (see fifo).
func (c *Client) receive(_ mqtt.Client, pm mqtt.Message) {
	p, err := topic.Parse(pm.Topic())
	if err != nil || p.Module != c.cfg.ModuleID {
		pm.Ack()
		c.log.Warn("message on an unknown topic dropped", "module", c.cfg.ModuleID)
		return
	}

	switch p.Kind {
	case topic.KindInput:
		c.inputQ.Push(inputItem{pm, p}) // acknowledged after its handler
	case topic.KindTwinResponse:
		pm.Ack()
		c.mu.Lock()
		ch := c.pending[p.Name]
		delete(c.pending, p.Name)
		c.mu.Unlock()
		if ch != nil {
			ch <- pm.Payload() // buffered; one answer per request
		}
	case topic.KindTwinDesired:
		pm.Ack()
		c.desiredQ.Push(desiredItem{body: pm.Payload()})
	default:
		pm.Ack()
	}
}

// inputItem is an input message with its topic, parsed by receive.
type inputItem struct {
	pm mqtt.Message
	p  topic.Parsed
}

// inputLoop runs the input handlers one message at a time, in order, and
// acknowledges each message after its handler returns.
func (c *Client) inputLoop() {
	var batch []inputItem
	for {
		batch = c.inputQ.Take(batch[:0], 100)
		if len(batch) == 0 {
			select {
			case <-c.ctx.Done():
				return
			case <-c.inputQ.Ready():
			}
			continue
		}
		for _, in := range batch {
			c.handleInput(in.pm, in.p)
			in.pm.Ack()
		}
	}
}

func (c *Client) handleInput(pm mqtt.Message, p topic.Parsed) {
	c.mu.Lock()
	h := c.inputs[p.Name]
	c.mu.Unlock()
	if h == nil {
		c.log.Warn("message for an input without handler dropped", "module", c.cfg.ModuleID, "input", p.Name)
		return
	}
	bag, err := topic.ParseBag(p.Bag)
	if err != nil {
		c.log.Warn("input message dropped", "module", c.cfg.ModuleID, "input", p.Name, "err", err)
		return
	}
	m := &Message{
		Body: pm.Payload(), ContentType: bag.ContentType, ContentEncoding: bag.ContentEncoding,
		MessageID: bag.MessageID, CorrelationID: bag.CorrelationID, UserID: bag.UserID,
		Properties: bag.Properties, ConnectionDeviceID: bag.ConnectionDeviceID,
		ConnectionModuleID: bag.ConnectionModuleID, OutputName: bag.OutputName, Input: p.Name,
	}
	if err := h(c.ctx, m); err != nil {
		c.log.Warn("input handler failed", "module", c.cfg.ModuleID, "input", p.Name, "err", err)
	}
}

// Twin asks the runtime for the module's whole twin.
func (c *Client) Twin(ctx context.Context) (*Twin, error) {
	doc, err := c.getTwin(ctx)
	if err != nil {
		return nil, err
	}
	d, _ := json.Marshal(doc.Desired)
	r, _ := json.Marshal(doc.Reported)
	return &Twin{Version: doc.Version, Desired: d, Reported: r}, nil
}

func (c *Client) getTwin(ctx context.Context) (*twin.Document, error) {
	if c.mqc == nil {
		return nil, ErrNotConnected
	}
	rid := make([]byte, 8)
	_, _ = rand.Read(rid)
	id := hex.EncodeToString(rid)
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	if err := c.wait(ctx, c.mqc.Publish(topic.TwinGet(c.cfg.ModuleID, id), 1, false, []byte{})); err != nil {
		return nil, fmt.Errorf("asking for the twin: %w", err)
	}
	select {
	case body := <-ch:
		var doc twin.Document
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, fmt.Errorf("decoding the twin: %w", err)
		}
		return &doc, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the twin: %w", ctx.Err())
	}
}

// PatchReported sends a JSON merge patch of the reported properties; patch
// is anything that encodes to a JSON object. It returns when the broker
// has it.
func (c *Client) PatchReported(ctx context.Context, patch any) error {
	if c.mqc == nil {
		return ErrNotConnected
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encoding reported patch: %w", err)
	}
	if len(b) == 0 || b[0] != '{' {
		return errors.New("encoding reported patch: not a JSON object")
	}
	return c.wait(ctx, c.mqc.Publish(topic.TwinReported(c.cfg.ModuleID), 1, false, b))
}

// desiredLoop applies desired patches in order, asking for the whole twin
// after each connection and when a patch does not follow the version the
// client has. It alone changes the client's twin.
func (c *Client) desiredLoop() {
	var items []desiredItem
	for {
		items = c.desiredQ.Take(items[:0], 1)
		if len(items) == 0 {
			select {
			case <-c.ctx.Done():
				return
			case <-c.desiredQ.Ready():
			}
			continue
		}
		it := items[0]
		if it.reload { // (re)connected
			if err := c.reloadTwin(c.ctx); err != nil && c.ctx.Err() == nil {
				c.log.Warn("reading the twin", "module", c.cfg.ModuleID, "err", err)
			}
			continue
		}
		body := it.body
		var p twin.Patch
		if err := json.Unmarshal(body, &p); err != nil {
			c.log.Warn("desired patch dropped", "module", c.cfg.ModuleID, "err", err)
			continue
		}

		c.mu.Lock()
		have, version := c.haveTwin, c.version
		c.mu.Unlock()
		switch {
		case have && p.Previous == version:
			c.applyDesired(p.Version, p.Patch, false)
		case have && p.Version <= version:
			// Old news: the whole twin read after connecting had it.
		default:
			if err := c.reloadTwin(c.ctx); err != nil && c.ctx.Err() == nil {
				c.log.Warn("reading the twin", "module", c.cfg.ModuleID, "err", err)
			}
		}
	}
}

// reloadTwin reads the whole twin and hands it to the desired handler when
// its version is new to the client.
func (c *Client) reloadTwin(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	doc, err := c.getTwin(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	fresh := !c.haveTwin || doc.Version != c.version
	c.mu.Unlock()
	if fresh {
		c.applyDesired(doc.Version, doc.Desired, true)
	}
	return nil
}

// applyDesired updates the client's copy of the desired properties and
// calls the handler. Only desiredLoop calls it.
func (c *Client) applyDesired(version int64, patch map[string]any, whole bool) {
	c.mu.Lock()
	if whole || c.desired == nil {
		c.desired = map[string]any{}
	}
	c.desired = twin.Merge(c.desired, patch)
	c.version, c.haveTwin = version, true
	props, _ := json.Marshal(c.desired)
	h := c.onDesired
	c.mu.Unlock()

	pb, _ := json.Marshal(patch)
	if h != nil {
		h(c.ctx, Desired{Version: version, Patch: pb, Properties: props})
	}
}
