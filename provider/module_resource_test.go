package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/client"
)

func moduleConfig(dev, body string) string {
	return requiredProviders + fmt.Sprintf(`
resource "edgeplane_device" "gw" {
  device_id = %q
}

resource "edgeplane_module" "test" {
  device_id = edgeplane_device.gw.device_id
  name      = "sensor"
%s
}
`, dev, body)
}

var moduleDestroyed = checkGone("edgeplane_module",
	func(ctx context.Context, a map[string]string) error {
		_, err := accClient().GetModule(ctx, a["device_id"], a["name"])
		return err
	})

// moduleFull sets every attribute; create_options is written with keys in
// another order than the hub returns them, plus zero-valued fields.
const moduleFull = `
  image             = "registry.local:5000/sensor:1.0"
  env               = { LOG_LEVEL = "info", INTERVAL = "5" }
  restart_policy    = "on-failure"
  desired_status    = "stopped"
  startup_order     = 2
  image_pull_policy = "never"
  create_options = jsonencode({
    labels       = { team = "edge" }
    memory_bytes = 67108864
    ports        = [{ protocol = "tcp", container_port = 8080, host_port = 18080 }]
    mounts       = [{ read_only = false, target = "/data", source = "sensor-data", type = "volume" }]
    health_check = { test = ["CMD", "/healthcheck"], interval = "30s", retries = 3 }
  })
`

func TestAccModule_basic(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             moduleDestroyed,
		Steps: []resource.TestStep{{
			Config: moduleConfig(dev, `  image = "registry.local:5000/sensor:1.0"`),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("edgeplane_module.test", "id", dev+"/sensor"),
				resource.TestCheckResourceAttr("edgeplane_module.test", "restart_policy", "always"),
				resource.TestCheckResourceAttr("edgeplane_module.test", "desired_status", "running"),
				resource.TestCheckResourceAttr("edgeplane_module.test", "image_pull_policy", "on-create"),
				resource.TestCheckResourceAttr("edgeplane_module.test", "startup_order", "0"),
				resource.TestCheckNoResourceAttr("edgeplane_module.test", "create_options"),
				func(*terraformState) error {
					m, err := accClient().GetModule(context.Background(), dev, "sensor")
					if err != nil {
						return err
					}
					if m.Image != "registry.local:5000/sensor:1.0" {
						return fmt.Errorf("hub image: got %q, want registry.local:5000/sensor:1.0", m.Image)
					}
					return nil
				},
			),
		}},
	})
}

func TestAccModule_import(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             moduleDestroyed,
		Steps: []resource.TestStep{
			{Config: moduleConfig(dev, moduleFull)},
			{
				// create_options comes back in the hub's form; semantic
				// equality makes that no difference.
				Config: moduleConfig(dev, moduleFull),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:            "edgeplane_module.test",
				ImportState:             true,
				ImportStateId:           dev + "/sensor",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"create_options"},
			},
			{
				ResourceName:  "edgeplane_module.test",
				ImportState:   true,
				ImportStateId: dev,
				ExpectError:   regexp.MustCompile(`(?s)Invalid Import ID.*<device_id>/<name>`),
			},
		},
	})
}

func TestAccModule_update(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             moduleDestroyed,
		Steps: []resource.TestStep{
			{Config: moduleConfig(dev, `  image = "registry.local:5000/sensor:1.0"`)},
			{
				Config: moduleConfig(dev, moduleFull),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_module.test",
						plancheck.ResourceActionUpdate)}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("edgeplane_module.test", "restart_policy", "on-failure"),
					resource.TestCheckResourceAttr("edgeplane_module.test", "env.LOG_LEVEL", "info"),
					func(*terraformState) error {
						m, err := accClient().GetModule(context.Background(), dev, "sensor")
						if err != nil {
							return err
						}
						if m.CreateOptions == nil || len(m.CreateOptions.Ports) != 1 ||
							m.CreateOptions.Ports[0].HostPort != 18080 {
							return fmt.Errorf("hub create options: got %+v, want one port 18080",
								m.CreateOptions)
						}
						return nil
					},
				),
			},
			{
				// An image changed outside Terraform shows as a diff.
				PreConfig: func() {
					ctx := context.Background()
					m, err := accClient().GetModule(ctx, dev, "sensor")
					if err != nil {
						t.Fatal(err)
					}
					m.Image = "registry.local:5000/sensor:hacked"
					if _, err := accClient().PutModule(ctx, dev, *m, 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: moduleConfig(dev, moduleFull),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_module.test",
						plancheck.ResourceActionUpdate)}},
				Check: resource.TestCheckResourceAttr("edgeplane_module.test", "image",
					"registry.local:5000/sensor:1.0"),
			},
			{
				// Back to defaults: removing create_options clears them.
				Config: moduleConfig(dev, `  image = "registry.local:5000/sensor:1.1"`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("edgeplane_module.test", "restart_policy", "always"),
					resource.TestCheckNoResourceAttr("edgeplane_module.test", "create_options"),
					resource.TestCheckNoResourceAttr("edgeplane_module.test", "env.%"),
				),
			},
		},
	})
}

