package agent

import (
	"context"
	"fmt"
	"maps"
	"time"

	nettypes "github.com/containers/common/libnetwork/types"
	"github.com/containers/image/v5/manifest"
	"github.com/containers/podman/v4/pkg/bindings/containers"
	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/containers/podman/v4/pkg/specgen"
	spec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgeplane/edgeplane/hub/api"
)

// create pulls the module's image as its pull policy says and creates its
// container, returning the container id.
func (a *Agent) create(ctx context.Context, m api.Module, s Spec, hash string,
	regs []api.Registry,
) (string, error) {
	// Step 1: the image.
	if err := a.pull(ctx, m, regs); err != nil {
		return "", err
	}

	// Step 2: the container.
	g := a.generate(m, s, hash)
	resp, err := containers.CreateWithSpec(ctx, g, nil)
	if err != nil {
		return "", fmt.Errorf("creating container: %w", err)
	}
	return resp.ID, nil
}

// pull fetches the image for a module whose pull policy is on-create, with
// the device's credentials for the image's registry, and checks that the
// image is present for policy never.
func (a *Agent) pull(ctx context.Context, m api.Module, regs []api.Registry) error {
	if m.ImagePullPolicy == api.PullNever {
		ok, err := images.Exists(ctx, m.Image, nil)
		if err != nil {
			return fmt.Errorf("looking up image %q: %w", m.Image, err)
		}
		if !ok {
			return fmt.Errorf("image %q: %w", m.Image, errNoImage)
		}
		return nil
	}

	opts := new(images.PullOptions).WithQuiet(true).WithPolicy("always")
	if r := registryFor(m.Image, regs); r != nil {
		opts = opts.WithUsername(r.Username).WithPassword(r.Password)
	}
	a.log.Info("pulling image", "module", m.Name, "image", m.Image)
	if _, err := images.Pull(ctx, m.Image, opts); err != nil {
		return fmt.Errorf("pulling image %q: %w", m.Image, err)
	}
	return nil
}

// generate turns a module's spec into a Podman container spec.
func (a *Agent) generate(m api.Module, s Spec, hash string) *specgen.SpecGenerator {
	g := specgen.NewSpecGenerator(m.Image, false)
	g.Name = a.ContainerName(m.Name)
	g.Env = s.Env()

	g.Labels = map[string]string{}
	if co := m.CreateOptions; co != nil {
		maps.Copy(g.Labels, co.Labels)
	}
	g.Labels[LabelManaged] = "true"
	g.Labels[LabelModule] = m.Name
	g.Labels[LabelSpecHash] = hash

	// Logs go to the journal, tagged with the module name so that
	// SYSLOG_IDENTIFIER names the module even when the container name
	// carries a prefix.
	g.LogConfiguration = &specgen.LogConfig{
		Driver:  "journald",
		Options: map[string]string{"tag": m.Name},
	}

	for _, mt := range s.Mounts() {
		switch mt.Type {
		case "volume":
			nv := &specgen.NamedVolume{Name: mt.Source, Dest: mt.Target}
			if mt.ReadOnly {
				nv.Options = []string{"ro"}
			}
			g.Volumes = append(g.Volumes, nv)
		default:
			opts := []string{"rbind"}
			if mt.ReadOnly {
				opts = append(opts, "ro")
			}
			g.Mounts = append(g.Mounts, spec.Mount{
				Type: "bind", Source: mt.Source, Destination: mt.Target, Options: opts,
			})
		}
	}

	co := m.CreateOptions
	if co == nil {
		return g
	}
	for _, p := range co.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		g.PortMappings = append(g.PortMappings, nettypes.PortMapping{
			HostIP: p.HostIP, HostPort: uint16(p.HostPort), ContainerPort: uint16(p.ContainerPort),
			Protocol: proto, Range: 1,
		})
	}
	for _, d := range co.Devices {
		// Podman takes devices in the command line's src:dst:perm form.
		dst := d.ContainerPath
		if dst == "" {
			dst = d.HostPath
		}
		path := d.HostPath + ":" + dst
		if d.Permissions != "" {
			path += ":" + d.Permissions
		}
		g.Devices = append(g.Devices, spec.LinuxDevice{Path: path})
	}
	if a.limitsNote == "" && (co.MemoryBytes > 0 || co.CPUs > 0) {
		r := &spec.LinuxResources{}
		if co.MemoryBytes > 0 {
			limit := co.MemoryBytes
			r.Memory = &spec.LinuxMemory{Limit: &limit}
		}
		if co.CPUs > 0 {
			period := uint64(100000)
			quota := int64(co.CPUs * float64(period))
			r.CPU = &spec.LinuxCPU{Period: &period, Quota: &quota}
		}
		g.ResourceLimits = r
	}
	if hc := co.HealthCheck; hc != nil {
		// Interval 0 keeps Podman from creating a systemd timer; the agent
		// runs the checks itself at the module's interval.
		h := &manifest.Schema2HealthConfig{Test: hc.Test, Retries: hc.Retries}
		h.Timeout = parseDuration(hc.Timeout)
		if h.Timeout == 0 {
			h.Timeout = 30 * time.Second // Podman takes 0 literally
		}
		h.StartPeriod = parseDuration(hc.StartPeriod)
		if h.Retries == 0 {
			h.Retries = 3
		}
		g.HealthConfig = h
	}
	return g
}
