package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccDevicesDataSource_basic(t *testing.T) {
	site := randName("site")
	a, b, c := site+"-a", site+"-b", site+"-c"
	cfg := requiredProviders + fmt.Sprintf(`
locals {
  devices = [
    { id = %[2]q, tags = { site = %[1]q, tier = "edge" } },
    { id = %[3]q, tags = { site = %[1]q, tier = "core" } },
    { id = %[4]q, tags = { site = "elsewhere", tier = "edge" } },
  ]
}

# count rather than for_each: the test framework's destroy check reads
# count instances only.
resource "edgeplane_device" "gw" {
  count     = length(local.devices)
  device_id = local.devices[count.index].id
  tags      = local.devices[count.index].tags
}

data "edgeplane_devices" "site" {
  tags       = { site = %[1]q }
  depends_on = [edgeplane_device.gw]
}

data "edgeplane_devices" "site_edge" {
  tags       = { site = %[1]q, tier = "edge" }
  depends_on = [edgeplane_device.gw]
}
`, site, a, b, c)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             deviceDestroyed,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.edgeplane_devices.site", tfjsonpath.New("ids"),
					knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact(a), knownvalue.StringExact(b)})),
				statecheck.ExpectKnownValue("data.edgeplane_devices.site_edge", tfjsonpath.New("ids"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(a)})),
				statecheck.ExpectKnownValue("data.edgeplane_devices.site_edge",
					tfjsonpath.New("devices").AtSliceIndex(0),
					knownvalue.ObjectExact(map[string]knownvalue.Check{
						"device_id": knownvalue.StringExact(a),
						"enabled":   knownvalue.Bool(true),
						"tags": knownvalue.MapExact(map[string]knownvalue.Check{
							"site": knownvalue.StringExact(site),
							"tier": knownvalue.StringExact("edge")}),
					})),
			},
		}},
	})
}
