package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/edgeplane/edgeplane/hub/client"
)

func twinConfig(dev, desired string) string {
	return requiredProviders + fmt.Sprintf(`
resource "edgeplane_device" "gw" {
  device_id = %q
}

resource "edgeplane_module" "sensor" {
  device_id = edgeplane_device.gw.device_id
  name      = "sensor"
  image     = "registry.local:5000/sensor:1.0"
}

resource "edgeplane_module_twin" "test" {
  device_id = edgeplane_device.gw.device_id
  module    = edgeplane_module.sensor.name
  desired   = %s
}
`, dev, desired)
}

// twinDesiredCleared checks that destroyed twins hold no desired
// properties (their module is gone too, which counts as cleared).
var twinDesiredCleared = checkGone("edgeplane_module_twin",
	func(ctx context.Context, a map[string]string) error {
		tw, err := accClient().GetTwin(ctx, a["device_id"], a["module"])
		if err != nil {
			return err
		}
		if string(tw.Desired) != "{}" {
			return fmt.Errorf("desired is %s, want {}", tw.Desired)
		}
		return client.ErrNotFound
	})

func TestAccModuleTwin_basic(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             twinDesiredCleared,
		Steps: []resource.TestStep{
			{
				Config: twinConfig(dev, `jsonencode({ interval_ms = 1000, thresholds = { high = 30.5 } })`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("edgeplane_module_twin.test", "id", dev+"/sensor"),
					resource.TestCheckResourceAttr("edgeplane_module_twin.test", "reported", "{}"),
					resource.TestCheckResourceAttrSet("edgeplane_module_twin.test", "desired_version"),
					func(*terraformState) error {
						tw, err := accClient().GetTwin(context.Background(), dev, "sensor")
						if err != nil {
							return err
						}
						var got struct {
							IntervalMS int `json:"interval_ms"`
						}
						if err := json.Unmarshal(tw.Desired, &got); err != nil || got.IntervalMS != 1000 {
							return fmt.Errorf("hub desired: got %s, want interval_ms 1000", tw.Desired)
						}
						return nil
					},
				),
			},
			{
				// The same properties written in another key order are no
				// change.
				Config: twinConfig(dev, `jsonencode({
    thresholds  = { high = 30.5 }
    interval_ms = 1000
  })`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

func TestAccModuleTwin_import(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             twinDesiredCleared,
		Steps: []resource.TestStep{
			{Config: twinConfig(dev, `jsonencode({ interval_ms = 500 })`)},
			{
				ResourceName:      "edgeplane_module_twin.test",
				ImportState:       true,
				ImportStateId:     dev + "/sensor",
				ImportStateVerify: true,
			},
		},
	})
}

func TestAccModuleTwin_update(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             twinDesiredCleared,
		Steps: []resource.TestStep{
			{Config: twinConfig(dev, `jsonencode({ interval_ms = 500 })`)},
			{
				Config: twinConfig(dev, `jsonencode({ interval_ms = 250, unit = "C" })`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_module_twin.test",
						plancheck.ResourceActionUpdate)}},
				Check: resource.TestCheckResourceAttr("edgeplane_module_twin.test", "desired",
					`{"interval_ms":250,"unit":"C"}`),
			},
			{
				// A desired property patched outside Terraform shows as a
				// diff and is put back.
				PreConfig: func() {
					_, err := accClient().PatchTwinDesired(context.Background(), dev, "sensor",
						json.RawMessage(`{"interval_ms":1}`), 0)
					if err != nil {
						t.Fatal(err)
					}
				},
				Config: twinConfig(dev, `jsonencode({ interval_ms = 250, unit = "C" })`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_module_twin.test",
						plancheck.ResourceActionUpdate)}},
				Check: func(*terraformState) error {
					tw, err := accClient().GetTwin(context.Background(), dev, "sensor")
					if err != nil {
						return err
					}
					if !jsonEqual(t, tw.Desired, `{"interval_ms":250,"unit":"C"}`) {
						return fmt.Errorf("hub desired: got %s, want interval_ms 250", tw.Desired)
					}
					return nil
				},
			},
		},
	})
}

func TestAccModuleTwin_disappears(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             twinDesiredCleared,
		Steps: []resource.TestStep{{
			// The twin goes with its module.
			Config: twinConfig(dev, `jsonencode({ interval_ms = 500 })`),
			Check: outOfBand(func(ctx context.Context, c *client.Client) error {
				return c.DeleteModule(ctx, dev, "sensor")
			}),
			ExpectNonEmptyPlan: true,
		}},
	})
}

func TestAccModuleTwin_validation(t *testing.T) {
	tests := []struct {
		name, desired, want string
	}{
		{"array", `jsonencode([1, 2])`, `(?s)Invalid Twin Properties.*must be a JSON object`},
		{"not json", `"{ interval"`, `Invalid JSON String Value`},
		{"reserved key", `jsonencode({ "$version" = 1 })`, `(?s)Reserved Twin Property.*\$version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { accPreCheck(t) },
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      twinConfig("gw-validation", tt.desired),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tt.want),
				}},
			})
		})
	}
}

func jsonEqual(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
