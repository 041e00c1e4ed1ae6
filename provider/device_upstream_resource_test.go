package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/edgeplane/edgeplane/hub/client"
)

func upstreamConfig(dev, body string) string {
	return requiredProviders + fmt.Sprintf(`
resource "edgeplane_device" "gw" {
  device_id = %q
}

resource "edgeplane_device_upstream" "test" {
  device_id = edgeplane_device.gw.device_id
%s
}
`, dev, body)
}

var upstreamDestroyed = checkGone("edgeplane_device_upstream",
	func(ctx context.Context, a map[string]string) error {
		_, err := accClient().GetUpstream(ctx, a["device_id"])
		return err
	})

const upstreamFull = `
  url                          = "mqtts://broker.example.com:8883"
  client_id                    = "gw-client"
  username                     = "gw-user"
  password                     = "s3cret"
  topic_prefix                 = "fleet"
  default_time_to_live_seconds = 600
  max_queue_bytes              = 1048576
`

func TestAccDeviceUpstream_basic(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             upstreamDestroyed,
		Steps: []resource.TestStep{{
			Config: upstreamConfig(dev, `  url = "mqtt://127.0.0.1:1883"`),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("edgeplane_device_upstream.test", "id", dev),
				resource.TestCheckResourceAttr("edgeplane_device_upstream.test", "topic_prefix", "edgeplane"),
				resource.TestCheckResourceAttr("edgeplane_device_upstream.test",
					"default_time_to_live_seconds", "7200"),
				resource.TestCheckResourceAttr("edgeplane_device_upstream.test",
					"max_queue_bytes", "1073741824"),
			),
		}},
	})
}

func TestAccDeviceUpstream_import(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             upstreamDestroyed,
		Steps: []resource.TestStep{
			{Config: upstreamConfig(dev, upstreamFull)},
			{
				ResourceName:      "edgeplane_device_upstream.test",
				ImportState:       true,
				ImportStateId:     dev,
				ImportStateVerify: true,
				// The hub never returns secrets.
				ImportStateVerifyIgnore: []string{"password", "client_key"},
			},
		},
	})
}

func TestAccDeviceUpstream_update(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             upstreamDestroyed,
		Steps: []resource.TestStep{
			{Config: upstreamConfig(dev, `  url = "mqtt://127.0.0.1:1883"`)},
			{
				Config: upstreamConfig(dev, upstreamFull),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_device_upstream.test",
						plancheck.ResourceActionUpdate)}},
				Check: func(*terraformState) error {
					u, err := accClient().GetUpstream(context.Background(), dev)
					if err != nil {
						return err
					}
					if !u.PasswordSet || u.Password != "" || u.TopicPrefix != "fleet" {
						return fmt.Errorf("hub upstream: got %+v, want a write-only password "+
							"and topic prefix fleet", u)
					}
					return nil
				},
			},
			{
				// No diff once applied, although the hub hides the password.
				Config: upstreamConfig(dev, upstreamFull),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan()}},
			},
			{
				// A URL changed outside Terraform shows as a diff.
				PreConfig: func() {
					ctx := context.Background()
					u, err := accClient().GetUpstream(ctx, dev)
					if err != nil {
						t.Fatal(err)
					}
					u.URL = "mqtt://elsewhere.example.com:1883"
					if _, err := accClient().PutUpstream(ctx, dev, *u, 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: upstreamConfig(dev, upstreamFull),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_device_upstream.test",
						plancheck.ResourceActionUpdate)}},
				Check: resource.TestCheckResourceAttr("edgeplane_device_upstream.test", "url",
					"mqtts://broker.example.com:8883"),
			},
		},
	})
}

func TestAccDeviceUpstream_disappears(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             upstreamDestroyed,
		Steps: []resource.TestStep{{
			Config: upstreamConfig(dev, `  url = "mqtt://127.0.0.1:1883"`),
			Check: outOfBand(func(ctx context.Context, c *client.Client) error {
				return c.DeleteUpstream(ctx, dev)
			}),
			ExpectNonEmptyPlan: true,
		}},
	})
}

func TestAccDeviceUpstream_validation(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"scheme", `  url = "http://broker:1883"`, `(?s)Invalid Broker URL.*mqtt://`},
		{"no port", `  url = "mqtt://broker"`, `(?s)Invalid Broker URL`},
		{"ttl", `  url = "mqtt://broker:1883"
  default_time_to_live_seconds = 0`, `(?s)default_time_to_live_seconds.*at least 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { accPreCheck(t) },
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      upstreamConfig("gw-validation", tt.body),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tt.want),
				}},
			})
		})
	}
}
