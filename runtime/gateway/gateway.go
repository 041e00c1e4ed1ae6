// Package gateway is edgeplaned's core: it ties the hub client, the state
// store, the container agent and the extensions into one loop, and speaks
// to systemd (readiness, status line, watchdog).
//
// For each desired state the hub sends, the gateway validates it (its own
// checks, then every extension's), stores it, applies it to the
// extensions and reconciles the containers; a state that fails validation
// is rejected whole, reported as the device's last error, and the last good
// state keeps running. Between states it reconciles on a short tick, so
// that crashed modules are restarted and statuses reach the hub within
// seconds.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/internal/version"
	"github.com/edgeplane/edgeplane/runtime/agent"
	"github.com/edgeplane/edgeplane/runtime/extension"
	"github.com/edgeplane/edgeplane/runtime/hubsync"
	"github.com/edgeplane/edgeplane/runtime/state"
)

// CountsFileName is the file in the data directory that keeps the modules'
// restart counts across restarts of edgeplaned.
const CountsFileName = "restart-counts.json"

// Timing holds the gateway's intervals. Tests shorten them.
type Timing struct {
	Agent agent.Timing
	// Tick is how often containers are reconciled between desired states.
	Tick time.Duration
	// Heartbeat is how often the agent info is reported, well inside
	// api.OnlineWindow.
	Heartbeat time.Duration
	// Wait is the long-poll wait asked of the hub.
	Wait time.Duration
}

// DefaultTiming is what an appliance runs with.
var DefaultTiming = Timing{
	Agent:     agent.DefaultTiming,
	Tick:      2 * time.Second,
	Heartbeat: 30 * time.Second,
	Wait:      30 * time.Second,
}

// Options configure a Gateway.
type Options struct {
	Config *Config
	// Extensions follow the desired state next to the containers. The
	// message bus plugs in here (see cmd/edgeplaned).
	Extensions []extension.Extension
	Timing     Timing
	Logger     *slog.Logger
}

// Gateway runs the device.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	store   *state.Store
	hub     *hubsync.Client
	rep     *hubsync.Reporter
	agent   *agent.Agent
	started time.Time

	// Owned by the main loop.
	current  *api.DesiredState // last good state, never nil after start
	reported map[string]api.ModuleStatus
	ready    bool

	mu        sync.Mutex
	lastErr   string    // why the newest state was rejected
	pollBeat  time.Time // the hub loop's last sign of life
	podmanOK  bool
	podmanErr error
	lastSeenV int64
}

// New prepares a Gateway; Run starts it.
func New(opts Options) (*Gateway, error) {
	if opts.Timing == (Timing{}) {
		opts.Timing = DefaultTiming
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg := opts.Config
	log := opts.Logger.With("device", cfg.DeviceID)

	st, err := state.Open(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	hub, err := hubsync.New(hubsync.Config{
		URL: cfg.HubURL, DeviceID: cfg.DeviceID, Key: cfg.Key(), CAFile: cfg.HubCAFile,
		Wait: opts.Timing.Wait, UserAgent: "edgeplaned/" + version.Version,
	})
	if err != nil {
		return nil, err
	}
	return &Gateway{
		opts: opts, log: log, store: st, hub: hub,
		rep:     hubsync.NewReporter(hub, log),
		started: time.Now().UTC(),
	}, nil
}

// Run runs the gateway until ctx is cancelled. It returns an error only
// when it cannot start; modules keep running after it returns.
func (g *Gateway) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	// Step 1: the reporter queues from now on, whether the hub is there or
	// not.
	wg.Add(1)
	go func() { defer wg.Done(); g.rep.Run(ctx) }()
	g.rep.Report(api.ReportedPatch{Agent: g.agentInfo()})

	// Step 2: the last good state, so an offline gateway runs its modules.
	ds, err := g.store.Load()
	if err != nil {
		g.log.Error("loading stored desired state, starting empty", "err", err)
	}
	if ds == nil {
		ds = &api.DesiredState{DeviceID: g.opts.Config.DeviceID}
	} else {
		g.log.Info("loaded stored desired state", "version", ds.Version, "modules", len(ds.Modules))
	}
	g.current = ds
	g.lastSeenV = ds.Version

	// Step 3: Podman. The user's API socket may come up after us.
	if err := g.connectPodman(ctx); err != nil {
		return err
	}

	// Step 4: extensions run for the daemon's lifetime.
	for _, ext := range g.opts.Extensions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ext.Run(ctx, g.rep); err != nil && ctx.Err() == nil {
				g.log.Error("extension stopped", "extension", ext.Name(), "err", err)
			}
		}()
	}

	// Step 5: apply the stored state, then tell systemd we are ready.
	applied := g.apply(ctx, g.current, false)
	g.reconcile(ctx)
	g.rep.Report(applied)
	g.ready = true
	g.notify("READY=1")
	g.notify("STATUS=" + g.statusLine())
	g.log.Info("ready", "applied_version", g.current.Version)

	// Step 6: the hub loop, then the main loop.
	states := make(chan *api.DesiredState, 1)
	wg.Add(1)
	go func() { defer wg.Done(); g.pollLoop(ctx, states) }()
	g.mainLoop(ctx, states)
	g.notify("STOPPING=1")
	g.log.Info("stopping")
	return nil
}

