// Command filter is an example Edgeplane module: it forwards the readings
// it gets on its input "input1" whose temperature is above a threshold to
// its output "output1", adding the application property alert=true. The
// threshold comes from its twin's desired properties; it reports the
// threshold it applied.
//
// Desired properties: {"threshold": 25.0}. Until it has one, nothing passes.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"math"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/edgeplane/edgeplane/sdk"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("filter stopped", "err", err)
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
	var threshold atomic.Uint64
	threshold.Store(math.Float64bits(math.Inf(1)))

	c.OnDesired(func(ctx context.Context, d sdk.Desired) {
		var s struct {
			Threshold *float64 `json:"threshold"`
		}
		if err := json.Unmarshal(d.Properties, &s); err != nil || s.Threshold == nil {
			log.Warn("desired properties without a threshold", "version", d.Version)
			return
		}
		threshold.Store(math.Float64bits(*s.Threshold))
		if err := c.PatchReported(ctx, map[string]any{"threshold": *s.Threshold}); err != nil {
			log.Warn("reporting threshold", "err", err)
		}
		log.Info("threshold applied", "version", d.Version, "threshold", *s.Threshold)
	})
	c.HandleInput("input1", func(ctx context.Context, m *sdk.Message) error {
		var r struct {
			Temperature *float64 `json:"temperature"`
		}
		if err := json.Unmarshal(m.Body, &r); err != nil || r.Temperature == nil {
			log.Debug("message without a temperature dropped", "from", m.ConnectionModuleID)
			return nil
		}
		if *r.Temperature <= math.Float64frombits(threshold.Load()) {
			return nil
		}
		props := maps.Clone(m.Properties)
		if props == nil {
			props = map[string]string{}
		}
		props["alert"] = "true"
		out := &sdk.Message{Body: m.Body, ContentType: m.ContentType, ContentEncoding: m.ContentEncoding,
			MessageID: m.MessageID, CorrelationID: m.CorrelationID, Properties: props}
		return c.SendOutput(ctx, "output1", out)
	})
	if err := c.Connect(ctx); err != nil {
		return err
	}
	defer c.Close()
	log.Info("filter started", "module", c.ModuleID(), "device", c.DeviceID())
	<-ctx.Done()
	return nil
}
