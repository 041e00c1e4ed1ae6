package agent

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/extension"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, 10 * time.Second}, {1, 20 * time.Second}, {2, 40 * time.Second},
		{4, 160 * time.Second}, {5, 300 * time.Second}, {50, 300 * time.Second},
	}
	for _, tt := range tests {
		if got := DefaultTiming.Backoff(tt.n); got != tt.want {
			t.Errorf("Backoff(%d): got %s, want %s", tt.n, got, tt.want)
		}
	}
}

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		policy    string
		code      int
		unhealthy bool
		want      bool
	}{
		{"", 0, false, true},
		{api.RestartAlways, 0, false, true},
		{api.RestartNever, 1, false, false},
		{api.RestartOnFailure, 0, false, false},
		{api.RestartOnFailure, 2, false, true},
		{api.RestartOnFailure, 137, true, false},
		{api.RestartOnUnhealthy, 0, false, false},
		{api.RestartOnUnhealthy, 137, true, true},
		{api.RestartOnUnhealthy, 1, false, true},
	}
	for _, tt := range tests {
		if got := shouldRestart(tt.policy, tt.code, tt.unhealthy); got != tt.want {
			t.Errorf("shouldRestart(%q, %d, %v): got %v, want %v", tt.policy, tt.code, tt.unhealthy, got, tt.want)
		}
	}
}

func TestSpecHash(t *testing.T) {
	base := api.Module{Name: "m", Image: "img:1", Env: map[string]string{"A": "1"}}
	hash := func(m api.Module, w ...extension.Wiring) string { return NewSpec(m, w).Hash() }
	h0 := hash(base)

	same := []struct {
		name string
		m    api.Module
	}{
		{"version", func() api.Module { m := base; m.Version = 9; return m }()},
		{"startup order", func() api.Module { m := base; m.StartupOrder = 3; return m }()},
		{"restart policy", func() api.Module { m := base; m.RestartPolicy = api.RestartNever; return m }()},
		{"default status", func() api.Module { m := base; m.DesiredStatus = api.StatusRunning; return m }()},
		// Stopping a module stops its container and keeps it.
		{"stopped", func() api.Module { m := base; m.DesiredStatus = api.StatusStopped; return m }()},
		{"empty options", func() api.Module { m := base; m.CreateOptions = &api.CreateOptions{}; return m }()},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			if got := hash(tt.m); got != h0 {
				t.Errorf("got hash %s, want unchanged %s", got, h0)
			}
		})
	}

	differ := []struct {
		name string
		h    string
	}{
		{"image", hash(func() api.Module { m := base; m.Image = "img:2"; return m }())},
		{"env", hash(func() api.Module { m := base; m.Env = map[string]string{"A": "2"}; return m }())},
		{"memory", hash(func() api.Module {
			m := base
			m.CreateOptions = &api.CreateOptions{MemoryBytes: 64 << 20}
			return m
		}())},
		{"wiring", hash(base, extension.Wiring{Env: map[string]string{"BUS": "x"}})},
	}
	for _, tt := range differ {
		t.Run("differs/"+tt.name, func(t *testing.T) {
			if tt.h == h0 {
				t.Errorf("got unchanged hash %s, want a different one", h0)
			}
		})
	}
}

