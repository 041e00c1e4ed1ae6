package sdk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDeviceID, "gw-1")
	t.Setenv(EnvModuleID, "sensor")
	t.Setenv(EnvBrokerURL, "unix:///run/edgeplane/bus/broker.sock")
	t.Setenv(EnvSecretFile, secret)
	c, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{DeviceID: "gw-1", ModuleID: "sensor", BrokerURL: "unix:///run/edgeplane/bus/broker.sock", Secret: "s3cret"}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}

	for _, unset := range []string{EnvModuleID, EnvBrokerURL, EnvSecretFile} {
		t.Run("without "+unset, func(t *testing.T) {
			t.Setenv(unset, "")
			if _, err := ConfigFromEnv(); err == nil {
				t.Errorf("got no error, want one naming %s", unset)
			}
		})
	}
}

func TestCallsBeforeConnect(t *testing.T) {
	c := New(Config{ModuleID: "m"})
	defer c.Close()
	ctx := context.Background()
	if err := c.SendOutput(ctx, "o", &Message{}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("SendOutput: got %v, want ErrNotConnected", err)
	}
	if _, err := c.Twin(ctx); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Twin: got %v, want ErrNotConnected", err)
	}
	if err := c.PatchReported(ctx, map[string]int{"a": 1}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("PatchReported: got %v, want ErrNotConnected", err)
	}
}
