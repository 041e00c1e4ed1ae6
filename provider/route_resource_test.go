package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/edgeplane/edgeplane/hub/client"
)

const testRoute = `FROM /messages/modules/sensor/outputs/temperature INTO BrokeredEndpoint("/modules/filter/inputs/input1")`

func routeConfig(dev, text, extra string) string {
	return requiredProviders + fmt.Sprintf(`
resource "edgeplane_device" "gw" {
  device_id = %q
}

resource "edgeplane_route" "test" {
  device_id = edgeplane_device.gw.device_id
  name      = "sensor-to-filter"
  route     = %q
%s
}
`, dev, text, extra)
}

var routeDestroyed = checkGone("edgeplane_route",
	func(ctx context.Context, a map[string]string) error {
		_, err := accClient().GetRoute(ctx, a["device_id"], a["name"])
		return err
	})

func TestAccRoute_basic(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             routeDestroyed,
		Steps: []resource.TestStep{{
			Config: routeConfig(dev, testRoute, ""),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("edgeplane_route.test", "id", dev+"/sensor-to-filter"),
				resource.TestCheckResourceAttr("edgeplane_route.test", "route", testRoute),
				resource.TestCheckResourceAttr("edgeplane_route.test", "priority", "0"),
				resource.TestCheckResourceAttr("edgeplane_route.test", "time_to_live_seconds", "0"),
			),
		}},
	})
}

func TestAccRoute_import(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             routeDestroyed,
		Steps: []resource.TestStep{
			{Config: routeConfig(dev, testRoute, "  priority = 3\n  time_to_live_seconds = 600")},
			{
				ResourceName:      "edgeplane_route.test",
				ImportState:       true,
				ImportStateId:     dev + "/sensor-to-filter",
				ImportStateVerify: true,
			},
		},
	})
}

func TestAccRoute_update(t *testing.T) {
	dev := randName("gw")
	upstream := `FROM /messages/modules/filter/* WHERE $body.temperature > 30 INTO $upstream`
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             routeDestroyed,
		Steps: []resource.TestStep{
			{Config: routeConfig(dev, testRoute, "")},
			{
				Config: routeConfig(dev, upstream, "  priority = 1\n  time_to_live_seconds = 3600"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_route.test",
						plancheck.ResourceActionUpdate)}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("edgeplane_route.test", "route", upstream),
					resource.TestCheckResourceAttr("edgeplane_route.test", "priority", "1"),
				),
			},
			{
				// A priority changed outside Terraform shows as a diff.
				PreConfig: func() {
					ctx := context.Background()
					r, err := accClient().GetRoute(ctx, dev, "sensor-to-filter")
					if err != nil {
						t.Fatal(err)
					}
					r.Priority = 7
					if _, err := accClient().PutRoute(ctx, dev, *r, 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: routeConfig(dev, upstream, "  priority = 1\n  time_to_live_seconds = 3600"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_route.test",
						plancheck.ResourceActionUpdate)}},
				Check: resource.TestCheckResourceAttr("edgeplane_route.test", "priority", "1"),
			},
		},
	})
}

func TestAccRoute_disappears(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             routeDestroyed,
		Steps: []resource.TestStep{{
			Config: routeConfig(dev, testRoute, ""),
			Check: outOfBand(func(ctx context.Context, c *client.Client) error {
				return c.DeleteRoute(ctx, dev, "sensor-to-filter")
			}),
			ExpectNonEmptyPlan: true,
		}},
	})
}

func TestAccRoute_validation(t *testing.T) {
	tests := []struct {
		name, route, extra, want string
	}{
		{"misspelt INTO", `FROM /messages/* INT0 $upstream`, "",
			`(?s)Invalid Route.*with edgeplane_route.test.*route.*line 1, column 18.*expected WHERE or INTO`},
		{"empty", ` `, "", `(?s)Invalid Route.*The route is empty`},
		{"priority", `FROM /messages/* INTO $upstream`, "  priority = 10",
			`(?s)priority.*between 0 and 9`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { accPreCheck(t) },
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      routeConfig("gw-validation", tt.route, tt.extra),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tt.want),
				}},
			})
		})
	}
}

func TestRouteValidator(t *testing.T) {
	tests := []struct {
		name  string
		route string
		want  []string // substrings of the detail; none means valid
	}{
		{"valid", testRoute, nil},
		{"valid with where", `FROM /messages/* WHERE $contentType = 'application/json' INTO $upstream`, nil},
		{"misspelt INTO", "FROM /messages/* INT0 $upstream",
			[]string{"line 1, column 18", `expected WHERE or INTO`, `"INT0"`, "\n                   ^"}},
		{"second line", "FROM /messages/*\nWHERE\nINTO $upstream",
			[]string{"line 3, column 1"}},
		{"empty", "", []string{"The route is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validator.StringRequest{Path: path.Root("route"),
				ConfigValue: types.StringValue(tt.route)}
			var resp validator.StringResponse
			routeValidator{}.ValidateString(t.Context(), req, &resp)
			if len(tt.want) == 0 {
				if resp.Diagnostics.HasError() {
					t.Fatalf("got %v, want no error", resp.Diagnostics)
				}
				return
			}
			if resp.Diagnostics.ErrorsCount() != 1 {
				t.Fatalf("got %d errors, want 1", resp.Diagnostics.ErrorsCount())
			}
			d := resp.Diagnostics.Errors()[0]
			if d.Summary() != "Invalid Route" {
				t.Errorf("summary: got %q, want Invalid Route", d.Summary())
			}
			for _, w := range tt.want {
				if !strings.Contains(d.Detail(), w) {
					t.Errorf("detail %q: want it to contain %q", d.Detail(), w)
				}
			}
		})
	}
}