func TestRegistryFor(t *testing.T) {
	regs := []api.Registry{
		{Name: "local", Server: "127.0.0.1:5000", Username: "u"},
		{Name: "hub", Server: "docker.io", Username: "d"},
		{Name: "q", Server: "https://quay.io/", Username: "q"},
	}
	tests := []struct{ image, want string }{
		{"127.0.0.1:5000/mod:1", "local"},
		{"127.0.0.1:5001/mod:1", ""},
		{"busybox", "hub"},
		{"library/busybox:1", "hub"},
		{"quay.io/x/y", "q"},
		{"localhost/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			got := ""
			if r := registryFor(tt.image, regs); r != nil {
				got = r.Name
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	host := Host{
		UnprivilegedPortStart: 1024,
		Stat: func(p string) error {
			if p == "/exists" {
				return nil
			}
			return fs.ErrNotExist
		},
	}
	ok := api.Module{Name: "a", Image: "img"}
	tests := []struct {
		name    string
		mods    []api.Module
		wantErr string
	}{
		{name: "good", mods: []api.Module{ok, {Name: "b", Image: "img", CreateOptions: &api.CreateOptions{
			Mounts: []api.Mount{{Type: "bind", Source: "/exists", Target: "/data"}},
			Ports:  []api.Port{{HostPort: 8080, ContainerPort: 80}},
		}}}},
		{name: "duplicate", mods: []api.Module{ok, ok}, wantErr: `module "a": duplicate module name`},
		{name: "bad name", mods: []api.Module{{Name: "-x", Image: "i"}}, wantErr: `modules[0].name "-x"`},
		{name: "no image", mods: []api.Module{{Name: "a"}}, wantErr: "image is empty"},
		{name: "registry image", mods: []api.Module{{Name: "a", Image: "10.0.2.100:5000/edgeplane/sensor:1.2"}}},
		{name: "bad image", mods: []api.Module{{Name: "a", Image: "Sensor:latest"}},
			wantErr: `image "Sensor:latest" is not an image reference`},
		{name: "bad tag", mods: []api.Module{{Name: "a", Image: "sensor:"}},
			wantErr: `image "sensor:" is not an image reference`},
		{name: "bad policy", mods: []api.Module{{Name: "a", Image: "i", RestartPolicy: "sometimes"}},
			wantErr: `restart_policy "sometimes"`},
		{name: "missing bind source", mods: []api.Module{{Name: "a", Image: "i", CreateOptions: &api.CreateOptions{
			Mounts: []api.Mount{{Type: "bind", Source: "/nope", Target: "/d"}}}}},
			wantErr: `mounts[0].source "/nope" does not exist`},
		{name: "privileged port", mods: []api.Module{{Name: "a", Image: "i", CreateOptions: &api.CreateOptions{
			Ports: []api.Port{{HostPort: 80, ContainerPort: 80}}}}},
			wantErr: "host_port 80 is below 1024"},
		{name: "port clash", mods: []api.Module{
			{Name: "a", Image: "i", CreateOptions: &api.CreateOptions{Ports: []api.Port{{HostPort: 9000, ContainerPort: 1}}}},
			{Name: "b", Image: "i", CreateOptions: &api.CreateOptions{Ports: []api.Port{{HostPort: 9000, ContainerPort: 1}}}},
		}, wantErr: `already published by module "a"`},
		{name: "missing device", mods: []api.Module{{Name: "a", Image: "i", CreateOptions: &api.CreateOptions{
			Devices: []api.DeviceMapping{{HostPath: "/dev/ttyNOPE"}}}}},
			wantErr: "does not exist on this gateway"},
		{name: "reserved label", mods: []api.Module{{Name: "a", Image: "i", CreateOptions: &api.CreateOptions{
			Labels: map[string]string{"edgeplane.module": "x"}}}},
			wantErr: "reserved prefix"},
		{name: "bad health interval", mods: []api.Module{{Name: "a", Image: "i", CreateOptions: &api.CreateOptions{
			HealthCheck: &api.HealthCheck{Test: []string{"CMD", "/hc"}, Interval: "often"}}}},
			wantErr: `interval "often"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(&api.DesiredState{Modules: tt.mods}, host)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLimitsNote(t *testing.T) {
	tests := []struct {
		rootless bool
		cgroups  string
		ctrls    []string
		want     bool
	}{
		{false, "v1", nil, false},
		{true, "v1", nil, true},
		{true, "v2", []string{"cpu", "memory", "pids"}, false},
		{true, "v2", []string{"pids"}, true},
	}
	for _, tt := range tests {
		if got := limitsNote(tt.rootless, tt.cgroups, tt.ctrls) != ""; got != tt.want {
			t.Errorf("limitsNote(%v, %s, %v): got note %v, want %v", tt.rootless, tt.cgroups, tt.ctrls, got, tt.want)
		}
	}
}
