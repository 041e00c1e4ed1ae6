// Package agent is the gateway's container reconciler: it makes rootless
// Podman run the modules of a desired state, through the Podman v4 API.
//
// Every container it creates carries labels that mark it as Edgeplane's
// (LabelManaged), name its module (LabelModule) and hold the hash of the
// module's normalised specification (LabelSpecHash). A container whose hash
// matches is left alone, so restarting the gateway daemon restarts nothing;
// one whose hash differs is recreated. The agent restarts exited modules
// itself, following the module's restart policy with exponential back-off,
// so that one crash-looping module never holds up the others.
//
// The agent does not fetch desired states, store them or talk to the hub;
// package gateway does. It must be built with the Podman remote build tags
// (GO_TAGS in the GNUmakefile).
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/containers/podman/v4/pkg/bindings/containers"
	"github.com/containers/podman/v4/pkg/bindings/system"
	"github.com/containers/podman/v4/pkg/domain/entities"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/extension"
)

// Timing holds the agent's durations. Production uses DefaultTiming; tests
// shorten them so that nothing waits ten minutes.
type Timing struct {
	// BackoffBase and BackoffMax give the wait before restart n (counting
	// from 0): min(BackoffBase × 2^n, BackoffMax).
	BackoffBase, BackoffMax time.Duration
	// ResetAfter is how long a module must run healthy for its restart
	// count to go back to zero.
	ResetAfter time.Duration
	// StopTimeout is how long a module gets to stop before it is killed.
	StopTimeout time.Duration
}

// DefaultTiming is the IoT Edge restart back-off: 10 s doubling up to 5 min,
// reset after 10 min of healthy running.
var DefaultTiming = Timing{
	BackoffBase: 10 * time.Second,
	BackoffMax:  300 * time.Second,
	ResetAfter:  10 * time.Minute,
	StopTimeout: 10 * time.Second,
}

// Backoff returns the wait before restart number n (0 for the first).
func (t Timing) Backoff(n int) time.Duration {
	d := t.BackoffBase
	for i := 0; i < n && d < t.BackoffMax; i++ {
		d *= 2
	}
	return min(d, t.BackoffMax)
}

// Config configures an Agent.
type Config struct {
	// Socket is the Podman API URI, such as unix:///run/user/1000/podman/podman.sock.
	Socket string
	// Prefix is put before each module name to make its container name. An
	// appliance uses none; tests running several gateways on one Podman use
	// a unique prefix each. Only containers whose name has the prefix are
	// the agent's to manage.
	Prefix string
	Timing Timing
	Logger *slog.Logger
	// Wiring returns what the extensions add to module's container, in
	// extension order; nil means no extensions.
	Wiring func(module string) ([]extension.Wiring, error)
	// CountsFile, when set, keeps the modules' restart counts across
	// restarts of the agent, so that a restart of edgeplaned does not
	// shorten a crash-looping module's back-off.
	CountsFile string
}

// Agent reconciles Podman containers with desired states. Reconcile and
// Statuses may be called from different goroutines.
type Agent struct {
	cfg  Config
	conn context.Context // carries the bindings' connection
	log  *slog.Logger

	// limitsNote is non-empty when the host cannot enforce memory and CPU
	// limits; it says why, for module status descriptions.
	limitsNote string

	mu   sync.Mutex
	mods map[string]*moduleState

	saved map[string]moduleCounts // what CountsFile holds; used by Reconcile only
}

// moduleState is what the agent remembers of one module between passes.
type moduleState struct {
	id              string // container id, "" when none
	restarts        int
	failures        int       // consecutive failed creates or starts
	nextTry         time.Time // no create or start before this
	failure         string    // why the last create or start failed
	health          string    // last health check result
	healthAt        time.Time
	killedUnhealthy bool
	// held is set while the container is kept stopped because the module's
	// desired status is stopped. When the module is wanted running again
	// it starts at once, whatever its restart policy, and it is not counted
	// as a restart.
	held   bool
	status api.ModuleStatus
}

