package appliance

import (
	"os"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/runtime/gateway"
)

func TestDefaultConfigParses(t *testing.T) {
	b, err := os.ReadFile("edgeplaned.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The key file does not exist here; everything else must be accepted.
	_, err = gateway.ParseConfig(b)
	if err == nil || !strings.Contains(err.Error(), "device_key_file") || strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("got %v, want only the missing device_key_file error", err)
	}
}

func TestUnit(t *testing.T) {
	b, err := os.ReadFile("systemd/edgeplaned.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "ExecStart=/usr/bin/edgeplaned --config /etc/edgeplane/edgeplaned.yaml"} {
		if !strings.Contains(string(b), "\n"+want) {
			t.Errorf("unit lacks a line starting %q", want)
		}
	}
}
