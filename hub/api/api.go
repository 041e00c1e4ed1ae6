// Package api defines the wire types of the hub's HTTP API: the operator API
// under /v1 that Terraform and the CLI use, and the device API under
// /v1/device that a gateway uses. The hub, the provider, the gateway runtime
// and the CLI all encode and decode these types, so a change here is a change
// of the public contract: keep it backwards compatible and keep
// docs/openapi.yaml in step.
//
// The package holds types and the device token scheme only; it does not talk
// HTTP. Clients live in hub/client (operator side) and in the runtime (device
// side).
//
// # Paths
//
// Operator API (Authorization: Bearer <operator token>):
//
//	GET    /v1/devices?tag=k=v&limit=N&page_token=T   list (no secrets)
//	       &include=status                            ... each with its status
//	PUT    /v1/devices/{device}                       create or replace
//	GET    /v1/devices/{device}                       read (includes the key)
//	DELETE /v1/devices/{device}
//	GET    /v1/devices/{device}/status                reported runtime state
//	GET    /v1/devices/{device}/modules               list
//	PUT    /v1/devices/{device}/modules/{module}      create or replace
//	GET    /v1/devices/{device}/modules/{module}
//	DELETE /v1/devices/{device}/modules/{module}
//	GET    /v1/devices/{device}/modules/{module}/twin
//	PUT    /v1/devices/{device}/modules/{module}/twin replace desired properties
//	PATCH  /v1/devices/{device}/modules/{module}/twin merge patch; null deletes
//	GET    /v1/devices/{device}/routes                list
//	PUT    /v1/devices/{device}/routes/{route}        create or replace
//	GET    /v1/devices/{device}/routes/{route}
//	DELETE /v1/devices/{device}/routes/{route}
//	GET    /v1/devices/{device}/upstream
//	PUT    /v1/devices/{device}/upstream
//	DELETE /v1/devices/{device}/upstream
//	GET    /v1/devices/{device}/registries            list (no secrets)
//	PUT    /v1/devices/{device}/registries/{name}
//	GET    /v1/devices/{device}/registries/{name}
//	DELETE /v1/devices/{device}/registries/{name}
//
// Device API (Authorization: Device <token>, see SignDeviceToken):
//
//	GET    /v1/device/desired?after=V&wait=30s   long-poll the DesiredState
//	PATCH  /v1/device/reported                   send a ReportedPatch
//
// # Versions
//
// Every stored object carries a Version that grows by at least one on each
// change. Responses carry it in the body and in an ETag header ("\"7\"").
// A write with If-Match: "7" fails with 412 and code "version_mismatch" when
// the stored version differs. A PUT whose body equals the stored object
// changes nothing and keeps the version (PUT is idempotent).
//
// A device's DesiredState has its own version, which grows whenever any of
// the device's modules, routes, twins' desired properties, upstream or
// registries change.
//
// # Identifiers
//
// Device, module, route and registry names match IDPattern: 1 to 128
// characters of ASCII letters, digits, '-', '_' and '.', starting with a
// letter or digit. Module names are also used in MQTT topics and container
// names, which is why the set is this small.
package api

import (
	"encoding/json"
	"regexp"
	"time"
)

// IDPattern is the syntax of device, module, route and registry names.
var IDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// MaxBodyBytes is the largest request body the hub accepts.
const MaxBodyBytes = 1 << 20

// Device is a gateway known to the hub.
type Device struct {
	ID      string            `json:"id"`
	Tags    map[string]string `json:"tags,omitempty"`
	Enabled bool              `json:"enabled"`
	// Key is the device's shared secret, base64 encoded, at least 32 bytes
	// decoded. On PUT it may be given; when absent on create the hub
	// generates one, and when absent on update the stored key is kept. GET
	// of one device returns it; list calls never do.
	Key       string    `json:"key,omitempty"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// LastSeen is when the device last called the device API, zero if never.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Status is the device's reported state, as GET .../status answers
	// it. Only a list asked for it (include=status) carries it; it is
	// read-only and a PUT ignores it.
	Status *DeviceStatus `json:"status,omitempty"`
}

// DeviceList is one page of devices. NextPageToken is empty on the last page.
type DeviceList struct {
	Devices       []Device `json:"devices"`
	NextPageToken string   `json:"next_page_token,omitempty"`
}

// Restart policies, as IoT Edge defines them.
const (
	RestartNever       = "never"
	RestartOnFailure   = "on-failure"
	RestartOnUnhealthy = "on-unhealthy"
	RestartAlways      = "always"
)

// Desired statuses of a module.
const (
	StatusRunning = "running"
	StatusStopped = "stopped"
)

// Image pull policies.
const (
	PullOnCreate = "on-create"
	PullNever    = "never"
)

// Module is one containerised module of a device.
type Module struct {
	Name  string            `json:"name"`
	Image string            `json:"image"`
	Env   map[string]string `json:"env,omitempty"`
	// CreateOptions is the documented subset of container options.
	CreateOptions *CreateOptions `json:"create_options,omitempty"`
	// RestartPolicy is one of the Restart* constants; default "always".
	RestartPolicy string `json:"restart_policy,omitempty"`
	// DesiredStatus is StatusRunning (default) or StatusStopped.
	DesiredStatus string `json:"desired_status,omitempty"`
	// StartupOrder: lower starts first; equal orders start in name order.
	StartupOrder int `json:"startup_order"`
	// ImagePullPolicy is PullOnCreate (default) or PullNever.
	ImagePullPolicy string `json:"image_pull_policy,omitempty"`
	Version         int64  `json:"version"`
}

// ModuleList is every module of a device, in name order.
type ModuleList struct {
	Modules []Module `json:"modules"`
}

// CreateOptions is the subset of container options a module may set. Unknown
// fields are rejected rather than ignored so that a typo is never silently
// dropped.
type CreateOptions struct {
	Mounts  []Mount           `json:"mounts,omitempty"`
	Ports   []Port            `json:"ports,omitempty"`
	Devices []DeviceMapping   `json:"devices,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// MemoryBytes is a hard memory limit; 0 means none.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// CPUs is a CPU quota in cores (0.5 = half a core); 0 means none.
	CPUs        float64      `json:"cpus,omitempty"`
	HealthCheck *HealthCheck `json:"health_check,omitempty"`
}

