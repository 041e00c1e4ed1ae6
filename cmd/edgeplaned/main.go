// Command edgeplaned is the gateway daemon: it follows the device's desired
// state from the hub and runs its modules as rootless Podman containers.
// It runs as a systemd user service of a dedicated user (Type=notify); see
// appliance/systemd/edgeplaned.service and docs/gateway.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/edgeplane/edgeplane/internal/version"
	"github.com/edgeplane/edgeplane/runtime/bus"
	"github.com/edgeplane/edgeplane/runtime/extension"
	"github.com/edgeplane/edgeplane/runtime/gateway"
	"github.com/edgeplane/edgeplane/runtime/slogjournal"
)

func main() {
	configPath := flag.String("config", gateway.DefaultConfigPath, "configuration `file`")
	showVersion := flag.Bool("version", false, "print the version and exit")
	timing := flag.String("testing-timing", "",
		"shorten intervals for tests: `list` of tick=,heartbeat=,wait=,backoff=,backoff-max=,reset= durations")
	flag.Parse()
	if *showVersion {
		fmt.Println("edgeplaned", version.Version)
		return
	}
	if err := run(*configPath, *timing); err != nil {
		fmt.Fprintln(os.Stderr, "edgeplaned:", err)
		os.Exit(1)
	}
}

func run(configPath, timingFlag string) error {
	// Step 1: configuration and logging.
	cfg, err := gateway.LoadConfig(configPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Level())
	slog.SetDefault(log)
	timing, err := parseTiming(timingFlag)
	if err != nil {
		return err
	}
	log.Info("starting edgeplaned", "version", version.Version, "config", configPath,
		"device", cfg.DeviceID, "hub", cfg.HubURL, "data_dir", cfg.DataDir, "podman", cfg.PodmanSocket,
		"fast_route_plugin", cfg.FastRoutePlugin)

	// Step 2: extensions; each one gets Validate, Apply, Wiring and Run
	// as runtime/extension describes. The bus runs Mosquitto, the router,
	// twins and the $upstream queue.
	b, err := bus.New(bus.Config{
		DeviceID: cfg.DeviceID, Dir: cfg.BusDir, MosquittoPath: cfg.MosquittoPath,
		FastRoutePlugin: cfg.FastRoutePlugin,
		Limits:          bus.Limits{MaxQueuedMessages: cfg.BusMaxQueuedMessages, MaxQueuedBytes: cfg.BusMaxQueuedBytes},
		Log:             log.With("extension", "bus"),
	})
	if err != nil {
		return err
	}
	exts := []extension.Extension{b}

	// Step 3: run until SIGTERM or SIGINT. Modules keep running after we
	// exit; the next start adopts them.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	gw, err := gateway.New(gateway.Options{Config: cfg, Extensions: exts, Timing: timing, Logger: log})
	if err != nil {
		return err
	}
	return gw.Run(ctx)
}

// newLogger writes structured journal fields when stderr is the journal,
// and text to stderr otherwise.
func newLogger(level slog.Level) *slog.Logger {
	if slogjournal.Use() {
		return slog.New(slogjournal.New(level))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// parseTiming reads the --testing-timing flag over the defaults.
func parseTiming(s string) (gateway.Timing, error) {
	t := gateway.DefaultTiming
	if s == "" {
		return t, nil
	}
	fields := map[string]*time.Duration{
		"tick": &t.Tick, "heartbeat": &t.Heartbeat, "wait": &t.Wait,
		"backoff": &t.Agent.BackoffBase, "backoff-max": &t.Agent.BackoffMax,
		"reset": &t.Agent.ResetAfter, "stop": &t.Agent.StopTimeout,
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		p, ok := fields[k]
		if !ok {
			return t, fmt.Errorf("--testing-timing: unknown interval %q", k)
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return t, fmt.Errorf("--testing-timing: %s=%q is not a positive duration", k, v)
		}
		*p = d
	}
	return t, nil
}