// New connects to the Podman API at cfg.Socket and returns an Agent. It
// fails when the API does not answer.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Timing == (Timing{}) {
		cfg.Timing = DefaultTiming
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Wiring == nil {
		cfg.Wiring = func(string) ([]extension.Wiring, error) { return nil, nil }
	}
	conn, err := bindings.NewConnection(context.Background(), cfg.Socket)
	if err != nil {
		return nil, fmt.Errorf("connecting to podman at %s: %w", cfg.Socket, err)
	}
	a := &Agent{cfg: cfg, conn: conn, log: cfg.Logger, mods: map[string]*moduleState{}}
	a.loadCounts()

	info, err := system.Info(a.bind(ctx), nil)
	if err != nil {
		return nil, fmt.Errorf("reading podman info: %w", err)
	}
	a.limitsNote = limitsNote(info.Host.Security.Rootless, info.Host.CgroupsVersion, info.Host.CgroupControllers)
	return a, nil
}

// limitsNote says why limits cannot be enforced, or "" when they can.
func limitsNote(rootless bool, cgroups string, controllers []string) string {
	if !rootless {
		return ""
	}
	if cgroups == "v1" {
		return "memory and CPU limits are not enforced: rootless Podman cannot apply them on cgroup v1"
	}
	if !slices.Contains(controllers, "memory") || !slices.Contains(controllers, "cpu") {
		return "memory and CPU limits are not enforced: " +
			"the memory and cpu cgroup controllers are not delegated to this user"
	}
	return ""
}

// Ping checks that the Podman API answers.
func (a *Agent) Ping(ctx context.Context) error {
	if _, err := system.Version(a.bind(ctx), nil); err != nil {
		return fmt.Errorf("pinging podman: %w", err)
	}
	return nil
}

// Statuses returns each desired module's runtime status after the last pass.
func (a *Agent) Statuses() map[string]api.ModuleStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]api.ModuleStatus, len(a.mods))
	for name, st := range a.mods {
		out[name] = st.status
	}
	return out
}

// Reconcile makes one pass: it removes containers of modules that are not
// desired, (re)creates containers whose spec changed, starts, stops and
// restarts modules, and updates their statuses. A module that fails is
// recorded in its status and does not stop the pass; Reconcile returns an
// error only when Podman cannot be asked what runs.
func (a *Agent) Reconcile(ctx context.Context, ds *api.DesiredState) error {
	ctx = a.bind(ctx)
	now := time.Now()

	// Step 1: find our containers.
	list, err := containers.List(ctx, new(containers.ListOptions).WithAll(true).
		WithFilters(map[string][]string{"label": {LabelManaged + "=true"}}))
	if err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	desired := map[string]api.Module{}
	for _, m := range ds.Modules {
		desired[m.Name] = m
	}

	// Step 2: remove what is not desired: removed modules, and orphans such
	// as a container whose name does not match its module label.
	have := map[string]entities.ListContainer{}
	for _, c := range list {
		name := containerName(c)
		if !strings.HasPrefix(name, a.cfg.Prefix) {
			continue // another gateway's on a shared test host
		}
		mod := c.Labels[LabelModule]
		if _, ok := desired[mod]; ok && name == a.cfg.Prefix+mod {
			have[mod] = c
			continue
		}
		a.log.Info("removing container", "module", mod, "container", name)
		if err := a.remove(ctx, c.ID); err != nil {
			a.log.Error("removing container", "module", mod, "container", name, "err", err)
		}
	}
	a.mu.Lock()
	for name := range a.mods {
		if _, ok := desired[name]; !ok {
			delete(a.mods, name)
		}
	}
	a.mu.Unlock()

	// Step 3: each desired module in startup order. Missing containers are
	// pulled and created side by side first: only starts follow the order.
	// Nothing here waits for a module, so a crash loop costs the others
	// nothing.
	mods := slices.Clone(ds.Modules)
	slices.SortStableFunc(mods, func(x, y api.Module) int {
		if x.StartupOrder != y.StartupOrder {
			return x.StartupOrder - y.StartupOrder
		}
		return strings.Compare(x.Name, y.Name)
	})
	created := a.createMissing(ctx, mods, have, ds.Registries, now)
	for _, m := range mods {
		c, ok := have[m.Name]
		var cp *entities.ListContainer
		if ok {
			cp = &c
		}
		st := a.moduleState(m.Name)
		s := a.reconcileModule(ctx, m, cp, created[m.Name], ds.Registries, st, now)
		a.mu.Lock()
		st.status = s
		a.mu.Unlock()
	}
	a.saveCounts()
	return nil
}

// createResult is the outcome of creating a module's container ahead of
// its turn.
type createResult struct {
	id  string
	err error
}

// maxParallelCreates bounds concurrent pulls and creates; Podman
// serialises much of the work anyway, and a gateway has few cores.
const maxParallelCreates = 3

