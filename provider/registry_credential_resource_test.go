package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/edgeplane/edgeplane/hub/client"
)

func registryConfig(dev, server, password string) string {
	return requiredProviders + fmt.Sprintf(`
resource "edgeplane_device" "gw" {
  device_id = %q
}

resource "edgeplane_registry_credential" "test" {
  device_id = edgeplane_device.gw.device_id
  name      = "local"
  server    = %q
  username  = "puller"
  password  = %q
}
`, dev, server, password)
}

var registryDestroyed = checkGone("edgeplane_registry_credential",
	func(ctx context.Context, a map[string]string) error {
		_, err := accClient().GetRegistry(ctx, a["device_id"], a["name"])
		return err
	})

func TestAccRegistryCredential_basic(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             registryDestroyed,
		Steps: []resource.TestStep{{
			Config: registryConfig(dev, "registry.local:5000", "pw-1"),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("edgeplane_registry_credential.test", "id", dev+"/local"),
				resource.TestCheckResourceAttr("edgeplane_registry_credential.test", "password", "pw-1"),
				func(*terraformState) error {
					r, err := accClient().GetRegistry(context.Background(), dev, "local")
					if err != nil {
						return err
					}
					if r.Password != "" || !r.PasswordSet {
						return fmt.Errorf("hub registry: got password %q set=%v, want hidden and set",
							r.Password, r.PasswordSet)
					}
					return nil
				},
			),
		}},
	})
}

func TestAccRegistryCredential_import(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             registryDestroyed,
		Steps: []resource.TestStep{
			{Config: registryConfig(dev, "registry.local:5000", "pw-1")},
			{
				ResourceName:            "edgeplane_registry_credential.test",
				ImportState:             true,
				ImportStateId:           dev + "/local",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"password"},
			},
		},
	})
}

func TestAccRegistryCredential_update(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             registryDestroyed,
		Steps: []resource.TestStep{
			{Config: registryConfig(dev, "registry.local:5000", "pw-1")},
			{
				Config: registryConfig(dev, "registry.local:5001", "pw-2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_registry_credential.test",
						plancheck.ResourceActionUpdate)}},
				Check: resource.TestCheckResourceAttr("edgeplane_registry_credential.test",
					"server", "registry.local:5001"),
			},
			{
				// A server changed outside Terraform shows as a diff.
				PreConfig: func() {
					ctx := context.Background()
					r, err := accClient().GetRegistry(ctx, dev, "local")
					if err != nil {
						t.Fatal(err)
					}
					r.Server = "evil.example.com"
					r.Password = "pw-2"
					if _, err := accClient().PutRegistry(ctx, dev, *r, 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: registryConfig(dev, "registry.local:5001", "pw-2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("edgeplane_registry_credential.test",
						plancheck.ResourceActionUpdate)}},
			},
		},
	})
}

func TestAccRegistryCredential_disappears(t *testing.T) {
	dev := randName("gw")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { accPreCheck(t) },
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             registryDestroyed,
		Steps: []resource.TestStep{{
			Config: registryConfig(dev, "registry.local:5000", "pw-1"),
			Check: outOfBand(func(ctx context.Context, c *client.Client) error {
				return c.DeleteRegistry(ctx, dev, "local")
			}),
			ExpectNonEmptyPlan: true,
		}},
	})
}
