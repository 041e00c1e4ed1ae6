// Command tempsensor is an example Edgeplane module: a simulated
// temperature sensor. Every interval it sends a JSON reading on its output
// "temperature". Its twin's desired properties set the interval and the
// range of values; it reports the settings it applied.
//
// Desired properties (all optional):
//
//	{"interval_ms": 1000, "min": 20.0, "max": 30.0}
//
// Readings: {"temperature": 24.3, "seq": 17, "time": "2026-01-02T03:04:05Z"}
// with content type application/json.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/edgeplane/edgeplane/sdk"
)

// settings are what the twin controls.
type settings struct {
	IntervalMS int     `json:"interval_ms"`
	Min        float64 `json:"min"`
	Max        float64 `json:"max"`
}

var defaults = settings{IntervalMS: 1000, Min: 20, Max: 30}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("tempsensor stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	c, err := sdk.FromEnv()
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		cur     = defaults
		changed = make(chan struct{}, 1)
	)
	c.OnDesired(func(ctx context.Context, d sdk.Desired) {
		s := defaults
		if err := json.Unmarshal(d.Properties, &s); err != nil || s.IntervalMS <= 0 || s.Max < s.Min {
			log.Warn("desired properties ignored", "version", d.Version, "err", err)
			return
		}
		mu.Lock()
		cur = s
		mu.Unlock()
		select {
		case changed <- struct{}{}:
		default:
		}
		if err := c.PatchReported(ctx, s); err != nil {
			log.Warn("reporting settings", "err", err)
		}
		log.Info("settings applied", "version", d.Version, "interval_ms", s.IntervalMS, "min", s.Min, "max", s.Max)
	})
	if err := c.Connect(ctx); err != nil {
		return err
	}
	defer c.Close()
	log.Info("tempsensor started", "module", c.ModuleID(), "device", c.DeviceID())

	for seq := 1; ; seq++ {
		mu.Lock()
		s := cur
		mu.Unlock()
		reading := map[string]any{
			"temperature": s.Min + rand.Float64()*(s.Max-s.Min),
			"seq":         seq,
			"time":        time.Now().UTC().Format(time.RFC3339Nano),
		}
		body, _ := json.Marshal(reading)
		m := &sdk.Message{Body: body, ContentType: "application/json", ContentEncoding: "utf-8",
			MessageID: fmt.Sprintf("%s-%d", c.ModuleID(), seq), Properties: map[string]string{"seq": strconv.Itoa(seq)}}
		if err := c.SendOutput(ctx, "temperature", m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("sending reading", "err", err)
		}

		select {
		case <-ctx.Done():
			return nil
		case <-changed: // a new interval starts now
		case <-time.After(time.Duration(s.IntervalMS) * time.Millisecond):
		}
	}
}
