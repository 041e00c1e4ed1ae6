// Package store defines the hub's storage interface: devices and, per
// device, modules, routes, module twins, the upstream endpoint, registry
// credentials and the reported state. The hub's HTTP layer validates input
// and talks only to this interface; hub/store/sqlite and hub/store/postgres
// implement it.
//
// The package holds no SQL and no HTTP. Stores return whole objects,
// secrets included: hiding write-only fields from operators is the HTTP
// layer's job, because the device's own desired state needs them.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
)

// ErrNotFound is returned when the object, or the device it belongs to,
// does not exist.
var ErrNotFound = errors.New("not found")

// ErrVersionMismatch is returned when a Precondition does not hold.
var ErrVersionMismatch = errors.New("version mismatch")

// Precondition is an HTTP If-Match header in store terms. The zero value
// means no condition.
type Precondition struct {
	// Set is true when the write is conditional.
	Set bool
	// Any (If-Match: *) requires only that the object exists.
	Any bool
	// Version is the version the stored object must have.
	Version int64
}

// Check reports whether an object that exists (or not) with version v
// satisfies the precondition.
func (p Precondition) Check(exists bool, v int64) bool {
	if !p.Set {
		return true
	}
	if !exists {
		return false
	}
	return p.Any || p.Version == v
}

// DeviceQuery selects a page of devices, in id order.
type DeviceQuery struct {
	// After is the last id of the previous page; "" starts at the beginning.
	After string
	// Limit is the page size; it must be positive.
	Limit int
	// Tags must all be present with equal values.
	Tags map[string]string
	// Status asks for each device's reported state in Device.Status, read
	// in the same pass as the device; Online is left false, as in Status.
	Status bool
}

// Store keeps the hub's state. All methods are safe for concurrent use.
// Writes of objects under a device return ErrNotFound when the device does
// not exist. Put methods return the stored object and whether it was
// created; a Put whose object equals the stored one changes nothing and
// keeps the version. A conditional write whose precondition fails returns
// ErrVersionMismatch and changes nothing.
type Store interface {
	// PutDevice creates or replaces a device's tags, enabled flag and key.
	// An empty Key keeps the stored key or, on create, gets a generated
	// one (32 random bytes, base64).
	PutDevice(ctx context.Context, d api.Device, pre Precondition) (api.Device, bool, error)
	GetDevice(ctx context.Context, id string) (api.Device, error)
	ListDevices(ctx context.Context, q DeviceQuery) ([]api.Device, error)
	// DeleteDevice deletes a device and everything under it.
	DeleteDevice(ctx context.Context, id string, pre Precondition) error

	// PutModule creates or replaces a module; creating a module also
	// creates its empty twin.
	PutModule(ctx context.Context, device string, m api.Module, pre Precondition) (api.Module, bool, error)
	GetModule(ctx context.Context, device, name string) (api.Module, error)
	// ListModules returns the device's modules in name order.
	ListModules(ctx context.Context, device string) ([]api.Module, error)
	// DeleteModule deletes a module and its twin.
	DeleteModule(ctx context.Context, device, name string, pre Precondition) error

	PutRoute(ctx context.Context, device string, r api.Route, pre Precondition) (api.Route, bool, error)
	GetRoute(ctx context.Context, device, name string) (api.Route, error)
	ListRoutes(ctx context.Context, device string) ([]api.Route, error)
	DeleteRoute(ctx context.Context, device, name string, pre Precondition) error

	// PutRegistry creates or replaces registry credentials; an empty
	// Password keeps the stored one.
	PutRegistry(ctx context.Context, device string, r api.Registry, pre Precondition) (api.Registry, bool, error)
	GetRegistry(ctx context.Context, device, name string) (api.Registry, error)
	ListRegistries(ctx context.Context, device string) ([]api.Registry, error)
	DeleteRegistry(ctx context.Context, device, name string, pre Precondition) error

	// PutUpstream sets the upstream endpoint; an empty Password or
	// ClientKey keeps the stored one.
	PutUpstream(ctx context.Context, device string, u api.Upstream, pre Precondition) (api.Upstream, bool, error)
	GetUpstream(ctx context.Context, device string) (api.Upstream, error)
	DeleteUpstream(ctx context.Context, device string, pre Precondition) error

	// GetTwin returns a module's twin; ErrNotFound when the module does
	// not exist.
	GetTwin(ctx context.Context, device, module string) (api.Twin, error)
	// UpdateTwinDesired replaces the desired properties with what update
	// returns for the current ones. The precondition applies to
	// DesiredVersion. An update returning an equal document changes
	// nothing.
	UpdateTwinDesired(ctx context.Context, device, module string, pre Precondition,
		update func(cur json.RawMessage) (json.RawMessage, error)) (api.Twin, error)

	// DesiredState returns the device's whole desired state document.
	DesiredState(ctx context.Context, device string) (api.DesiredState, error)
	// DesiredVersion returns the version of that document, cheaply.
	DesiredVersion(ctx context.Context, device string) (int64, error)
	// ApplyReported merges a device's reported patch. Twin patches of
	// modules that do not exist are ignored.
	ApplyReported(ctx context.Context, device string, p api.ReportedPatch) error
	// Status returns the reported state; Online is left false, since
	// only the caller knows the clock.
	Status(ctx context.Context, device string) (api.DeviceStatus, error)
	// Touch records that the device called the hub at t.
	Touch(ctx context.Context, device string, t time.Time) error

	// Watch registers fn to be called with a device id after each
	// committed change to that device's desired state, including changes
	// made through other hub replicas sharing the database. Calls may be
	// duplicated or, after a lost connection, be made with id "" meaning
	// "any device may have changed". fn must not block.
	Watch(fn func(device string))
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store; it does not wait for Watch callbacks.
	Close() error
}