// connectPodman waits for the Podman API, retrying with back-off.
func (g *Gateway) connectPodman(ctx context.Context) error {
	backoff := time.Second
	for {
		a, err := agent.New(ctx, agent.Config{
			Socket: g.opts.Config.PodmanSocket, Prefix: g.opts.Config.ContainerPrefix,
			Timing: g.opts.Timing.Agent, Logger: g.log, Wiring: g.wiring,
			CountsFile: filepath.Join(g.opts.Config.DataDir, CountsFileName),
		})
		if err == nil {
			g.agent = a
			return nil
		}
		g.log.Warn("podman not reachable", "err", err, "retry_in", backoff)
		g.notify("STATUS=waiting for the Podman API: " + err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// wiring asks every extension what it adds to module's container.
func (g *Gateway) wiring(module string) ([]extension.Wiring, error) {
	var ws []extension.Wiring
	for _, ext := range g.opts.Extensions {
		w, err := ext.Wiring(module)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ext.Name(), err)
		}
		ws = append(ws, w)
	}
	return ws, nil
}

func (g *Gateway) mainLoop(ctx context.Context, states <-chan *api.DesiredState) {
	tick := time.NewTicker(g.opts.Timing.Tick)
	defer tick.Stop()
	heartbeat := time.NewTicker(g.opts.Timing.Heartbeat)
	defer heartbeat.Stop()
	var watchdog <-chan time.Time
	if d, err := daemon.SdWatchdogEnabled(false); err == nil && d > 0 {
		t := time.NewTicker(d / 3)
		defer t.Stop()
		watchdog = t.C
	}

	for {
		select {
		case <-ctx.Done():
			return
		case ds := <-states:
			applied, ok := g.accept(ctx, ds)
			g.reconcile(ctx)
			if ok {
				// Only now does the new state run.
				g.rep.Report(applied)
			}
		case <-tick.C:
			g.reconcile(ctx)
		case <-heartbeat.C:
			g.rep.Report(api.ReportedPatch{Agent: g.agentInfo()})
		case <-watchdog:
			if err := g.Healthy(); err != nil {
				g.log.Warn("unhealthy, withholding watchdog ping", "err", err)
				continue
			}
			g.notify("WATCHDOG=1")
		}
	}
}

// accept validates ds and, when it is good, stores and applies it, and
// returns the patch to report once containers follow. A bad one is reported
// and the last good state stays; ok is then false.
func (g *Gateway) accept(ctx context.Context, ds *api.DesiredState) (applied api.ReportedPatch, ok bool) {
	log := g.log.With("version", ds.Version)
	if err := g.validate(ds); err != nil {
		log.Warn("rejected desired state", "err", err)
		g.setLastErr(fmt.Sprintf("desired state %d rejected: %v", ds.Version, err))
		return api.ReportedPatch{}, false
	}
	if err := g.store.Save(ds); err != nil {
		// Without a durable copy the state would be lost on reboot; running
		// it anyway is still better than ignoring the operator.
		log.Error("storing desired state", "err", err)
	}
	log.Info("accepted desired state", "modules", len(ds.Modules))
	g.current = ds
	return g.apply(ctx, ds, true), true
}

func (g *Gateway) validate(ds *api.DesiredState) error {
	if ds.DeviceID != g.opts.Config.DeviceID {
		return fmt.Errorf("device_id %q is not this gateway's %q", ds.DeviceID, g.opts.Config.DeviceID)
	}
	errs := []error{agent.Validate(ds, agent.LocalHost())}
	for _, ext := range g.opts.Extensions {
		if err := ext.Validate(ds); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ext.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// apply hands ds to the extensions and returns the patch that reports it
// applied, to send once containers have been reconciled.
func (g *Gateway) apply(ctx context.Context, ds *api.DesiredState, fresh bool) api.ReportedPatch {
	var errs []error
	for _, ext := range g.opts.Extensions {
		if err := ext.Apply(ctx, ds); err != nil {
			g.log.Error("applying desired state", "extension", ext.Name(), "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", ext.Name(), err))
		}
	}
	v := ds.Version
	p := api.ReportedPatch{AppliedVersion: &v}
	if err := errors.Join(errs...); err != nil {
		g.setLastErrNoReport(fmt.Sprintf("applying desired state %d: %v", v, err))
	} else if fresh || g.getLastErr() == "" {
		g.setLastErrNoReport("")
	}
	le := g.getLastErr()
	p.LastError = &le
	return p
}

// reconcile makes one agent pass over the current state and reports what
// changed.
func (g *Gateway) reconcile(ctx context.Context) {
	err := g.agent.Reconcile(ctx, g.current)
	g.mu.Lock()
	g.podmanOK, g.podmanErr = err == nil, err
	g.mu.Unlock()
	if err != nil {
		g.log.Warn("reconciling containers", "err", err)
	}
	g.reportModules()
	if g.ready {
		g.notify("STATUS=" + g.statusLine())
	}
}

// reportModules sends the statuses that changed since the last report;
// modules no longer desired are removed from the report.
func (g *Gateway) reportModules() {
	now := g.agent.Statuses()
	patch := map[string]*api.ModuleStatus{}
	for name, s := range now {
		if old, ok := g.reported[name]; !ok || !reflect.DeepEqual(old, s) {
			patch[name] = &s
		}
	}
	for name := range g.reported {
		if _, ok := now[name]; !ok {
			patch[name] = nil
		}
	}
	if len(patch) == 0 {
		return
	}
	for name, s := range patch {
		if s != nil {
			g.log.Debug("module status", "module", name, "status", s.Status, "description", s.Description)
		}
	}
	g.reported = maps.Clone(now)
	g.rep.Report(api.ReportedPatch{Modules: patch})
}

// pollLoop long-polls the hub and passes each new state to the main loop.
func (g *Gateway) pollLoop(ctx context.Context, states chan<- *api.DesiredState) {
	backoff := time.Second
	for {
		g.beat()
		g.mu.Lock()
		after := g.lastSeenV
		g.mu.Unlock()
		ds, err := g.hub.Poll(ctx, after)
		g.beat()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if errors.Is(err, hubsync.ErrMalformed) {
				// The hub is reachable but sent nonsense; report it and
				// wait as for any error, so as not to spin on it.
				g.log.Warn("rejected desired state", "err", err)
				g.setLastErr(err.Error())
			} else {
				g.log.Warn("polling hub", "err", err, "retry_in", backoff)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		if ds == nil {
			continue
		}
		g.mu.Lock()
		g.lastSeenV = ds.Version
		g.mu.Unlock()
		select {
		case states <- ds:
		case <-ctx.Done():
			return
		}
	}
}

func (g *Gateway) beat() {
	g.mu.Lock()
	g.pollBeat = time.Now()
	g.mu.Unlock()
}

// Healthy returns nil while the Podman API answers, the hub loop is alive
// (reachable or not: an offline gateway is degraded, not broken) and every
// extension is healthy. The systemd watchdog is pinged only then.
func (g *Gateway) Healthy() error {
	g.mu.Lock()
	podmanOK, podmanErr, beat := g.podmanOK, g.podmanErr, g.pollBeat
	g.mu.Unlock()
	if !podmanOK {
		return fmt.Errorf("podman API: %w", podmanErr)
	}
	// A poll lasts at most the wait plus the client's margin.
	if limit := g.opts.Timing.Wait + 90*time.Second; time.Since(beat) > limit {
		return fmt.Errorf("hub loop silent for %s", time.Since(beat).Round(time.Second))
	}
	for _, ext := range g.opts.Extensions {
		if err := ext.Healthy(); err != nil {
			return fmt.Errorf("extension %s: %w", ext.Name(), err)
		}
	}
	return nil
}

// statusLine is the human STATUS= text, like "3/3 modules running, hub
// connected".
func (g *Gateway) statusLine() string {
	want, running := 0, 0
	st := g.agent.Statuses()
	for _, m := range g.current.Modules {
		if m.DesiredStatus == api.StatusStopped {
			continue
		}
		want++
		if st[m.Name].Status == api.RuntimeRunning {
			running++
		}
	}
	line := fmt.Sprintf("%d/%d modules running", running, want)
	if ok, err := g.hub.Connected(); ok {
		line += ", hub connected"
	} else if err != nil {
		line += ", hub unreachable"
	} else {
		line += ", connecting to hub"
	}
	if le := g.getLastErr(); le != "" {
		line += ", last desired state rejected"
	}
	g.mu.Lock()
	if !g.podmanOK {
		line += ", Podman API failing"
	}
	g.mu.Unlock()
	return line
}

func (g *Gateway) setLastErr(s string) {
	g.setLastErrNoReport(s)
	g.rep.Report(api.ReportedPatch{LastError: &s})
}

func (g *Gateway) setLastErrNoReport(s string) {
	g.mu.Lock()
	g.lastErr = s
	g.mu.Unlock()
}

func (g *Gateway) getLastErr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lastErr
}

func (g *Gateway) agentInfo() *api.AgentInfo {
	host, _ := os.Hostname()
	return &api.AgentInfo{Version: version.Version, StartedAt: g.started, Hostname: host}
}

// notify sends a state to systemd; without NOTIFY_SOCKET it does nothing.
func (g *Gateway) notify(s string) {
	if _, err := daemon.SdNotify(false, s); err != nil {
		g.log.Debug("notifying systemd", "err", err)
	}
}
