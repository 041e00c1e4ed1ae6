package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/edgeplane/edgeplane/hub/api"
)

func TestAccDeviceDataSource_basic(t *testing.T) {
	dev := randName("gw")
	device := requiredProviders + fmt.Sprintf(`
resource "edgeplane_device" "gw" {
  device_id = %q
  key       = %q
}

resource "edgeplane_module" "sensor" {
  device_id = edgeplane_device.gw.device_id
  name      = "sensor"
  image     = "registry.local:5000/sensor:1.0"
}
`, dev, testKey)
	withData := device + `
data "edgeplane_device" "test" {
  device_id = edgeplane_device.gw.device_id
  depends_on = [edgeplane_module.sensor]
}
`
	started := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             deviceDestroyed,
		Steps: []resource.TestStep{
			{
				// Before the device reports anything.
				Config: withData,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.edgeplane_device.test",
						tfjsonpath.New("online"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.edgeplane_device.test",
						tfjsonpath.New("applied_version"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue("data.edgeplane_device.test",
						tfjsonpath.New("agent_version"), knownvalue.Null()),
				},
			},
			{
				// The device reports through the device API, as a gateway does.
				PreConfig: func() {
					ctx := context.Background()
					st, err := accClient().GetDeviceStatus(ctx, dev)
					if err != nil {
						t.Fatal(err)
					}
					applied := st.DesiredVersion
					patch := api.ReportedPatch{
						Agent:          &api.AgentInfo{Version: "1.2.3", StartedAt: started},
						AppliedVersion: &applied,
						Modules: map[string]*api.ModuleStatus{"sensor": {
							Status: api.RuntimeRunning, LastStart: started, RestartCount: 2,
							Image: "registry.local:5000/sensor:1.0",
						}},
					}
					if err := report(ctx, accHub.endpoint, dev, testKey, patch); err != nil {
						t.Fatal(err)
					}
				},
				Config: withData,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.edgeplane_device.test",
						tfjsonpath.New("online"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.edgeplane_device.test",
						tfjsonpath.New("agent_version"), knownvalue.StringExact("1.2.3")),
					statecheck.ExpectKnownValue("data.edgeplane_device.test",
						tfjsonpath.New("last_seen"),
						knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))),
					statecheck.ExpectKnownValue("data.edgeplane_device.test",
						tfjsonpath.New("modules").AtMapKey("sensor"),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"status":        knownvalue.StringExact("running"),
							"restart_count": knownvalue.Int64Exact(2),
							"last_start":    knownvalue.StringExact("2026-12-01T08:00:00Z"),
							"image":         knownvalue.StringExact("registry.local:5000/sensor:1.0"),
						})),
				},
				Check: resource.TestCheckResourceAttrPair("data.edgeplane_device.test",
					"applied_version", "data.edgeplane_device.test", "desired_version"),
			},
		},
	})
}

func TestAccDeviceDataSource_missing(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: requiredProviders + `data "edgeplane_device" "test" { device_id = "no-such-gw" }`,
			ExpectError: regexp.MustCompile(`(?s)Unable to Read Device Status.*no-such-gw.*` +
				`not_found`),
		}},
	})
}
