// Package extension defines how gateway components other than the container
// reconciler—the local message bus, the router, twins—plug into edgeplaned.
//
// edgeplaned owns the desired-state loop and the containers. For each
// desired state it accepts it calls, in order: Validate on every extension
// (any error rejects the state as a whole and nothing changes), Apply on
// every extension, then reconciles containers, asking each extension for the
// Wiring of every module container it creates. Run is started once, before
// the first Apply, and lives until edgeplaned stops.
//
// The package holds the interface only and imports nothing heavy, so that
// extensions do not depend on the Podman bindings.
package extension

import (
	"context"

	"github.com/edgeplane/edgeplane/hub/api"
)

// Extension is a gateway component that follows the device's desired state.
type Extension interface {
	// Name is a short lowercase name for logs and status ("bus").
	Name() string

	// Run starts the extension and blocks until ctx is cancelled or the
	// extension fails. Reporter sends patches to the hub; it queues them
	// while the hub is unreachable.
	Run(ctx context.Context, r Reporter) error

	// Validate checks ds without changing anything. An error rejects the
	// whole desired state; its text is reported to the hub.
	Validate(ds *api.DesiredState) error

	// Apply makes the extension follow ds. It is called only after every
	// extension validated ds, and before containers are reconciled.
	Apply(ctx context.Context, ds *api.DesiredState) error

	// Wiring returns what module's container needs from this extension.
	// It is part of the container's specification: a change of Wiring
	// recreates the container, so it must be stable for a given module.
	Wiring(module string) (Wiring, error)

	// Healthy returns nil while the extension works; edgeplaned gates its
	// systemd watchdog pings on it.
	Healthy() error
}

// Wiring is what an extension adds to a module's container.
type Wiring struct {
	// Env is added to the container's environment.
	Env map[string]string
	// Mounts are bind mounts added to the container.
	Mounts []api.Mount
}

// Reporter sends reported state to the hub.
type Reporter interface {
	// Report queues patch for the hub and returns without waiting for it
	// to be delivered. Patches are delivered in order.
	Report(patch api.ReportedPatch)
}
