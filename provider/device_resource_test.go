package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/edgeplane/edgeplane/hub/client"
)

const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes

func deviceConfig(id, tags, extra string) string {
	return requiredProviders + fmt.Sprintf(`
resource "edgeplane_device" "test" {
  device_id = %q
  tags      = %s
  %s
}
`, id, tags, extra)
}

var deviceDestroyed = checkGone("edgeplane_device",
	func(ctx context.Context, a map[string]string) error {
		_, err := accClient().GetDevice(ctx, a["device_id"])
		return err
	})

func TestAccDevice_basic(t *testing.T) {
	id := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             deviceDestroyed,
		Steps: []resource.TestStep{{
			Config: deviceConfig(id, `{ site = "berlin" }`, ""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("edgeplane_device.test", tfjsonpath.New("id"),
					knownvalue.StringExact(id)),
				statecheck.ExpectKnownValue("edgeplane_device.test", tfjsonpath.New("enabled"),
					knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("edgeplane_device.test", tfjsonpath.New("tags"),
					knownvalue.MapExact(map[string]knownvalue.Check{
						"site": knownvalue.StringExact("berlin")})),
				statecheck.ExpectKnownValue("edgeplane_device.test",
					tfjsonpath.New("connection_info").AtMapKey("device_id"), knownvalue.StringExact(id)),
				statecheck.ExpectKnownValue("edgeplane_device.test",
					tfjsonpath.New("connection_info").AtMapKey("hub_url"),
					knownvalue.StringRegexp(regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`))),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				// The generated key is long enough to be a real key.
				resource.TestMatchResourceAttr("edgeplane_device.test", "key",
					regexp.MustCompile(`^[A-Za-z0-9+/]{43,}=*$`)),
				resource.TestCheckResourceAttrPair("edgeplane_device.test", "key",
					"edgeplane_device.test", "connection_info.device_key"),
			),
		}},
	})
}

func TestAccDevice_import(t *testing.T) {
	id := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             deviceDestroyed,
		Steps: []resource.TestStep{
			{Config: deviceConfig(id, `{ site = "paris", tier = "edge" }`, `key = "`+testKey+`"`)},
			{
				ResourceName:      "edgeplane_device.test",
				ImportState:       true,
				ImportStateId:     id,
				ImportStateVerify: true,
			},
			{
				ResourceName:  "edgeplane_device.test",
				ImportState:   true,
				ImportStateId: id + "/extra",
				ExpectError:   regexp.MustCompile(`(?s)Invalid Import ID.*<device_id>`),
			},
		},
	})
}

func TestAccDevice_update(t *testing.T) {
	id := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             deviceDestroyed,
		Steps: []resource.TestStep{
			{
				Config: deviceConfig(id, `{ site = "berlin" }`, ""),
			},
			{
				// Tags, enabled and key change in place.
				Config: deviceConfig(id, `{ site = "munich", rack = "3" }`,
					`enabled = false
  key = "`+testKey+`"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_device.test",
						plancheck.ResourceActionUpdate)}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("edgeplane_device.test", "tags.site", "munich"),
					resource.TestCheckResourceAttr("edgeplane_device.test", "enabled", "false"),
					resource.TestCheckResourceAttr("edgeplane_device.test", "key", testKey),
					resource.TestCheckResourceAttr("edgeplane_device.test",
						"connection_info.device_key", testKey),
				),
			},
			{
				// A change made outside Terraform shows as a diff and is undone.
				PreConfig: func() {
					ctx := context.Background()
					d, err := accClient().GetDevice(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					d.Tags["site"] = "elsewhere"
					if _, err := accClient().PutDevice(ctx, *d, 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: deviceConfig(id, `{ site = "munich", rack = "3" }`,
					`enabled = false
  key = "`+testKey+`"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_device.test",
						plancheck.ResourceActionUpdate)}},
				Check: resource.TestCheckResourceAttr("edgeplane_device.test", "tags.site", "munich"),
			},
			{
				// A new device_id replaces the device.
				Config: deviceConfig(id+"-b", `{ site = "munich" }`, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_device.test",
						plancheck.ResourceActionDestroyBeforeCreate)}},
			},
		},
	})
}

func TestAccDevice_disappears(t *testing.T) {
	id := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             deviceDestroyed,
		Steps: []resource.TestStep{{
			Config: deviceConfig(id, `{ site = "berlin" }`, ""),
			Check: outOfBand(func(ctx context.Context, c *client.Client) error {
				return c.DeleteDevice(ctx, id)
			}),
			ExpectNonEmptyPlan: true,
		}},
	})
}

func TestAccDevice_validation(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"bad id", deviceConfig("-gw", "{}", ""), `(?s)device_id.*must be 1 to 128`},
		{"long id", deviceConfig(string(make([]byte, 0))+
			"a123456789012345678901234567890123456789012345678901234567890123456789"+
			"0123456789012345678901234567890123456789012345678901234567890", "{}", ""),
			`must be 1 to 128`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { accPreCheck(t) },
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      tt.config,
					ExpectError: regexp.MustCompile(tt.want),
				}},
			})
		})
	}
}

// Unit tests of the drift and error paths against the fake hub.

func TestDeviceResourceDrift(t *testing.T) {
	requireTerraform(t)
	hub := newFakeHub(t)
	cfg := func(site string) string {
		return hub.providerBlock() + fmt.Sprintf(`
resource "edgeplane_device" "test" {
  device_id = "gw-1"
  tags      = { site = %q }
}
`, site)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Deleted out of band: Read drops it and the plan re-creates it.
				Config: cfg("berlin"),
				Check: func(*terraform.State) error {
					hub.remove("/v1/devices/gw-1")
					return nil
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg("berlin"),
				Check:  resource.TestCheckResourceAttr("edgeplane_device.test", "tags.site", "berlin"),
			},
			{
				// Changed between refresh and apply: the If-Match write
				// fails with a clear diagnostic.
				Config: cfg("paris"),
				PreConfig: func() {
					hub.failNext("PUT /v1/devices/gw-1", 412, "version_mismatch",
						"stored version is 9", "")
				},
				ExpectError: regexp.MustCompile(`(?s)Unable to Update Device.*changed on the hub.*` +
					`version_mismatch`),
			},
			{
				// A field error names the field.
				Config: cfg("paris"),
				PreConfig: func() {
					hub.failNext("PUT /v1/devices/gw-1", 400, "invalid",
						"tag values must be short", "tags.site")
				},
				ExpectError: regexp.MustCompile(`(?s)with edgeplane_device.test.*tags.*` +
					`rejected the value of tags.site`),
			},
			{
				// Delete of a device already gone succeeds.
				Config: cfg("paris"),
				PreConfig: func() {
					hub.failNext("DELETE /v1/devices/gw-1", 404, "not_found", "no device", "")
				},
				Destroy: true,
			},
		},
	})
}
