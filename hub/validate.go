package hub

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/route"
)

func oneOf(field, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return errInvalid(field, "%s %q is not allowed; use one of %s", field, v, strings.Join(allowed, ", "))
}

// validateModule checks a module's fields; it names the first bad one.
func validateModule(m *api.Module) error {
	if strings.TrimSpace(m.Image) == "" {
		return errInvalid("image", "image is required, such as \"registry.example/sensor:1.2\"")
	}
	if strings.ContainsAny(m.Image, " \t\n") {
		return errInvalid("image", "image %q must not contain white space", m.Image)
	}
	for k := range m.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return errInvalid("env", "environment variable name %q must be non-empty and have no '='", k)
		}
	}
	if err := oneOf("restart_policy", m.RestartPolicy,
		api.RestartNever, api.RestartOnFailure, api.RestartOnUnhealthy, api.RestartAlways); err != nil {
		return err
	}
	if err := oneOf("desired_status", m.DesiredStatus, api.StatusRunning, api.StatusStopped); err != nil {
		return err
	}
	if err := oneOf("image_pull_policy", m.ImagePullPolicy, api.PullOnCreate, api.PullNever); err != nil {
		return err
	}
	if m.StartupOrder < 0 {
		return errInvalid("startup_order", "startup_order must be 0 or more, got %d", m.StartupOrder)
	}
	if m.CreateOptions != nil {
		return validateCreateOptions(m.CreateOptions)
	}
	return nil
}

func validateCreateOptions(o *api.CreateOptions) error {
	for i, mt := range o.Mounts {
		f := fmt.Sprintf("create_options.mounts[%d]", i)
		if mt.Type != "bind" && mt.Type != "volume" {
			return errInvalid(f+".type", "mount type %q is not allowed; use bind or volume", mt.Type)
		}
		if mt.Source == "" {
			return errInvalid(f+".source", "mount source is required (a host path or a volume name)")
		}
		if mt.Type == "bind" && !path.IsAbs(mt.Source) {
			return errInvalid(f+".source", "bind mount source %q must be an absolute path", mt.Source)
		}
		if mt.Type == "volume" && !api.IDPattern.MatchString(mt.Source) {
			return errInvalid(f+".source", "volume name %q is not valid: %s", mt.Source, idRule)
		}
		if !path.IsAbs(mt.Target) {
			return errInvalid(f+".target", "mount target %q must be an absolute path", mt.Target)
		}
	}
	for i, p := range o.Ports {
		f := fmt.Sprintf("create_options.ports[%d]", i)
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			return errInvalid(f+".container_port", "container_port must be 1 to 65535, got %d", p.ContainerPort)
		}
		if p.HostPort < 0 || p.HostPort > 65535 {
			return errInvalid(f+".host_port", "host_port must be 0 (any) to 65535, got %d", p.HostPort)
		}
		if err := oneOf(f+".protocol", p.Protocol, "tcp", "udp"); err != nil {
			return err
		}
		if p.HostIP != "" && net.ParseIP(p.HostIP) == nil {
			return errInvalid(f+".host_ip", "host_ip %q is not an IP address", p.HostIP)
		}
	}
	for i, d := range o.Devices {
		f := fmt.Sprintf("create_options.devices[%d]", i)
		if !path.IsAbs(d.HostPath) {
			return errInvalid(f+".host_path", "host_path %q must be an absolute path", d.HostPath)
		}
		if d.ContainerPath != "" && !path.IsAbs(d.ContainerPath) {
			return errInvalid(f+".container_path", "container_path %q must be an absolute path", d.ContainerPath)
		}
		if strings.Trim(d.Permissions, "rwm") != "" {
			return errInvalid(f+".permissions", "permissions %q may hold only r, w and m", d.Permissions)
		}
	}
	for k := range o.Labels {
		if k == "" {
			return errInvalid("create_options.labels", "label names must not be empty")
		}
	}
	if o.MemoryBytes < 0 {
		return errInvalid("create_options.memory_bytes", "memory_bytes must be 0 (no limit) or more")
	}
	if o.CPUs < 0 {
		return errInvalid("create_options.cpus", "cpus must be 0 (no limit) or more")
	}
	if hc := o.HealthCheck; hc != nil {
		f := "create_options.health_check"
		if len(hc.Test) == 0 {
			return errInvalid(f+".test", "test is required, such as [\"CMD\", \"/healthcheck\"]")
		}
		for _, d := range []struct{ name, v string }{
			{"interval", hc.Interval}, {"timeout", hc.Timeout}, {"start_period", hc.StartPeriod},
		} {
			name, v := d.name, d.v
			if v == "" {
				continue
			}
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return errInvalid(f+"."+name, "%s %q is not a duration; use a Go duration such as \"30s\"", name, v)
			}
		}
		if hc.Retries < 0 {
			return errInvalid(f+".retries", "retries must be 0 or more, got %d", hc.Retries)
		}
	}
	return nil
}