// Mount is a bind mount or named volume. Type is "bind" or "volume".
type Mount struct {
	Type     string `json:"type"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Port publishes a container port on the host. Protocol is "tcp" or "udp".
type Port struct {
	HostPort      int    `json:"host_port"`
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol,omitempty"`
	HostIP        string `json:"host_ip,omitempty"`
}

// DeviceMapping passes a host device node into the container.
type DeviceMapping struct {
	HostPath      string `json:"host_path"`
	ContainerPath string `json:"container_path,omitempty"`
	Permissions   string `json:"permissions,omitempty"` // e.g. "rw", "rwm"
}

// HealthCheck runs Test inside the container. Test is an exec form command
// (["CMD", "/healthcheck"]). Durations are Go duration strings ("30s").
type HealthCheck struct {
	Test        []string `json:"test"`
	Interval    string   `json:"interval,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
	Retries     int      `json:"retries,omitempty"`
	StartPeriod string   `json:"start_period,omitempty"`
}

// Route sends messages between modules or to $upstream. Text is in the IoT
// Edge route language (runtime/route).
type Route struct {
	Name string `json:"name"`
	Text string `json:"route"`
	// Priority 0 (highest) to 9 (lowest); default 0.
	Priority int `json:"priority"`
	// TimeToLiveSeconds bounds how long a message waits for $upstream;
	// 0 means the device-wide default.
	TimeToLiveSeconds int   `json:"time_to_live_seconds"`
	Version           int64 `json:"version"`
}

// RouteList is every route of a device, in name order.
type RouteList struct {
	Routes []Route `json:"routes"`
}

// Twin is a module twin as the operator sees it. Desired and reported
// properties are JSON objects. Keys starting with '$' are reserved.
type Twin struct {
	Desired         json.RawMessage `json:"desired"`
	DesiredVersion  int64           `json:"desired_version"`
	Reported        json.RawMessage `json:"reported"`
	ReportedVersion int64           `json:"reported_version"`
}

// TwinDesiredUpdate is the body of PUT (replace) and PATCH (JSON merge patch,
// RFC 7396: null deletes a key) on a twin.
type TwinDesiredUpdate struct {
	Desired json.RawMessage `json:"desired"`
}

// Upstream is where a device sends $upstream messages: an MQTT broker.
type Upstream struct {
	// URL is mqtt://, mqtts://, tcp://, ssl:// or tls:// host:port.
	URL      string `json:"url"`
	ClientID string `json:"client_id,omitempty"`
	Username string `json:"username,omitempty"`
	// Password is write-only for the operator API: GET returns it empty and
	// sets PasswordSet.
	Password    string `json:"password,omitempty"`
	PasswordSet bool   `json:"password_set,omitempty"`
	// CACertificate is a PEM bundle to verify the broker with.
	CACertificate string `json:"ca_certificate,omitempty"`
	// ClientCertificate and ClientKey are PEM; the key is write-only like
	// Password.
	ClientCertificate string `json:"client_certificate,omitempty"`
	ClientKey         string `json:"client_key,omitempty"`
	ClientKeySet      bool   `json:"client_key_set,omitempty"`
	// TopicPrefix is prepended to upstream topics; default "edgeplane".
	TopicPrefix string `json:"topic_prefix,omitempty"`
	// DefaultTimeToLiveSeconds applies to routes that set none; default 7200.
	DefaultTimeToLiveSeconds int `json:"default_time_to_live_seconds,omitempty"`
	// MaxQueueBytes bounds the on-disk store-and-forward queue; default 1 GiB.
	MaxQueueBytes int64 `json:"max_queue_bytes,omitempty"`
	Version       int64 `json:"version"`
}

// Registry holds credentials for one container registry. Password is
// write-only for the operator API, as in Upstream.
type Registry struct {
	Name        string `json:"name"`
	Server      string `json:"server"` // host[:port]
	Username    string `json:"username"`
	Password    string `json:"password,omitempty"`
	PasswordSet bool   `json:"password_set,omitempty"`
	Version     int64  `json:"version"`
}

// RegistryList is every registry of a device, in name order, without secrets.
type RegistryList struct {
	Registries []Registry `json:"registries"`
}

// DesiredState is the whole document a device long-polls: everything it
// should run. Secrets are included in plain text because the device needs
// them; only the device itself can read its document.
type DesiredState struct {
	DeviceID   string                 `json:"device_id"`
	Version    int64                  `json:"version"`
	Modules    []Module               `json:"modules"`
	Routes     []Route                `json:"routes"`
	Twins      map[string]DesiredTwin `json:"twins"` // by module name
	Upstream   *Upstream              `json:"upstream,omitempty"`
	Registries []Registry             `json:"registries"`
}

// DesiredTwin is a module twin's desired properties as the device sees them.
type DesiredTwin struct {
	Properties json.RawMessage `json:"properties"`
	Version    int64           `json:"version"`
}

// Module runtime statuses a device reports.
const (
	RuntimeRunning   = "running"
	RuntimeStopped   = "stopped"
	RuntimeBackoff   = "backoff"
	RuntimeUnhealthy = "unhealthy"
	RuntimeFailed    = "failed"
)

// ModuleStatus is a module's runtime state as the device reports it.
type ModuleStatus struct {
	Status       string    `json:"status"`
	ExitCode     int       `json:"exit_code"`
	Description  string    `json:"description,omitempty"`
	LastStart    time.Time `json:"last_start,omitzero"`
	LastExit     time.Time `json:"last_exit,omitzero"`
	RestartCount int       `json:"restart_count"`
	Image        string    `json:"image,omitempty"`
}

// AgentInfo describes the gateway daemon.
type AgentInfo struct {
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	Hostname  string    `json:"hostname,omitempty"`
}

// ReportedPatch is what a device sends; absent fields leave the stored
// value alone.
type ReportedPatch struct {
	Agent *AgentInfo `json:"agent,omitempty"`
	// AppliedVersion is the DesiredState version now running.
	AppliedVersion *int64 `json:"applied_version,omitempty"`
	// LastError is the reason the newest desired state was rejected, or ""
	// to clear it.
	LastError *string `json:"last_error,omitempty"`
	// Modules replaces the status of each named module; a null value
	// removes the module from the report.
	Modules map[string]*ModuleStatus `json:"modules,omitempty"`
	// Twins holds a JSON merge patch of each named module's reported
	// properties.
	Twins map[string]json.RawMessage `json:"twins,omitempty"`
}

// DeviceStatus is a device's reported state as the operator sees it.
type DeviceStatus struct {
	DeviceID       string                  `json:"device_id"`
	Online         bool                    `json:"online"`
	LastSeen       time.Time               `json:"last_seen,omitzero"`
	Agent          *AgentInfo              `json:"agent,omitempty"`
	DesiredVersion int64                   `json:"desired_version"`
	AppliedVersion int64                   `json:"applied_version"`
	LastError      string                  `json:"last_error,omitempty"`
	Modules        map[string]ModuleStatus `json:"modules"`
}

// OnlineWindow is how recently a device must have called the hub to count
// as online. Gateways send a heartbeat well inside it.
const OnlineWindow = 90 * time.Second

// Error is the body of every non-2xx response.
type Error struct {
	// Code is stable and machine readable: see the Code* constants.
	Code string `json:"code"`
	// Message says what was wrong and what to do, in a sentence.
	Message string `json:"message"`
	// Field names the offending field in the request, when there is one,
	// as a JSON path ("create_options.ports[0].host_port").
	Field string `json:"field,omitempty"`
}

// Error codes.
const (
	CodeBadRequest      = "bad_request"      // malformed JSON, unknown field
	CodeInvalid         = "invalid"          // a field's value is not allowed
	CodeUnauthorized    = "unauthorized"     // missing or wrong credentials
	CodeForbidden       = "forbidden"        // credentials of the wrong kind
	CodeNotFound        = "not_found"        // no such object
	CodeVersionMismatch = "version_mismatch" // If-Match did not match (412)
	CodeTooLarge        = "too_large"        // body over MaxBodyBytes (413)
	CodeUnavailable     = "unavailable"      // shutting down, store down (503)
	CodeInternal        = "internal"         // a bug; see the hub's log
)
