package sdk_test

import (
	"context"
	"encoding/json"
	"log"

	"github.com/edgeplane/edgeplane/sdk"
)

// A module that doubles the numbers it gets on input "in" and sends them on
// output "out", with a factor from its twin.
func Example() {
	ctx := context.Background()
	c, err := sdk.FromEnv() // EDGEPLANE_* variables set by edgeplaned
	if err != nil {
		log.Fatal(err)
	}

	factor := 2.0
	c.OnDesired(func(ctx context.Context, d sdk.Desired) {
		var p struct {
			Factor float64 `json:"factor"`
		}
		if json.Unmarshal(d.Properties, &p) == nil && p.Factor != 0 {
			factor = p.Factor
			_ = c.PatchReported(ctx, map[string]any{"factor": factor})
		}
	})
	c.HandleInput("in", func(ctx context.Context, m *sdk.Message) error {
		var n float64
		if err := json.Unmarshal(m.Body, &n); err != nil {
			return err // logged; the message is dropped
		}
		body, _ := json.Marshal(n * factor)
		return c.SendOutput(ctx, "out", &sdk.Message{
			Body:        body,
			ContentType: "application/json",
			Properties:  map[string]string{"from": m.ConnectionModuleID},
		})
	})

	// Register handlers first: messages waiting for the module arrive as
	// soon as it connects.
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	<-ctx.Done()
}
