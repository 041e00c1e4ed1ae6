package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// protoV6ProviderFactories serves the provider in-process to the
// Terraform CLI that terraform-plugin-testing runs.
var protoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"edgeplane": providerserver.NewProtocol6WithError(New("test")()),
}

// requireTerraform makes sure terraform-plugin-testing finds a Terraform
// (or OpenTofu) binary on this machine and never downloads one: it sets
// TF_ACC_TERRAFORM_PATH to TF_ACC_TERRAFORM_PATH, the tools directory's
// terraform or the one on PATH, and fails naming the make target when there
// is none. Only -short skips.
func requireTerraform(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping with -short: the test runs Terraform")
	}
	if p, err := findTerraform(); err == nil {
		t.Setenv("TF_ACC_TERRAFORM_PATH", p)
		t.Setenv("TF_ACC_TERRAFORM_VERSION", "")
		t.Setenv("CHECKPOINT_DISABLE", "1")
		// Keep the user's CLI configuration (mirrors, dev overrides) out.
		rc := filepath.Join(t.TempDir(), "terraformrc")
		if err := os.WriteFile(rc, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("TF_CLI_CONFIG_FILE", rc)
		return
	} else {
		t.Fatal(err)
	}
}

// findTerraform returns the Terraform binary to test with.
func findTerraform() (string, error) {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("TF_ACC_TERRAFORM_PATH: %w", err)
		}
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "edgeplane", "bin", "terraform")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no terraform binary: run `make tools-terraform` (builds Terraform " +
		"1.5.7 into ~/.cache/edgeplane/bin) or set TF_ACC_TERRAFORM_PATH")
}

// providerBlock configures the provider for a fake hub.
func (h *fakeHub) providerBlock() string {
	return requiredProviders + fmt.Sprintf(`
provider "edgeplane" {
  endpoint = %q
  token    = %q
}
`, h.srv.URL, h.token)
}

func TestProviderConfigErrors(t *testing.T) {
	requireTerraform(t)
	t.Setenv(EnvEndpoint, "")
	t.Setenv(EnvToken, "")
	tests := []struct {
		name   string
		config string
		want   string
	}{
		{"missing endpoint", `provider "edgeplane" { token = "t" }`,
			`(?s)Missing Edgeplane Hub Endpoint.*EDGEPLANE_ENDPOINT`},
		{"missing token", `provider "edgeplane" { endpoint = "http://127.0.0.1:1" }`,
			`(?s)Missing Edgeplane Hub Token.*EDGEPLANE_TOKEN`},
		{"bad endpoint", `provider "edgeplane" {
  endpoint = "hub.example.com:8080"
  token    = "t"
}`, `(?s)Unable to Configure the Edgeplane Provider.*not an http`},
		{"unknown endpoint", `resource "terraform_data" "x" { input = "http://h" }
provider "edgeplane" {
  endpoint = terraform_data.x.output
  token    = "t"
}`, `Unknown Edgeplane Hub Endpoint`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: requiredProviders + tt.config + "\n" +
						`data "edgeplane_devices" "all" {}`,
					ExpectError: regexp.MustCompile(tt.want),
				}},
			})
		})
	}
}

func TestProviderEnvironmentFallback(t *testing.T) {
	requireTerraform(t)
	hub := newFakeHub(t)
	t.Setenv(EnvEndpoint, hub.srv.URL)
	t.Setenv(EnvToken, hub.token)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: requiredProviders + `data "edgeplane_devices" "all" {}`,
			Check:  resource.TestCheckResourceAttr("data.edgeplane_devices.all", "ids.#", "0"),
		}},
	})
}
