package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes

func TestParseConfig(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(goodKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		doc     string
		wantErr string // substring; "" for success
		socket  string // wanted podman_socket; "" for the default
	}{
		{name: "bare socket path",
			doc:    "hub_url: https://hub\ndevice_id: gw1\ndevice_key: " + goodKey + "\npodman_socket: /run/user/1000/podman/podman.sock\n",
			socket: "unix:///run/user/1000/podman/podman.sock"},
		{name: "minimal", doc: "hub_url: https://hub\ndevice_id: gw1\ndevice_key: " + goodKey + "\n"},
		{name: "key file", doc: "hub_url: https://hub\ndevice_id: gw1\ndevice_key_file: " + keyFile + "\n"},
		{name: "unknown key names key and line",
			doc:     "hub_url: https://hub\ndevice_id: gw1\ndevice_key: " + goodKey + "\nhub_urll: x\n",
			wantErr: "line 4: field hub_urll not found"},
		{name: "missing hub", doc: "device_id: gw1\ndevice_key: " + goodKey + "\n", wantErr: "hub_url is required"},
		{name: "short key", doc: "hub_url: https://hub\ndevice_id: gw1\ndevice_key: c2hvcnQ=\n",
			wantErr: "device_key: device key is 5 bytes"},
		{name: "both keys",
			doc:     "hub_url: https://hub\ndevice_id: gw1\ndevice_key: " + goodKey + "\ndevice_key_file: /x\n",
			wantErr: "both set"},
		{name: "bad level", doc: "hub_url: https://hub\ndevice_id: gw1\ndevice_key: " + goodKey + "\nlog_level: loud\n",
			wantErr: "log_level"},
		{name: "relative plugin",
			doc:     "hub_url: https://hub\ndevice_id: gw1\ndevice_key: " + goodKey + "\nfast_route_plugin: x.so\n",
			wantErr: "fast_route_plugin"},
		{name: "plugin off", doc: "hub_url: https://hub\ndevice_id: gw1\ndevice_key: " + goodKey + "\nfast_route_plugin: none\n"},
		{name: "relative data dir",
			doc:     "hub_url: https://hub\ndevice_id: gw1\ndevice_key: " + goodKey + "\ndata_dir: var\n",
			wantErr: "data_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_RUNTIME_DIR", "/run/user/1234")
			c, err := ParseConfig([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), goodKey) {
					t.Errorf("error %q contains the key", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := len(c.Key()); got != 32 {
				t.Errorf("got key of %d bytes, want 32", got)
			}
			if c.DataDir != "/var/lib/edgeplane" {
				t.Errorf("got data_dir %q, want /var/lib/edgeplane", c.DataDir)
			}
			want := "unix:///run/user/1234/podman/podman.sock"
			if tt.socket != "" {
				want = tt.socket
			}
			if c.PodmanSocket != want {
				t.Errorf("got podman_socket %q, want %q", c.PodmanSocket, want)
			}
		})
	}
}
