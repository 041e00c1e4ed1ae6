package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/queue"
	"github.com/edgeplane/edgeplane/runtime/route"
	"github.com/edgeplane/edgeplane/runtime/router"
	"github.com/edgeplane/edgeplane/runtime/upstream"
)

// CompileRoutes parses a device's routes into the router's table. An error
// names the route and, through *route.Error, the line and column.
func CompileRoutes(routes []api.Route) (router.Routes, error) {
	entries := make([]route.Entry, 0, len(routes))
	var errs []error
	var bodySources []*route.Route
	for _, r := range routes {
		p, err := route.Parse(r.Text)
		if err != nil {
			errs = append(errs, fmt.Errorf("route %q: %w", r.Name, err))
			continue
		}
		if r.Priority < 0 || r.Priority > 9 {
			errs = append(errs, fmt.Errorf("route %q: priority %d is not 0 to 9", r.Name, r.Priority))
			continue
		}
		if r.TimeToLiveSeconds < 0 {
			errs = append(errs, fmt.Errorf("route %q: negative time_to_live_seconds", r.Name))
			continue
		}
		if strings.Contains(p.Condition(), "$body") {
			// The same source without the condition tells whether a
			// message was one this route reads the body of.
			bodySources = append(bodySources, route.MustParse("FROM "+p.Source+" INTO $upstream"))
		}
		entries = append(entries, route.Entry{Name: r.Name, Route: p, Priority: r.Priority,
			TTL: time.Duration(r.TimeToLiveSeconds) * time.Second})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &routeTable{t: route.NewTable(entries), bodySources: bodySources}, nil
}

// routeTable evaluates the route package's table for the router.
type routeTable struct {
	t           *route.Table
	bodySources []*route.Route
}

func (rt *routeTable) Targets(m *router.Message, dst []router.Target) ([]router.Target, error) {
	rm := route.Message{
		Module: m.Module, Output: m.Output,
		ContentType: m.Bag.ContentType, ContentEncoding: m.Bag.ContentEncoding,
		MessageID: m.Bag.MessageID, CorrelationID: m.Bag.CorrelationID, UserID: m.Bag.UserID,
		ConnectionDeviceID: m.Bag.ConnectionDeviceID, ConnectionModuleID: m.Bag.ConnectionModuleID,
		Properties: m.Bag.Properties, Body: m.Body,
	}
	var buf [4]route.Delivery
	ds := rt.t.Deliveries(&rm, buf[:0])
	if len(ds) == 0 && len(rt.bodySources) > 0 && !json.Valid(m.Body) {
		// A $body condition is false for a body that is not JSON; say so
		// rather than "no route", which would hide the sender's mistake.
		for _, src := range rt.bodySources {
			if src.Match(&rm) {
				return dst, router.ErrBodyNotJSON
			}
		}
	}
	for _, d := range ds {
		t := router.Target{Priority: d.Priority, TTL: d.TTL, Route: d.Route}
		switch d.Sink.Kind {
		case route.SinkUpstream:
			t.Upstream = true
		case route.SinkModuleInput:
			t.Module, t.Input = d.Sink.Module, d.Sink.Input
		default:
			continue
		}
		dst = append(dst, t)
	}
	return dst, nil
}

// forwarderSink hands the router's $upstream batches to the store-and-
// forward queue.
type forwarderSink struct {
	f   *upstream.Forwarder
	log *slog.Logger
}

func toUpstream(r router.Routed) upstream.Message {
	m := r.Message
	return upstream.Message{
		Module: m.Module, Output: m.Output,
		ContentType: m.Bag.ContentType, ContentEncoding: m.Bag.ContentEncoding,
		MessageID: m.Bag.MessageID, CorrelationID: m.Bag.CorrelationID, UserID: m.Bag.UserID,
		ConnectionDeviceID: m.Bag.ConnectionDeviceID, ConnectionModuleID: m.Bag.ConnectionModuleID,
		Properties: m.Bag.Properties, Body: m.Body,
		Priority: r.Target.Priority, TTL: r.Target.TTL,
	}
}

// Enqueue writes batch with one durable write. When the queue refuses the
// batch while it is healthy and not full, a message of it is one the queue
// can never take (a topic too long for the upstream broker): the messages
// are then written one by one and such a message is dropped and logged,
// so that it does not block the router for ever.
func (s *forwarderSink) Enqueue(batch []router.Routed) error {
	msgs := make([]upstream.Message, len(batch))
	for i, r := range batch {
		msgs[i] = toUpstream(r)
	}
	err := s.f.Enqueue(msgs...)
	if err == nil || s.f.Healthy() != nil || errors.Is(err, queue.ErrFull) {
		return err
	}
	for i := range msgs {
		if err := s.f.Enqueue(msgs[i]); err != nil {
			if s.f.Healthy() != nil || errors.Is(err, queue.ErrFull) {
				return err
			}
			s.log.Warn("upstream message dropped", "reason", "upstream_rejected",
				"module", msgs[i].Module, "output", msgs[i].Output, "err", err)
		}
	}
	return nil
}
