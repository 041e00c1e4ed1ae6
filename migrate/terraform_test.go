package migrate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests run the real Terraform on the committed example output.
// Terraform is found through TF_ACC_TERRAFORM_PATH, then
// ~/.cache/edgeplane/bin/terraform (make tools-terraform), then PATH.

func terraformBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Terraform; skipped with -short")
	}
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "edgeplane", "bin", "terraform")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("terraform not found: run `make tools-terraform` (Terraform 1.5.7 into " +
			"~/.cache/edgeplane/bin) or set TF_ACC_TERRAFORM_PATH")
	}
	return p
}

// terraform runs tf with args in dir under a CLI configuration of the
// test's own, never the user's, and with update checks off.
func terraform(t *testing.T, tf, cliConfig, dir string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(tf, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"TF_DATA_DIR="+filepath.Join(dir, ".terraform"),
	)
	return cmd.CombinedOutput()
}

// copyExample copies an example's expected output into a new directory.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(examplesDir, name, "expected")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTerraformFmt checks that `terraform fmt -check` accepts every
// example's output, and, as a control, rejects a file it would change.
func TestTerraformFmt(t *testing.T) {
	tf := terraformBinary(t)
	cfg := writeFile(t, filepath.Join(t.TempDir(), "terraformrc"), "")
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			dir := copyExample(t, ex.name)
			if out, err := terraform(t, tf, cfg, dir, "fmt", "-check", "-diff", "-no-color"); err != nil {
				t.Errorf("terraform fmt -check: %v\n%s", err, out)
			}
		})
	}
	t.Run("control", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "bad.tf"), "variable \"x\" {\ntype=string\n}\n")
		if out, err := terraform(t, tf, cfg, dir, "fmt", "-check", "-no-color"); err == nil {
			t.Errorf("got success on an unformatted file, want failure\n%s", out)
		}
	})
}

// TestTerraformValidate builds the provider from the repository root and
// runs `terraform validate` on every example's output with the provider
// installed through dev_overrides, which needs no `terraform init`.
func TestTerraformValidate(t *testing.T) {
	tf := terraformBinary(t)

	// Build the provider and point Terraform at it.
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "terraform-provider-edgeplane"), ".")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	cfg := writeFile(t, filepath.Join(t.TempDir(), "terraformrc"), `provider_installation {
  dev_overrides {
    "edgeplane/edgeplane" = "`+bin+`"
  }
  direct {}
}
`)

	validate := func(t *testing.T, dir string) (valid bool, diags string) {
		t.Helper()
		out, _ := terraform(t, tf, cfg, dir, "validate", "-json", "-no-color")
		var res struct {
			Valid       bool `json:"valid"`
			Diagnostics []struct {
				Severity, Summary, Detail string
			} `json:"diagnostics"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("reading terraform validate -json: %v\n%s", err, out)
		}
		var b strings.Builder
		for _, d := range res.Diagnostics {
			b.WriteString(d.Severity + ": " + d.Summary + ": " + d.Detail + "\n")
		}
		return res.Valid, b.String()
	}

	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			if valid, diags := validate(t, copyExample(t, ex.name)); !valid {
				t.Errorf("got invalid, want valid:\n%s", diags)
			}
		})
	}

	// Control: an attribute the provider does not have must be refused,
	// which shows that the provider's schema was really consulted.
	t.Run("control", func(t *testing.T) {
		dir := copyExample(t, "hello-world")
		writeFile(t, filepath.Join(dir, "control.tf"), `resource "edgeplane_route" "control" {
  device_id = "gw"
  name      = "control"
  route     = "FROM /messages/* INTO $upstream"
  no_such   = 1
}
`)
		if valid, _ := validate(t, dir); valid {
			t.Error("got valid for an unknown attribute, want invalid")
		}
	})
}
