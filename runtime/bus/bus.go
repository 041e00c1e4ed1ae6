// Package bus is the gateway's local message bus as an edgeplaned
// extension. It writes the Mosquitto configuration (a Unix-socket listener,
// one credential per module, an ACL that keeps each module to its own
// topics, deliberate queue limits) into its directory, runs Mosquitto as a
// child process, and runs the router and the twin service against it.
//
// Module changes reload the broker with SIGHUP; route changes swap the
// router's table; twin changes are sent to running modules. None of them
// restarts a module. The topic layout is in package topic and docs/bus.md.
package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/bus/topic"
	"github.com/edgeplane/edgeplane/runtime/extension"
	"github.com/edgeplane/edgeplane/runtime/router"
	"github.com/edgeplane/edgeplane/runtime/twin"
	"github.com/edgeplane/edgeplane/runtime/upstream"
)

// Paths inside every module container.
const (
	// ContainerSocketDir is where the broker's socket directory is
	// mounted; the socket is ContainerSocketDir + "/broker.sock".
	ContainerSocketDir = "/run/edgeplane/bus"
	// ContainerSecretFile is where the module's secret is mounted.
	ContainerSecretFile = "/run/edgeplane/module.secret"
)

// DefaultMosquitto is Debian's Mosquitto binary.
const DefaultMosquitto = "/usr/sbin/mosquitto"

// Environment variables of module containers.
const (
	EnvDeviceID   = "EDGEPLANE_DEVICE_ID"
	EnvModuleID   = "EDGEPLANE_MODULE_ID"
	EnvBrokerURL  = "EDGEPLANE_BROKER_URL"
	EnvSecretFile = "EDGEPLANE_MODULE_SECRET_FILE"
)

// RouteCompiler turns a device's routes into what the router evaluates.
// It is also the validation of the routes: an error rejects the state.
type RouteCompiler func(routes []api.Route) (router.Routes, error)

// Config is what New needs.
type Config struct {
	DeviceID string
	// Dir holds the broker's configuration, credentials, persistence and
	// socket. edgeplaned's bus_dir setting; it should be on persistent
	// storage and readable by edgeplaned's user only.
	Dir string
	// MosquittoPath is the broker binary; default DefaultMosquitto.
	MosquittoPath string
	// Limits are the broker's queue bounds; zero fields take DefaultLimits.
	Limits Limits
	// Routes compiles route text; default CompileRoutes.
	Routes RouteCompiler
	// FastRoutePlugin is the path of the fast-route plugin
	// (edgeplane-fastroute.so, fastroute.go); "" routes every message
	// through the router.
	FastRoutePlugin string
	// NoUpstream leaves out the store-and-forward queue: $upstream
	// messages are dropped and counted. For tests of the local bus alone.
	NoUpstream bool
	Log        *slog.Logger
}

// Bus is the local bus extension.
type Bus struct {
	cfg    Config
	log    *slog.Logger
	files  brokerFiles
	broker *broker
	router *router.Router
	twins  *twin.Service
	fwd    *upstream.Forwarder // nil with Config.NoUpstream

	mu      sync.Mutex // guards modules, open and the password file
	modules []string   // sorted names with credentials
	// open is set once the router and the twin service have subscribed.
	// Until then the password file holds only their users, so no module
	// can publish into the void before the router's session exists.
	open bool
	// admitted is set once modules can connect (openToModules).
	admitted atomic.Bool
	// reloading serialises reloadBroker: its connections share a client id.
	reloading sync.Mutex
}

var _ extension.Extension = (*Bus)(nil)