func validateRoute(r *api.Route) error {
	if strings.TrimSpace(r.Text) == "" {
		return errInvalid("route", "route text is required, such as \"FROM /messages/* INTO $upstream\"")
	}
	if _, err := route.Parse(r.Text); err != nil {
		return errInvalid("route", "%v", err)
	}
	if r.Priority < 0 || r.Priority > 9 {
		return errInvalid("priority", "priority must be 0 (highest) to 9 (lowest), got %d", r.Priority)
	}
	if r.TimeToLiveSeconds < 0 {
		return errInvalid("time_to_live_seconds",
			"time_to_live_seconds must be 0 (the device default) or more, got %d", r.TimeToLiveSeconds)
	}
	return nil
}

func validateRegistry(r *api.Registry) error {
	if r.Server == "" {
		return errInvalid("server", "server is required, as host or host:port")
	}
	if strings.Contains(r.Server, "/") || strings.ContainsAny(r.Server, " \t") {
		return errInvalid("server", "server %q must be host or host:port, without scheme or path", r.Server)
	}
	return nil
}

func validateUpstream(u *api.Upstream) error {
	pu, err := url.Parse(u.URL)
	if err != nil || pu.Host == "" {
		return errInvalid("url", "url %q must be like mqtts://broker.example:8883", u.URL)
	}
	if err := oneOf("url", pu.Scheme, "mqtt", "mqtts", "tcp", "ssl", "tls"); err != nil || pu.Scheme == "" {
		return errInvalid("url", "url scheme %q is not allowed; use mqtt, mqtts, tcp, ssl or tls", pu.Scheme)
	}
	for _, p := range []struct{ field, v string }{
		{"ca_certificate", u.CACertificate}, {"client_certificate", u.ClientCertificate},
		{"client_key", u.ClientKey},
	} {
		field, v := p.field, p.v
		if v == "" {
			continue
		}
		if b, _ := pem.Decode([]byte(v)); b == nil {
			return errInvalid(field, "%s must be PEM encoded (-----BEGIN ...-----)", field)
		}
	}
	if u.DefaultTimeToLiveSeconds < 0 {
		return errInvalid("default_time_to_live_seconds", "default_time_to_live_seconds must be 0 or more")
	}
	if u.MaxQueueBytes < 0 {
		return errInvalid("max_queue_bytes", "max_queue_bytes must be 0 or more")
	}
	return nil
}

// validateProperties checks a twin document: a JSON object whose top-level
// keys do not start with '$', which is reserved.
func validateProperties(field string, doc json.RawMessage) error {
	d := bytes.TrimSpace(doc)
	if len(d) == 0 || d[0] != '{' {
		return errInvalid(field, "%s must be a JSON object", field)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d, &m); err != nil {
		return errInvalid(field, "%s must be a JSON object: %v", field, err)
	}
	for k := range m {
		if strings.HasPrefix(k, "$") {
			return errInvalid(field+"."+k, "property names starting with '$' are reserved")
		}
	}
	return nil
}
