// Package twin serves module twins on the local bus. A module asks for its
// whole twin and gets the desired properties with their version and the
// reported properties this gateway knows; after that it gets every change of
// its desired properties as a JSON merge patch that names the version it
// applies to, so a module that missed one asks for the whole twin again. A
// module's reported patches go to the hub through the extension Reporter.
//
// The package does not store twins: the hub's desired state is the source of
// desired properties, and reported properties live at the hub.
package twin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/bus/topic"
	"github.com/edgeplane/edgeplane/runtime/extension"
)

// Document is the body of a twin response (modules/<m>/twin/res/<rid>).
type Document struct {
	Version  int64          `json:"version"`
	Desired  map[string]any `json:"desired"`
	Reported map[string]any `json:"reported"`
}

// Patch is the body of a desired-properties change
// (modules/<m>/twin/desired). A module whose twin is at version Previous
// applies Patch and is then at Version; a module at any other version
// lower than Version asks for the whole twin.
type Patch struct {
	Version  int64          `json:"version"`
	Previous int64          `json:"previous"`
	Patch    map[string]any `json:"patch"`
}

// Config is what New needs.
type Config struct {
	BrokerURL          string
	Username, Password string
	Log                *slog.Logger
}

// Service answers twin requests and sends desired patches.
type Service struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	twins    map[string]*state // by module
	client   mqtt.Client       // set by Run
	reporter extension.Reporter

	connected atomic.Bool
}

type state struct {
	version  int64
	desired  map[string]any
	reported map[string]any
}

// New returns a service that is not yet connected.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Log, twins: map[string]*state{}}
}

// Validate checks that every twin's desired properties are a JSON object.
func Validate(ds *api.DesiredState) error {
	for m, t := range ds.Twins {
		if _, err := object(t.Properties); err != nil {
			return fmt.Errorf("twin of module %q: desired properties: %w", m, err)
		}
	}
	return nil
}

// Apply takes the desired twins of ds. Each module whose desired version
// changed gets a patch from the version it had to the new one; a module
// not seen before gets one from version 0, which a module that already
// has that version ignores and one at another version answers by asking
// for the whole twin. Modules that are gone are forgotten.
func (s *Service) Apply(ds *api.DesiredState) error {
	if err := Validate(ds); err != nil {
		return err
	}
	s.mu.Lock()
	var send []struct {
		module string
		p      Patch
	}
	names := map[string]bool{}
	for _, m := range ds.Modules {
		names[m.Name] = true
	}
	for m := range ds.Twins {
		names[m] = true
	}
	for m := range names {
		dt := ds.Twins[m]
		desired, _ := object(dt.Properties)
		st := s.twins[m]
		if st == nil {
			st = &state{desired: map[string]any{}, reported: map[string]any{}}
			s.twins[m] = st
		} else if st.version == dt.Version {
			continue
		}
		p := Patch{Version: dt.Version, Previous: st.version, Patch: Diff(st.desired, desired)}
		st.version, st.desired = dt.Version, desired
		send = append(send, struct {
			module string
			p      Patch
		}{m, p})
	}
	for m := range s.twins {
		if !names[m] {
			delete(s.twins, m)
		}
	}
	c := s.client
	s.mu.Unlock()

	// Modules that are not connected get the patch from their persistent
	// session; modules that never connected ask for the twin when they do.
	if c == nil {
		return nil
	}
	for _, x := range send {
		s.publish(c, topic.TwinDesired(x.module), x.p)
		s.log.Debug("desired patch sent", "module", x.module, "version", x.p.Version)
	}
	return nil
}

// Healthy returns nil while the service is connected to the bus.
func (s *Service) Healthy() error {
	if !s.connected.Load() {
		return errors.New("twin service not connected to the bus")
	}
	return nil
}

// Run connects to the bus and serves until ctx ends. Reported patches go
// to rep.
func (s *Service) Run(ctx context.Context, rep extension.Reporter) error {
	opts := mqtt.NewClientOptions().
		AddBroker(s.cfg.BrokerURL).
		SetClientID(s.cfg.Username).
		SetUsername(s.cfg.Username).
		SetPassword(s.cfg.Password).
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(2 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(true)
	opts.SetDefaultPublishHandler(func(c mqtt.Client, m mqtt.Message) { s.handle(c, m) })
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		go func() {
			t := c.SubscribeMultiple(map[string]byte{topic.AllTwinGets: 1, topic.AllTwinReports: 1}, nil)
			t.Wait()
			if err := t.Error(); err != nil {
				s.log.Error("subscribing to twin topics", "err", err)
				return
			}
			s.connected.Store(true)
		}()
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		s.connected.Store(false)
		s.log.Warn("twin service lost the bus", "err", err)
	})
	c := mqtt.NewClient(opts)
	s.mu.Lock()
	s.client, s.reporter = c, rep
	s.mu.Unlock()
	c.Connect()
	<-ctx.Done()
	c.Disconnect(250)
	return nil
}

// handle serves one twin request or reported patch.
func (s *Service) handle(c mqtt.Client, m mqtt.Message) {
	p, err := topic.Parse(m.Topic())
	if err != nil {
		s.log.Warn("twin message dropped", "reason", "unknown_topic", "err", err)
		return
	}

	switch p.Kind {
	case topic.KindTwinGet:
		s.mu.Lock()
		st := s.twins[p.Module]
		doc := Document{Desired: map[string]any{}, Reported: map[string]any{}}
		if st != nil {
			doc = Document{Version: st.version, Desired: st.desired, Reported: st.reported}
		}
		body, _ := json.Marshal(doc) // marshal under the lock: maps are shared
		s.mu.Unlock()
		c.Publish(topic.TwinResponse(p.Module, p.Name), 1, false, body)
		s.log.Debug("twin sent", "module", p.Module, "version", doc.Version)

	case topic.KindTwinReported:
		patch, err := object(m.Payload())
		if err != nil || len(m.Payload()) > topic.MaxPayload {
			s.log.Warn("reported patch dropped", "module", p.Module, "reason", "not_json_object", "err", err)
			return
		}
		s.mu.Lock()
		if st := s.twins[p.Module]; st != nil {
			st.reported = Merge(st.reported, patch)
		}
		rep := s.reporter
		s.mu.Unlock()
		if rep != nil {
			rep.Report(api.ReportedPatch{Twins: map[string]json.RawMessage{p.Module: json.RawMessage(m.Payload())}})
		}
		s.log.Debug("reported patch", "module", p.Module, "keys", slices.Sorted(maps.Keys(patch)))

	default:
		s.log.Warn("twin message dropped", "reason", "unknown_topic", "module", p.Module)
	}
}

func (s *Service) publish(c mqtt.Client, tp string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encoding twin message", "err", err)
		return
	}
	c.Publish(tp, 1, false, body)
}