// createMissing creates, concurrently, the containers of modules that have
// none and are not waiting out a failure.
func (a *Agent) createMissing(ctx context.Context, mods []api.Module, have map[string]entities.ListContainer,
	regs []api.Registry, now time.Time,
) map[string]*createResult {
	out := map[string]*createResult{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, maxParallelCreates)
	for _, m := range mods {
		if _, ok := have[m.Name]; ok {
			continue
		}
		a.mu.Lock()
		st, known := a.mods[m.Name]
		wait := known && now.Before(st.nextTry)
		a.mu.Unlock()
		if wait {
			continue
		}
		wiring, err := a.cfg.Wiring(m.Name)
		if err != nil {
			continue // reported by reconcileModule
		}
		spec := NewSpec(m, wiring)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			id, err := a.create(ctx, m, spec, spec.Hash(), regs)
			mu.Lock()
			out[m.Name] = &createResult{id: id, err: err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (a *Agent) moduleState(name string) *moduleState {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.mods[name]
	if !ok {
		st = &moduleState{}
		a.mods[name] = st
	}
	return st
}

// reconcileModule brings one module towards m and returns its status. c is
// its current container or nil; pre, when not nil, is the container
// createMissing made for it.
func (a *Agent) reconcileModule(ctx context.Context, m api.Module, c *entities.ListContainer,
	pre *createResult, regs []api.Registry, st *moduleState, now time.Time,
) api.ModuleStatus {
	log := a.log.With("module", m.Name)
	status := api.ModuleStatus{Image: m.Image, RestartCount: st.restarts}
	var notes []string
	if co := m.CreateOptions; co != nil && (co.MemoryBytes > 0 || co.CPUs > 0) && a.limitsNote != "" {
		notes = append(notes, a.limitsNote)
	}
	describe := func(s string) {
		if s != "" {
			notes = append([]string{s}, notes...)
		}
		status.Description = strings.Join(notes, "; ")
	}

	// Step 1: compute the spec; a changed one replaces the container.
	wiring, err := a.cfg.Wiring(m.Name)
	if err != nil {
		status.Status = api.RuntimeFailed
		describe(fmt.Sprintf("wiring module: %v", err))
		return status
	}
	spec := NewSpec(m, wiring)
	hash := spec.Hash()
	if c != nil && c.Labels[LabelSpecHash] != hash && a.readyToReplace(ctx, m, c, regs, st, now) {
		log.Info("spec changed, recreating container")
		if err := a.remove(ctx, c.ID); err != nil {
			status.Status = api.RuntimeFailed
			describe(fmt.Sprintf("removing old container: %v", err))
			return status
		}
		c = nil
	} else if c != nil && c.Labels[LabelSpecHash] != hash {
		notes = append(notes, fmt.Sprintf("update pending: %s; retrying at %s; the previous version keeps running",
			st.failure, clock(st.nextTry)))
	}
	if st.id != "" && (c == nil || c.ID != st.id) {
		// The container is gone, we removed it, or it is not the one the
		// state was about: a new one starts afresh.
		*st = moduleState{}
		status.RestartCount = 0
	}

	// Step 2: create the container when there is none, unless an earlier
	// failure asks us to wait.
	if c == nil {
		if now.Before(st.nextTry) {
			status.Status = api.RuntimeFailed
			describe(fmt.Sprintf("%s; retrying at %s", st.failure, clock(st.nextTry)))
			return status
		}
		var id string
		var err error
		if pre != nil {
			id, err = pre.id, pre.err
		} else {
			id, err = a.create(ctx, m, spec, hash, regs)
		}
		if err != nil {
			log.Warn("creating container", "image", m.Image, "err", err)
			a.failed(st, err.Error(), now)
			status.Status = api.RuntimeFailed
			describe(err.Error())
			return status
		}
		log.Debug("created container", "image", m.Image, "id", id)
		st.id, st.failure = id, ""
		c = &entities.ListContainer{ID: id, State: "created"}
	}
	st.id = c.ID
	if c.StartedAt > 0 {
		status.LastStart = time.Unix(c.StartedAt, 0).UTC()
	}
	if c.ExitedAt > 0 && c.State != "running" {
		status.LastExit = time.Unix(c.ExitedAt, 0).UTC()
		status.ExitCode = int(c.ExitCode)
	}

	// Step 3: a module that should be stopped is stopped, and its container
	// kept for when it is wanted running again.
	if m.DesiredStatus == api.StatusStopped {
		st.held = true
		if c.State == "running" {
			log.Info("stopping module")
			if err := a.stop(ctx, c.ID); err != nil {
				log.Warn("stopping module", "err", err)
			}
		}
		status.Status = api.RuntimeStopped
		describe("")
		return status
	}

	// Step 4: a running module is checked for health; an unhealthy one is
	// stopped when its policy restarts unhealthy modules, and then goes
	// through the restart path below on a later pass.
	if c.State == "running" {
		st.held = false
		if st.restarts > 0 && c.StartedAt > 0 && now.Sub(time.Unix(c.StartedAt, 0)) >= a.cfg.Timing.ResetAfter &&
			st.health != "unhealthy" {
			st.restarts = 0
			status.RestartCount = 0
		}
		a.checkHealth(ctx, m, c, st, now)
		if st.health == "unhealthy" {
			status.Status = api.RuntimeUnhealthy
			if restartsUnhealthy(m.RestartPolicy) {
				log.Warn("module unhealthy, restarting")
				st.killedUnhealthy = true
				if err := a.stop(ctx, c.ID); err != nil {
					log.Warn("stopping unhealthy module", "err", err)
				}
			}
			describe("health check failing")
			return status
		}
		status.Status = api.RuntimeRunning
		describe("")
		return status
	}

	// Step 5: the container is not running. A new container starts at once;
	// an exited one restarts only when its policy says so, after back-off.
	exited := (c.State == "exited" || c.State == "stopped") && !st.held
	if exited {
		ran := time.Duration(c.ExitedAt-c.StartedAt) * time.Second
		if c.StartedAt > 0 && ran >= a.cfg.Timing.ResetAfter {
			st.restarts = 0
		}
		unhealthy := st.killedUnhealthy
		if !shouldRestart(m.RestartPolicy, int(c.ExitCode), unhealthy) {
			status.Status = api.RuntimeStopped
			if c.ExitCode != 0 {
				status.Status = api.RuntimeFailed
			}
			describe(fmt.Sprintf("exited with code %d; restart policy %s", c.ExitCode, policy(m.RestartPolicy)))
			return status
		}
		wait := a.cfg.Timing.Backoff(st.restarts)
		at := time.Unix(c.ExitedAt, 0).Add(wait)
		if now.Before(at) {
			status.Status = api.RuntimeBackoff
			status.RestartCount = st.restarts
			describe(fmt.Sprintf("exited with code %d; restarting at %s", c.ExitCode, clock(at)))
			return status
		}
	}
	if now.Before(st.nextTry) {
		status.Status = api.RuntimeBackoff
		describe(fmt.Sprintf("%s; retrying at %s", st.failure, clock(st.nextTry)))
		return status
	}

	if err := containers.Start(ctx, c.ID, nil); err != nil {
		log.Warn("starting module", "err", err)
		a.failed(st, fmt.Sprintf("starting container: %v", err), now)
		status.Status = api.RuntimeFailed
		describe(st.failure)
		return status
	}
	if exited {
		st.restarts++
		log.Info("restarted module", "restarts", st.restarts)
	} else {
		log.Info("started module")
	}
	st.failures, st.failure, st.killedUnhealthy, st.health, st.held = 0, "", false, "", false
	status.Status = api.RuntimeRunning
	status.RestartCount = st.restarts
	status.LastStart = a.startedAt(ctx, c.ID, now)
	describe("")
	return status
}

// startedAt returns when Podman says container id started, in whole
// seconds as its container list gives it, so that the reported start time
// does not move on the next reconcile; fallback is used when inspecting
// fails.
func (a *Agent) startedAt(ctx context.Context, id string, fallback time.Time) time.Time {
	data, err := containers.Inspect(ctx, id, nil)
	if err != nil || data.State == nil || data.State.StartedAt.IsZero() {
		return fallback.UTC().Truncate(time.Second)
	}
	return time.Unix(data.State.StartedAt.Unix(), 0).UTC()
}

// clock formats a moment for a status description. It is absolute rather
// than a count-down so that the description, and with it the report to the
// hub, does not change on every pass.
func clock(t time.Time) string { return t.UTC().Format("15:04:05Z") }

// readyToReplace reports whether a running module's container may be
// removed for a new spec. The new image is pulled first, so that a registry
// that cannot be reached leaves the previous version running rather than
// no version at all; a failed pull is retried with back-off.
func (a *Agent) readyToReplace(ctx context.Context, m api.Module, c *entities.ListContainer,
	regs []api.Registry, st *moduleState, now time.Time,
) bool {
	if c.State != "running" || m.ImagePullPolicy == api.PullNever {
		return true
	}
	if now.Before(st.nextTry) {
		return false
	}
	if err := a.pull(ctx, m, regs); err != nil {
		a.log.Warn("pulling image for update", "module", m.Name, "image", m.Image, "err", err)
		a.failed(st, err.Error(), now)
		return false
	}
	return true
}

// failed records a failed create or start and schedules the next try.
func (a *Agent) failed(st *moduleState, why string, now time.Time) {
	st.failure = why
	st.nextTry = now.Add(a.cfg.Timing.Backoff(st.failures))
	st.failures++
}

func policy(p string) string {
	if p == "" {
		return api.RestartAlways
	}
	return p
}

// shouldRestart applies the IoT Edge restart policies: never restarts
// nothing; on-failure restarts a non-zero exit; on-unhealthy also restarts
// a module stopped for failing its health check; always restarts any exit.
func shouldRestart(p string, exitCode int, unhealthy bool) bool {
	switch policy(p) {
	case api.RestartNever:
		return false
	case api.RestartOnFailure:
		return exitCode != 0 && !unhealthy
	case api.RestartOnUnhealthy:
		return exitCode != 0 || unhealthy
	default:
		return true
	}
}

func restartsUnhealthy(p string) bool {
	p = policy(p)
	return p == api.RestartOnUnhealthy || p == api.RestartAlways
}

// checkHealth runs the module's health check when one is due. Podman's own
// timers need systemd, so the agent runs the checks itself.
func (a *Agent) checkHealth(ctx context.Context, m api.Module, c *entities.ListContainer,
	st *moduleState, now time.Time,
) {
	hc := healthCheck(m)
	if hc == nil {
		st.health = ""
		return
	}
	interval, start := 30*time.Second, time.Duration(0)
	if d, err := time.ParseDuration(hc.Interval); err == nil && d > 0 {
		interval = d
	}
	if d, err := time.ParseDuration(hc.StartPeriod); err == nil {
		start = d
	}
	if c.StartedAt > 0 && now.Sub(time.Unix(c.StartedAt, 0)) < start {
		return
	}
	if now.Sub(st.healthAt) < interval {
		return
	}
	st.healthAt = now
	res, err := containers.RunHealthCheck(ctx, c.ID, nil)
	if err != nil {
		a.log.Debug("running health check", "module", m.Name, "err", err)
		return
	}
	st.health = res.Status
}

func healthCheck(m api.Module) *api.HealthCheck {
	if m.CreateOptions == nil {
		return nil
	}
	return m.CreateOptions.HealthCheck
}

func (a *Agent) stop(ctx context.Context, id string) error {
	t := uint(a.cfg.Timing.StopTimeout / time.Second)
	return containers.Stop(ctx, id, new(containers.StopOptions).WithTimeout(t).WithIgnore(true))
}

func (a *Agent) remove(ctx context.Context, id string) error {
	if err := a.stop(ctx, id); err != nil {
		a.log.Debug("stopping container before removal", "id", id, "err", err)
	}
	opts := new(containers.RemoveOptions).WithForce(true).WithIgnore(true).WithVolumes(false)
	_, err := containers.Remove(ctx, id, opts)
	if err != nil {
		return fmt.Errorf("removing container %s: %w", id, err)
	}
	return nil
}

// RemoveAll removes every container the agent manages; the gateway calls it
// for an empty desired state on purpose, never on shutdown.
func (a *Agent) RemoveAll(ctx context.Context) error {
	return a.Reconcile(ctx, &api.DesiredState{})
}

// ContainerName returns the name of module's container.
func (a *Agent) ContainerName(module string) string { return a.cfg.Prefix + module }

func containerName(c entities.ListContainer) string {
	if len(c.Names) == 0 {
		return ""
	}
	return strings.TrimPrefix(c.Names[0], "/")
}

// bind returns ctx carrying the Podman connection, so that calls are
// cancelled with ctx.
func (a *Agent) bind(ctx context.Context) context.Context {
	return boundContext{Context: ctx, values: a.conn}
}

type boundContext struct {
	context.Context
	values context.Context
}

func (b boundContext) Value(key any) any {
	if v := b.values.Value(key); v != nil {
		return v
	}
	return b.Context.Value(key)
}

// errNoImage is returned by create when the image is missing and the pull
// policy forbids pulling.
var errNoImage = errors.New("image not present and image_pull_policy is never")
