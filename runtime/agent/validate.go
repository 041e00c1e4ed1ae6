package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/edgeplane/edgeplane/hub/api"
)

// Host describes what the host offers, for checks that a desired state can
// be satisfied here. The zero value checks nothing host-specific.
type Host struct {
	// UnprivilegedPortStart is the lowest host port a rootless container may
	// publish; 0 means any.
	UnprivilegedPortStart int
	// Stat checks that a host path exists; nil skips the check.
	Stat func(path string) error
}

// LocalHost returns the Host of this machine.
func LocalHost() Host {
	h := Host{Stat: func(p string) error { _, err := os.Stat(p); return err }}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil {
		h.UnprivilegedPortStart, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	return h
}

// Validate checks that ds is well formed and can run on host. It returns
// every problem it finds, joined, each naming the module and field; a
// non-nil result rejects the whole desired state.
func Validate(ds *api.DesiredState, host Host) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	seen := map[string]bool{}
	type hostPort struct {
		ip    string
		port  int
		proto string
	}
	ports := map[hostPort]string{}
	for i, m := range ds.Modules {
		where := fmt.Sprintf("modules[%d]", i)
		if !api.IDPattern.MatchString(m.Name) {
			bad("%s.name %q is not a valid module name", where, m.Name)
		} else {
			where = fmt.Sprintf("module %q", m.Name)
		}
		if seen[m.Name] {
			bad("%s: duplicate module name", where)
		}
		seen[m.Name] = true
		// A reference Podman cannot parse would fail only at pull time, as a
		// module failure; it is a malformed state and rejects the whole.
		if strings.TrimSpace(m.Image) == "" {
			bad("%s: image is empty", where)
		} else if _, err := reference.ParseNormalizedNamed(m.Image); err != nil {
			bad("%s: image %q is not an image reference: %v", where, m.Image, err)
		}
		switch m.RestartPolicy {
		case "", api.RestartAlways, api.RestartOnFailure, api.RestartOnUnhealthy, api.RestartNever:
		default:
			bad("%s: restart_policy %q is not always, on-failure, on-unhealthy or never", where, m.RestartPolicy)
		}
		switch m.DesiredStatus {
		case "", api.StatusRunning, api.StatusStopped:
		default:
			bad("%s: desired_status %q is not running or stopped", where, m.DesiredStatus)
		}
		switch m.ImagePullPolicy {
		case "", api.PullOnCreate, api.PullNever:
		default:
			bad("%s: image_pull_policy %q is not on-create or never", where, m.ImagePullPolicy)
		}
		for k := range m.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				bad("%s: env name %q is not allowed", where, k)
			}
		}

		co := m.CreateOptions
		if co == nil {
			continue
		}
		for j, mt := range co.Mounts {
			mw := fmt.Sprintf("%s: create_options.mounts[%d]", where, j)
			if !filepath.IsAbs(mt.Target) {
				bad("%s.target %q is not an absolute path", mw, mt.Target)
			}
			switch mt.Type {
			case "bind":
				if !filepath.IsAbs(mt.Source) {
					bad("%s.source %q is not an absolute path", mw, mt.Source)
				} else if host.Stat != nil {
					if err := host.Stat(mt.Source); err != nil {
						bad("%s.source %q does not exist on this gateway", mw, mt.Source)
					}
				}
			case "volume":
				if !api.IDPattern.MatchString(mt.Source) {
					bad("%s.source %q is not a valid volume name", mw, mt.Source)
				}
			default:
				bad("%s.type %q is not bind or volume", mw, mt.Type)
			}
		}
		for j, p := range co.Ports {
			pw := fmt.Sprintf("%s: create_options.ports[%d]", where, j)
			if p.ContainerPort < 1 || p.ContainerPort > 65535 {
				bad("%s.container_port %d is out of range 1-65535", pw, p.ContainerPort)
			}
			if p.HostPort < 1 || p.HostPort > 65535 {
				bad("%s.host_port %d is out of range 1-65535", pw, p.HostPort)
			} else if p.HostPort < host.UnprivilegedPortStart {
				bad("%s.host_port %d is below %d, which rootless containers cannot bind on this gateway",
					pw, p.HostPort, host.UnprivilegedPortStart)
			}
			proto := p.Protocol
			if proto == "" {
				proto = "tcp"
			}
			if proto != "tcp" && proto != "udp" {
				bad("%s.protocol %q is not tcp or udp", pw, p.Protocol)
			}
			k := hostPort{p.HostIP, p.HostPort, proto}
			if other, ok := ports[k]; ok {
				bad("%s.host_port %d/%s is already published by module %q", pw, p.HostPort, proto, other)
			}
			ports[k] = m.Name
		}
		for j, d := range co.Devices {
			dw := fmt.Sprintf("%s: create_options.devices[%d]", where, j)
			if !filepath.IsAbs(d.HostPath) {
				bad("%s.host_path %q is not an absolute path", dw, d.HostPath)
			} else if host.Stat != nil {
				if err := host.Stat(d.HostPath); err != nil {
					bad("%s.host_path %q does not exist on this gateway", dw, d.HostPath)
				}
			}
			if strings.Trim(d.Permissions, "rwm") != "" {
				bad("%s.permissions %q is not made of r, w and m", dw, d.Permissions)
			}
		}
		for k := range co.Labels {
			if strings.HasPrefix(k, "edgeplane.") {
				bad("%s: create_options.labels key %q uses the reserved prefix edgeplane.", where, k)
			}
		}
		if co.MemoryBytes < 0 {
			bad("%s: create_options.memory_bytes %d is negative", where, co.MemoryBytes)
		} else if co.MemoryBytes > 0 && co.MemoryBytes < 6<<20 {
			bad("%s: create_options.memory_bytes %d is below the 6 MiB a container needs", where, co.MemoryBytes)
		}
		if co.CPUs < 0 {
			bad("%s: create_options.cpus %v is negative", where, co.CPUs)
		}
		if hc := co.HealthCheck; hc != nil {
			if err := validateHealthCheck(hc); err != nil {
				bad("%s: create_options.health_check: %v", where, err)
			}
		}
	}

	for i, r := range ds.Registries {
		if strings.TrimSpace(r.Server) == "" {
			bad("registries[%d] %q: server is empty", i, r.Name)
		}
	}
	return errors.Join(errs...)
}

func validateHealthCheck(hc *api.HealthCheck) error {
	if len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
		return fmt.Errorf("test %q must start with CMD or CMD-SHELL and name a command", hc.Test)
	}
	durations := map[string]string{
		"interval": hc.Interval, "timeout": hc.Timeout, "start_period": hc.StartPeriod,
	}
	for name, s := range durations {
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Errorf("%s %q is not a duration such as 30s", name, s)
		}
		if name == "interval" && d < time.Second {
			return fmt.Errorf("interval %q is below 1s", s)
		}
	}
	if hc.Retries < 0 {
		return fmt.Errorf("retries %d is negative", hc.Retries)
	}
	return nil
}

// parseDuration parses a validated duration; "" is zero.
func parseDuration(s string) time.Duration {
	d, _ := time.ParseDuration(strings.TrimSpace(s))
	return d
}
