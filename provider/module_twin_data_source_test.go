package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/edgeplane/edgeplane/hub/api"
)

func TestAccModuleTwinDataSource_basic(t *testing.T) {
	dev := randName("gw")
	cfg := requiredProviders + fmt.Sprintf(`
resource "edgeplane_device" "gw" {
  device_id = %q
  key       = %q
}

resource "edgeplane_module" "sensor" {
  device_id = edgeplane_device.gw.device_id
  name      = "sensor"
  image     = "registry.local:5000/sensor:1.0"
}

resource "edgeplane_module_twin" "sensor" {
  device_id = edgeplane_device.gw.device_id
  module    = edgeplane_module.sensor.name
  desired   = jsonencode({ interval_ms = 1000 })
}

data "edgeplane_module_twin" "test" {
  device_id  = edgeplane_device.gw.device_id
  module     = edgeplane_module.sensor.name
  depends_on = [edgeplane_module_twin.sensor]
}

output "reported_interval" {
  value = try(jsondecode(data.edgeplane_module_twin.test.reported).interval_ms, null)
}
`, dev, testKey)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             deviceDestroyed,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("data.edgeplane_module_twin.test", "desired",
						`{"interval_ms":1000}`),
					resource.TestCheckResourceAttr("data.edgeplane_module_twin.test", "reported", "{}"),
					resource.TestCheckNoResourceAttr("data.edgeplane_module_twin.test", "reported.interval_ms"),
				),
			},
			{
				// The module reports its properties through its device.
				PreConfig: func() {
					patch := api.ReportedPatch{Twins: map[string]json.RawMessage{
						"sensor": json.RawMessage(`{"interval_ms":1000,"firmware":"2.1"}`)}}
					if err := report(context.Background(), accHub.endpoint, dev, testKey, patch); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("data.edgeplane_module_twin.test", "reported",
						`{"firmware":"2.1","interval_ms":1000}`),
					resource.TestCheckOutput("reported_interval", "1000"),
					resource.TestCheckResourceAttrPair("data.edgeplane_module_twin.test",
						"reported", "edgeplane_module_twin.sensor", "reported"),
				),
			},
		},
	})
}