// New prepares the bus directory and the runtime's own credentials. It
// starts nothing; Run does.
func New(cfg Config) (*Bus, error) {
	if cfg.DeviceID == "" || cfg.Dir == "" {
		return nil, errors.New("configuring the bus: device id and directory are required")
	}
	if cfg.Routes == nil {
		cfg.Routes = CompileRoutes
	}
	if cfg.MosquittoPath == "" {
		cfg.MosquittoPath = DefaultMosquitto
	}
	if _, err := os.Stat(cfg.MosquittoPath); err != nil {
		return nil, fmt.Errorf("configuring the bus: %w (install the Debian package mosquitto or set mosquitto_path)", err)
	}
	d := DefaultLimits
	if cfg.Limits.MaxQueuedMessages > 0 {
		d.MaxQueuedMessages = cfg.Limits.MaxQueuedMessages
	}
	if cfg.Limits.MaxQueuedBytes > 0 {
		d.MaxQueuedBytes = cfg.Limits.MaxQueuedBytes
	}
	if cfg.Limits.MaxInflightMessages > 0 {
		d.MaxInflightMessages = cfg.Limits.MaxInflightMessages
	}
	if cfg.Limits.MemoryLimit > 0 {
		d.MemoryLimit = cfg.Limits.MemoryLimit
	}
	cfg.Limits = d
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}

	b := &Bus{cfg: cfg, log: cfg.Log, files: newBrokerFiles(cfg.Dir)}
	for _, dir := range []string{b.files.dir, b.files.persist, b.files.secrets, b.files.sessions} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the bus directory: %w", err)
		}
	}
	// The socket directory is mounted into containers; a container's
	// root is edgeplaned's user, so 0700 is enough.
	if err := os.MkdirAll(b.files.sockDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the bus directory: %w", err)
	}
	if cfg.FastRoutePlugin != "" {
		if _, err := os.Stat(cfg.FastRoutePlugin); err != nil {
			return nil, fmt.Errorf("configuring the bus: fast-route plugin: %w", err)
		}
	}
	if err := b.files.writeConfig(cfg.Limits, cfg.FastRoutePlugin); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(b.files.acl, []byte(aclText()), 0o600); err != nil {
		return nil, err
	}
	// No fast routes until the first Apply: the router takes everything.
	if err := os.Remove(b.files.fastRoutes); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if _, err := b.writeFastRoutes(nil); err != nil {
		return nil, err
	}
	routerSecret, err := b.secret(RouterUser)
	if err != nil {
		return nil, err
	}
	twinSecret, err := b.secret(TwinUser)
	if err != nil {
		return nil, err
	}
	// Modules of an earlier run keep their secrets: their containers
	// still have them mounted.
	entries, err := os.ReadDir(b.files.secrets)
	if err != nil {
		return nil, fmt.Errorf("reading module secrets: %w", err)
	}
	for _, e := range entries {
		if topic.ValidName(e.Name()) {
			b.modules = append(b.modules, e.Name())
		}
	}
	if err := b.writePasswd(); err != nil {
		return nil, err
	}

	var up router.Upstream
	if !cfg.NoUpstream {
		fwd, err := upstream.New(filepath.Join(cfg.Dir, "upstream"), cfg.DeviceID, cfg.Log.With("component", "upstream"))
		if err != nil {
			return nil, err
		}
		b.fwd = fwd
		up = &forwarderSink{f: fwd, log: cfg.Log.With("component", "router")}
	}

	url := "unix://" + b.files.sock
	b.broker = &broker{path: cfg.MosquittoPath, conf: b.files.conf, log: cfg.Log.With("component", "mosquitto")}
	b.router = router.New(router.Config{
		BrokerURL: url, Username: RouterUser, Password: routerSecret, DeviceID: cfg.DeviceID,
		Upstream: up, MaxBatch: min(500, cfg.Limits.MaxInflightMessages),
		Log: cfg.Log.With("component", "router"),
	})
	b.twins = twin.New(twin.Config{
		BrokerURL: url, Username: TwinUser, Password: twinSecret, Log: cfg.Log.With("component", "twin"),
	})
	return b, nil
}

// Name implements extension.Extension.
func (b *Bus) Name() string { return "bus" }

// SocketPath is the broker's socket on the host.
func (b *Bus) SocketPath() string { return b.files.sock }

// Router returns the router, for its statistics.
func (b *Bus) Router() *router.Router { return b.router }

// Forwarder returns the store-and-forward queue, or nil without one.
func (b *Bus) Forwarder() *upstream.Forwarder { return b.fwd }

