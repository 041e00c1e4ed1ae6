// Package hub is the Edgeplane control plane's HTTP server: the operator API
// under /v1 that Terraform and the CLI call, the device API under /v1/device
// that gateways long-poll, and /healthz and /readyz. The wire types are in
// hub/api; storage is behind hub/store. The package validates and
// authenticates; it keeps no state of its own beyond long-poll waiters, so
// several servers may share one PostgreSQL store.
package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeplane/edgeplane/hub/store"
)

// DefaultLongPollMax is the longest a device long-poll waits when Config
// sets no bound.
const DefaultLongPollMax = 60 * time.Second

// Config configures a Server.
type Config struct {
	// Store keeps the state; required.
	Store store.Store
	// Tokens are the operator bearer tokens; at least one is required.
	Tokens []string
	// LongPollMax bounds the wait of a device long-poll.
	LongPollMax time.Duration
	// Logger receives request errors; slog.Default() when nil.
	Logger *slog.Logger
}

// Server serves the hub's HTTP API. Create it with New.
type Server struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	waits  *broker
	closed chan struct{}
	once   sync.Once

	// seen throttles last-seen writes: device id -> time of last write.
	seen sync.Map
}

// ErrNoTokens is returned by New when no operator token is configured.
var ErrNoTokens = errors.New("no operator token configured")

// New returns a server over cfg.Store. It registers with the store for
// change notifications.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("hub: no store configured")
	}
	tokens := cfg.Tokens[:0:0]
	for _, t := range cfg.Tokens {
		if t != "" {
			tokens = append(tokens, t)
		}
	}
	if len(tokens) == 0 {
		return nil, ErrNoTokens
	}
	cfg.Tokens = tokens
	if cfg.LongPollMax <= 0 {
		cfg.LongPollMax = DefaultLongPollMax
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		mux:    http.NewServeMux(),
		waits:  newBroker(),
		closed: make(chan struct{}),
	}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Pattern, rt.handler)
	}
	cfg.Store.Watch(s.waits.notify)
	return s, nil
}

// Route is one method and path pattern the server answers.
type Route struct {
	Method  string
	Pattern string // net/http ServeMux syntax: /v1/devices/{device}
	handler http.Handler
}

// Routes lists every method and path the server answers, in the order the
// API documentation lists them.
func (s *Server) Routes() []Route {
	return s.routes()
}

func (s *Server) routes() []Route {
	op, dev := s.operator, s.device
	return []Route{
		{"GET", "/healthz", http.HandlerFunc(s.healthz)},
		{"GET", "/readyz", http.HandlerFunc(s.readyz)},

		{"GET", "/v1/devices", op(s.listDevices)},
		{"PUT", "/v1/devices/{device}", op(s.putDevice)},
		{"GET", "/v1/devices/{device}", op(s.getDevice)},
		{"DELETE", "/v1/devices/{device}", op(s.deleteDevice)},
		{"GET", "/v1/devices/{device}/status", op(s.getStatus)},

		{"GET", "/v1/devices/{device}/modules", op(s.listModules)},
		{"PUT", "/v1/devices/{device}/modules/{module}", op(s.putModule)},
		{"GET", "/v1/devices/{device}/modules/{module}", op(s.getModule)},
		{"DELETE", "/v1/devices/{device}/modules/{module}", op(s.deleteModule)},

		{"GET", "/v1/devices/{device}/modules/{module}/twin", op(s.getTwin)},
		{"PUT", "/v1/devices/{device}/modules/{module}/twin", op(s.putTwin)},
		{"PATCH", "/v1/devices/{device}/modules/{module}/twin", op(s.patchTwin)},

		{"GET", "/v1/devices/{device}/routes", op(s.listRoutes)},
		{"PUT", "/v1/devices/{device}/routes/{route}", op(s.putRoute)},
		{"GET", "/v1/devices/{device}/routes/{route}", op(s.getRoute)},
		{"DELETE", "/v1/devices/{device}/routes/{route}", op(s.deleteRoute)},

		{"GET", "/v1/devices/{device}/upstream", op(s.getUpstream)},
		{"PUT", "/v1/devices/{device}/upstream", op(s.putUpstream)},
		{"DELETE", "/v1/devices/{device}/upstream", op(s.deleteUpstream)},

		{"GET", "/v1/devices/{device}/registries", op(s.listRegistries)},
		{"PUT", "/v1/devices/{device}/registries/{name}", op(s.putRegistry)},
		{"GET", "/v1/devices/{device}/registries/{name}", op(s.getRegistry)},
		{"DELETE", "/v1/devices/{device}/registries/{name}", op(s.deleteRegistry)},

		{"GET", "/v1/device/desired", dev(s.deviceDesired)},
		{"PATCH", "/v1/device/reported", dev(s.deviceReported)},
	}
}

// ServeHTTP implements http.Handler. Paths and methods the API does not
// have get JSON errors like every other failure.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"duration", time.Since(start))
		}()
		w = sw
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unrouted(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// statusWriter remembers the status for the debug access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController and MaxBytesReader reach the
// underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{"GET", "PUT", "PATCH", "DELETE", "POST"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) == 0 {
		s.writeError(w, r, errNotFound("no API path %s; see docs/openapi.yaml", r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
		Message: r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allowed, ", ")})
}

// Waiting returns how many device long-polls are waiting for a change.
func (s *Server) Waiting() int {
	return int(s.waits.waiting.Load())
}

// Close answers every waiting long-poll with 304 and makes new ones answer
// at once, so that an http.Server's Shutdown does not wait for them. It
// does not close the store.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"}, 0)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.closed:
		s.writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: "the hub is shutting down"})
		return
	default:
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: "the store does not answer: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"}, 0)
}

// broker wakes long-polls when a device's desired state changes.
type broker struct {
	mu      sync.Mutex
	chans   map[string]chan struct{}
	waiting atomic.Int64
}

func newBroker() *broker {
	return &broker{chans: map[string]chan struct{}{}}
}

// wait returns a channel that is closed on the next change of device.
// Take it before reading the version, so that no change is missed.
func (b *broker) wait(device string) <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.chans[device]
	if !ok {
		ch = make(chan struct{})
		b.chans[device] = ch
	}
	return ch
}

// notify wakes the waiters of device, or of every device when it is "".
func (b *broker) notify(device string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if device == "" {
		for id, ch := range b.chans {
			close(ch)
			delete(b.chans, id)
		}
		return
	}
	if ch, ok := b.chans[device]; ok {
		close(ch)
		delete(b.chans, device)
	}
}