func TestAccModule_disappears(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             moduleDestroyed,
		Steps: []resource.TestStep{{
			Config: moduleConfig(dev, `  image = "registry.local:5000/sensor:1.0"`),
			Check: outOfBand(func(ctx context.Context, c *client.Client) error {
				return c.DeleteModule(ctx, dev, "sensor")
			}),
			ExpectNonEmptyPlan: true,
		}},
	})
}

func TestAccModule_validation(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"restart policy", `  image = "i"
  restart_policy = "sometimes"`, `(?s)restart_policy.*value must be one of`},
		{"unknown create option", `  image = "i"
  create_options = jsonencode({ portz = [] })`,
			`(?s)Invalid Module Create Options.*unknown field "portz"`},
		{"create option type", `  image = "i"
  create_options = jsonencode({ memory_bytes = "lots" })`,
			`(?s)Invalid Module Create Options.*memory_bytes`},
		{"negative startup order", `  image = "i"
  startup_order = -1`, `(?s)startup_order.*at least 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { accPreCheck(t) },
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      moduleConfig("gw-validation", tt.body),
					ExpectError: regexp.MustCompile(tt.want),
				}},
			})
		})
	}
}

func TestCreateOptionsSemanticEquality(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"key order and space", `{"ports":[{"host_port":1,"container_port":2}],"cpus":0.5}`,
			`{ "cpus": 0.5, "ports": [ { "container_port": 2, "host_port": 1 } ] }`, true},
		{"zero fields dropped", `{"mounts":[{"type":"bind","source":"/a","target":"/b","read_only":false}]}`,
			`{"mounts":[{"type":"bind","source":"/a","target":"/b"}]}`, true},
		{"different value", `{"cpus":0.5}`, `{"cpus":1}`, false},
		{"list order matters", `{"ports":[{"host_port":1},{"host_port":2}]}`,
			`{"ports":[{"host_port":2},{"host_port":1}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := createOptionsValue{StringValue: stringValue(tt.a)}
			b := createOptionsValue{StringValue: stringValue(tt.b)}
			got, diags := a.StringSemanticEquals(t.Context(), b)
			if diags.HasError() {
				t.Fatal(diags)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCreateOptionsFromAPI(t *testing.T) {
	null := createOptionsValue{StringValue: stringNull()}
	empty := createOptionsValue{StringValue: stringValue("{}")}
	tests := []struct {
		name  string
		prior createOptionsValue
		got   *api.CreateOptions
		want  string // "<null>" for null
	}{
		{"none stays null", null, nil, "<null>"},
		{"empty keeps {}", empty, &api.CreateOptions{}, "{}"},
		{"hub empty, prior set", createOptionsValue{StringValue: stringValue(`{"cpus":1}`)}, nil, "<null>"},
		{"hub value", null, &api.CreateOptions{CPUs: 2}, `{"cpus":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := createOptionsFromAPI(tt.prior, tt.got)
			got := v.ValueString()
			if v.IsNull() {
				got = "<null>"
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestModuleResourceHubFieldError(t *testing.T) {
	requireTerraform(t)
	hub := newFakeHub(t)
	hub.failNext("PUT /v1/devices/gw-1/modules/sensor", 400, "invalid",
		"image must name a tag or digest", "image")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: hub.providerBlock() + `
resource "edgeplane_device" "gw" {
  device_id = "gw-1"
}
resource "edgeplane_module" "test" {
  device_id = edgeplane_device.gw.device_id
  name      = "sensor"
  image     = "sensor"
}
`,
			ExpectError: regexp.MustCompile(`(?s)Unable to Create Module.*with edgeplane_module.test,.*` +
				`image.*must name a\s+tag or digest \(field image\)`),
		}},
	})
}