// Run starts the broker, the router and the twin service and blocks until
// ctx ends. A broker that exits is started again after a pause.
func (b *Bus) Run(ctx context.Context, rep extension.Reporter) error {
	ready := make(chan struct{})
	var wg sync.WaitGroup
	if b.fwd != nil {
		defer b.fwd.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.fwd.Run(ctx); err != nil && ctx.Err() == nil {
				b.log.Error("upstream forwarder stopped", "err", err)
			}
		}()
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		b.runBroker(ctx, ready)
	}()
	<-ready
	go func() {
		defer wg.Done()
		_ = b.router.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		_ = b.twins.Run(ctx, rep)
	}()
	b.openToModules(ctx)
	wg.Wait()
	return nil
}

// openToModules lets modules in once the router and the twin service
// listen.
func (b *Bus) openToModules(ctx context.Context) {
	for b.router.Healthy() != nil || b.twins.Healthy() != nil {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.open = true
	if err := b.admitModules(); err != nil {
		b.log.Error("opening the bus to modules", "err", err)
		return
	}
	b.admitted.Store(true)
	b.log.Info("bus ready", "modules", len(b.modules))
}

func (b *Bus) runBroker(ctx context.Context, firstReady chan struct{}) {
	ready := firstReady
	for {
		// A socket left by a killed broker would make bind fail.
		_ = os.Remove(b.files.sock)
		if ready == nil {
			ready = make(chan struct{})
		}
		err := b.broker.run(ctx, ready)
		if ctx.Err() != nil {
			select {
			case <-ready:
			default:
				close(ready)
			}
			return
		}
		b.log.Error("broker stopped, restarting", "err", err)
		ready = nil
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Validate implements extension.Extension.
func (b *Bus) Validate(ds *api.DesiredState) error {
	for _, m := range ds.Modules {
		if !topic.ValidName(m.Name) {
			return fmt.Errorf("module %q: name cannot be used on the bus", m.Name)
		}
	}
	if err := twin.Validate(ds); err != nil {
		return err
	}
	if _, err := b.cfg.Routes(ds.Routes); err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	return nil
}

// Apply implements extension.Extension: credentials for new modules (and
// none for removed ones) with a broker reload, the new routes, the new
// desired twins.
func (b *Bus) Apply(ctx context.Context, ds *api.DesiredState) error {
	routes, err := b.cfg.Routes(ds.Routes)
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	if err := b.applyModules(ds.Modules); err != nil {
		return err
	}
	if b.fwd != nil {
		if err := b.fwd.Configure(ds.Upstream); err != nil {
			return fmt.Errorf("upstream: %w", err)
		}
	}
	b.router.SetRoutes(routes)
	changed, err := b.writeFastRoutes(ds.Routes)
	if err != nil {
		return err
	}
	if changed {
		if err := b.reloadBroker(); err != nil && !errors.Is(err, errBrokerNotRunning) {
			return err
		}
	}
	return b.twins.Apply(ds)
}

func (b *Bus) applyModules(mods []api.Module) error {
	want := make([]string, 0, len(mods))
	for _, m := range mods {
		want = append(want, m.Name)
	}
	slices.Sort(want)

	b.mu.Lock()
	defer b.mu.Unlock()
	if slices.Equal(want, b.modules) {
		if b.open && len(b.sessionsToOpen()) > 0 { // an earlier attempt failed
			return b.admitModules()
		}
		return nil
	}
	for _, m := range b.modules {
		if !slices.Contains(want, m) {
			b.discardSession(m)
			if err := os.Remove(filepath.Join(b.files.secrets, m)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing the secret of module %q: %w", m, err)
			}
		}
	}
	for _, m := range want {
		if _, err := b.secret(m); err != nil {
			return err
		}
	}
	b.modules = want
	if b.open {
		if err := b.admitModules(); err != nil {
			return err
		}
	} else {
		if err := b.writePasswd(); err != nil {
			return err
		}
		if err := b.broker.reload(); err != nil && !errors.Is(err, errBrokerNotRunning) {
			return err
		}
	}
	b.log.Info("bus credentials updated", "modules", len(want))
	return nil
}

// admitModules lets every module in with its own secret and opens the
// sessions of those that have none yet (sessions.go). b.mu is held and the
// bus is open.
func (b *Bus) admitModules() error {
	if err := b.writePasswd(); err != nil {
		return err
	}
	if err := b.reloadBroker(); err != nil && !errors.Is(err, errBrokerNotRunning) {
		return err
	}
	b.openSessions()
	return nil
}

// writePasswd writes the password file from the secrets on disk. Modules
// are left out until the bus is open. b.mu is held or b is not yet shared.
func (b *Bus) writePasswd() error {
	users := map[string]string{}
	list := []string{RouterUser, TwinUser, SyncUser}
	if b.open {
		list = append(list, b.modules...)
	}
	for _, u := range list {
		s, err := b.secret(u)
		if err != nil {
			return err
		}
		users[u] = s
	}
	return b.files.writePasswd(users)
}

// secret returns user's secret, making a fresh random one the first time.
func (b *Bus) secret(user string) (string, error) {
	path := filepath.Join(b.files.secrets, user)
	data, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(data))) >= 32 {
		return strings.TrimSpace(string(data)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading the secret of %q: %w", user, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("making a secret: %w", err)
	}
	s := hex.EncodeToString(raw)
	if err := writeFileAtomic(path, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}

// Wiring implements extension.Extension. It depends on the module name and
// the bus directory only, so it is the same on every call.
func (b *Bus) Wiring(module string) (extension.Wiring, error) {
	if !topic.ValidName(module) {
		return extension.Wiring{}, fmt.Errorf("module %q: name cannot be used on the bus", module)
	}
	return extension.Wiring{
		Env: map[string]string{
			EnvDeviceID:   b.cfg.DeviceID,
			EnvModuleID:   module,
			EnvBrokerURL:  "unix://" + ContainerSocketDir + "/broker.sock",
			EnvSecretFile: ContainerSecretFile,
		},
		Mounts: []api.Mount{
			{Type: "bind", Source: b.files.sockDir, Target: ContainerSocketDir, ReadOnly: true},
			{Type: "bind", Source: filepath.Join(b.files.secrets, module), Target: ContainerSecretFile, ReadOnly: true},
		},
	}, nil
}

// ModuleEnv is the environment a module process on the host itself needs
// (tests, development): like Wiring, with host paths.
func (b *Bus) ModuleEnv(module string) []string {
	return []string{
		EnvDeviceID + "=" + b.cfg.DeviceID,
		EnvModuleID + "=" + module,
		EnvBrokerURL + "=unix://" + b.files.sock,
		EnvSecretFile + "=" + filepath.Join(b.files.secrets, module),
	}
}

// Healthy implements extension.Extension.
func (b *Bus) Healthy() error {
	if !b.broker.running() {
		return errors.New("bus broker not running")
	}
	if !b.admitted.Load() {
		return errors.New("bus not yet open to modules")
	}
	if err := b.router.Healthy(); err != nil {
		return err
	}
	if b.fwd != nil {
		if err := b.fwd.Healthy(); err != nil {
			return err
		}
	}
	return b.twins.Healthy()
}

// reloadBroker makes the broker read its files again and returns once it
// has. Mosquitto reloads between two rounds of its event loop, after the
// signal, so the second of two round trips made after the signal is
// served by the reloaded broker: connecting is the first, a publish at
// QoS 1 (refused by the ACL, acknowledged all the same) the second.
func (b *Bus) reloadBroker() error {
	b.reloading.Lock()
	defer b.reloading.Unlock()
	if err := b.broker.reload(); err != nil {
		return err
	}
	c, err := b.connectOnce(SyncUser, true)
	if err != nil {
		return fmt.Errorf("reloading the broker: %w", err)
	}
	defer c.Disconnect(0)
	return wait(c.Publish("edgeplane/sync", 1, false, []byte{}), "reloading the broker: publishing")
}
