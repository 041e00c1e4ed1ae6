package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/extension"
)

// Labels that mark a container as Edgeplane's.
const (
	LabelManaged  = "edgeplane.managed"
	LabelModule   = "edgeplane.module"
	LabelSpecHash = "edgeplane.spec-hash"
)

// Spec is everything that decides what a module's container looks like.
// Two equal Specs give the same container; any difference recreates it.
type Spec struct {
	Module api.Module `json:"module"`
	// Wiring holds what each extension adds, in extension order.
	Wiring []extension.Wiring `json:"wiring,omitempty"`
}

// normalise returns m with defaults filled in and the fields that do not
// shape the container cleared: the restart policy, the startup order and
// the desired status are the agent's business (a module switched between
// running and stopped keeps its container, and with it its writable
// layer), the version and pull policy change nothing inside. The desired
// status stays in the hash as "running", its value for every container
// created before it left the hash, so that those keep their hash.
func normalise(m api.Module) api.Module {
	m.Version = 0
	m.StartupOrder = 0
	m.RestartPolicy = ""
	m.ImagePullPolicy = ""
	m.DesiredStatus = api.StatusRunning
	if len(m.Env) == 0 {
		m.Env = nil
	}
	if co := m.CreateOptions; co != nil {
		c := *co
		if len(c.Labels) == 0 {
			c.Labels = nil
		}
		for i := range c.Ports {
			if c.Ports[i].Protocol == "" {
				c.Ports = slices.Clone(c.Ports)
				c.Ports[i].Protocol = "tcp"
			}
		}
		if len(c.Mounts) == 0 && len(c.Ports) == 0 && len(c.Devices) == 0 && c.Labels == nil &&
			c.MemoryBytes == 0 && c.CPUs == 0 && c.HealthCheck == nil {
			m.CreateOptions = nil
		} else {
			m.CreateOptions = &c
		}
	}
	return m
}

// NewSpec returns the normalised specification of m with the extensions'
// wiring.
func NewSpec(m api.Module, wiring []extension.Wiring) Spec {
	s := Spec{Module: normalise(m)}
	for _, w := range wiring {
		if len(w.Env) == 0 {
			w.Env = nil
		}
		if len(w.Mounts) == 0 {
			w.Mounts = nil
		}
		s.Wiring = append(s.Wiring, w)
	}
	return s
}

// Hash returns the hex SHA-256 of the spec's JSON form. encoding/json sorts
// map keys, so the form is canonical.
func (s Spec) Hash() string {
	b, err := json.Marshal(s)
	if err != nil {
		// Only unsupported types fail to encode, and Spec has none.
		panic("agent: encoding spec: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Env returns the container's environment: the module's, then each
// extension's, later ones winning.
func (s Spec) Env() map[string]string {
	env := maps.Clone(s.Module.Env)
	if env == nil {
		env = map[string]string{}
	}
	for _, w := range s.Wiring {
		maps.Copy(env, w.Env)
	}
	return env
}

// Mounts returns the module's mounts followed by the extensions' mounts.
func (s Spec) Mounts() []api.Mount {
	var ms []api.Mount
	if s.Module.CreateOptions != nil {
		ms = append(ms, s.Module.CreateOptions.Mounts...)
	}
	for _, w := range s.Wiring {
		ms = append(ms, w.Mounts...)
	}
	return ms
}

// imageServer returns the registry host of an image reference, following
// the Docker convention: the first path element is a host when it holds a
// dot or a colon or is "localhost". It returns "" for short names.
func imageServer(image string) string {
	first, rest, ok := strings.Cut(image, "/")
	if !ok || rest == "" {
		return ""
	}
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return first
	}
	return ""
}

// registryFor returns the credentials whose server matches image's
// registry, or nil.
func registryFor(image string, regs []api.Registry) *api.Registry {
	server := imageServer(image)
	if server == "" {
		server = "docker.io"
	}
	for i := range regs {
		s := strings.TrimPrefix(strings.TrimPrefix(regs[i].Server, "https://"), "http://")
		s = strings.TrimRight(s, "/")
		if strings.EqualFold(s, server) ||
			(server == "docker.io" && (s == "index.docker.io" || s == "registry-1.docker.io")) {
			return &regs[i]
		}
	}
	return nil
}
