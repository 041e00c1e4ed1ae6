package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/client"
)

// Acceptance tests (TF_ACC=1) run Terraform against a real hub that
// TestMain builds from ./cmd/edgeplane (or takes from EDGEPLANE_BIN) and
// starts on a free loopback port with a temporary data directory and a
// random operator token. The provider finds it through EDGEPLANE_ENDPOINT
// and EDGEPLANE_TOKEN.

// accHub is the hub of this test run; nil unless TF_ACC is set.
var accHub *realHub

// requiredProviders names the provider by its registry address, so the
// same configurations work with Terraform and with OpenTofu
// (TF_ACC_PROVIDER_HOST=registry.opentofu.org).
const requiredProviders = `
terraform {
  required_providers {
    edgeplane = {
      source = "edgeplane/edgeplane"
    }
  }
}
`

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// Every configuration names edgeplane/edgeplane; tell the test
	// framework which namespace serves it.
	if os.Getenv("TF_ACC_PROVIDER_NAMESPACE") == "" {
		os.Setenv("TF_ACC_PROVIDER_NAMESPACE", "edgeplane")
	}
	if os.Getenv("TF_ACC") == "" {
		return m.Run()
	}

	tf, err := findTerraform()
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance tests:", err)
		return 1
	}
	os.Setenv("TF_ACC_TERRAFORM_PATH", tf)
	os.Unsetenv("TF_ACC_TERRAFORM_VERSION")
	os.Setenv("CHECKPOINT_DISABLE", "1")

	dir, err := os.MkdirTemp("", "edgeplane-provider-acc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	rc := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(rc, nil, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "acceptance tests:", err)
		return 1
	}
	os.Setenv("TF_CLI_CONFIG_FILE", rc)

	accHub, err = startHub(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance tests: starting the hub:", err)
		return 1
	}
	defer accHub.stop()
	os.Setenv(EnvEndpoint, accHub.endpoint)
	os.Setenv(EnvToken, accHub.token)
	return m.Run()
}

// realHub is an `edgeplane hub` process.
type realHub struct {
	cmd      *exec.Cmd
	endpoint string
	token    string
	client   *client.Client
	log      *bytes.Buffer
	done     chan error
}

// startHub builds edgeplane unless EDGEPLANE_BIN names a binary, then runs
// `edgeplane hub` with its state under dir and waits for /readyz.
func startHub(dir string) (*realHub, error) {
	bin := os.Getenv("EDGEPLANE_BIN")
	if bin != "" && !filepath.IsAbs(bin) {
		// Relative to the repository root, where make runs; tests run in
		// ./provider.
		bin = filepath.Join("..", bin)
	}
	if bin == "" {
		bin = filepath.Join(dir, "edgeplane")
		build := exec.Command("go", "build", "-tags",
			"remote exclude_graphdriver_btrfs btrfs_noversion exclude_graphdriver_devicemapper "+
				"containers_image_openpgp", "-o", bin, "./cmd/edgeplane")
		build.Dir = ".."
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building ./cmd/edgeplane: %w\n%s", err, out)
		}
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	h := &realHub{token: hex.EncodeToString(tok), log: &bytes.Buffer{}, done: make(chan error, 1)}

	addrFile := filepath.Join(dir, "hub.addr")
	h.cmd = exec.Command(bin, "hub", "--listen", "127.0.0.1:0",
		"--data-dir", filepath.Join(dir, "hub-data"), "--addr-file", addrFile)
	h.cmd.Env = append(os.Environ(), "EDGEPLANE_HUB_TOKENS="+h.token)
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s hub: %w", bin, err)
	}
	go func() { h.done <- h.cmd.Wait() }()

	// Wait for the address, then for /readyz.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-h.done:
			return nil, fmt.Errorf("hub exited early (%v); its output:\n%s", err, h.log)
		default:
		}
		if time.Now().After(deadline) {
			h.stop()
			return nil, fmt.Errorf("hub not ready after 60s; its output:\n%s", h.log)
		}
		if h.endpoint == "" {
			if b, err := os.ReadFile(addrFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
				addr := strings.TrimSpace(string(b))
				if !strings.Contains(addr, "://") {
					addr = "http://" + addr
				}
				h.endpoint = addr
			}
		}
		if h.endpoint != "" {
			resp, err := http.Get(h.endpoint + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}

	c, err := client.New(client.Config{Endpoint: h.endpoint, Token: h.token})
	if err != nil {
		h.stop()
		return nil, err
	}
	h.client = c
	return h, nil
}

func (h *realHub) stop() {
	if h.cmd.Process == nil {
		return
	}
	_ = h.cmd.Process.Signal(os.Interrupt)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// accPreCheck is every acceptance test's PreCheck.
func accPreCheck(t *testing.T) {
	t.Helper()
	if accHub == nil {
		t.Fatal("no hub: TestMain starts one when TF_ACC is set")
	}
}

// randName returns a fresh object name, so tests never collide on the
// shared hub.
func randName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// accClient returns the hub client of the acceptance run.
func accClient() *client.Client { return accHub.client }

// report sends a ReportedPatch through the device API as the device
// itself, with a token signed by its key.
func report(ctx context.Context, endpoint, deviceID, key string, patch api.ReportedPatch) error {
	k, err := api.DecodeKey(key)
	if err != nil {
		return err
	}
	tok := api.SignDeviceToken(deviceID, k, time.Now().Add(10*time.Minute))
	body, _ := json.Marshal(patch)
	req, err := http.NewRequestWithContext(ctx, "PATCH", endpoint+"/v1/device/reported",
		bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Device "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e api.Error
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("PATCH /v1/device/reported: %d %s: %s", resp.StatusCode, e.Code, e.Message)
	}
	return nil
}

// checkGone returns a CheckDestroy that asserts every resource of type typ
// in the state is gone from the hub, using get to look it up.
func checkGone(typ string, get func(ctx context.Context, attrs map[string]string) error,
) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for addr, rs := range s.RootModule().Resources {
			if rs.Type != typ {
				continue
			}
			err := get(context.Background(), rs.Primary.Attributes)
			if err == nil {
				return fmt.Errorf("%s (%s) still exists on the hub", addr, rs.Primary.ID)
			}
			if !errors.Is(err, client.ErrNotFound) {
				return fmt.Errorf("checking %s: %w", addr, err)
			}
		}
		return nil
	}
}

// outOfBand returns a Check that changes the hub behind Terraform's back.
func outOfBand(f func(ctx context.Context, c *client.Client) error) func(*terraform.State) error {
	return func(*terraform.State) error { return f(context.Background(), accClient()) }
}
