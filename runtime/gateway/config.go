package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/edgeplane/edgeplane/hub/api"
)

// DefaultConfigPath is where provisioning writes the configuration.
const DefaultConfigPath = "/etc/edgeplane/edgeplaned.yaml"

// Config is edgeplaned's configuration file. docs/gateway.md documents
// every key; keep the two in step.
type Config struct {
	// HubURL is the hub's base URL ("https://hub.example.com").
	HubURL string `yaml:"hub_url"`
	// DeviceID is this gateway's device name at the hub.
	DeviceID string `yaml:"device_id"`
	// DeviceKey is the device key, base64; or DeviceKeyFile names a file
	// holding it. Exactly one is set.
	DeviceKey     string `yaml:"device_key"`
	DeviceKeyFile string `yaml:"device_key_file"`
	// HubCAFile is an optional PEM bundle to verify the hub with.
	HubCAFile string `yaml:"hub_ca_file"`
	// DataDir holds the stored desired state; default /var/lib/edgeplane.
	DataDir string `yaml:"data_dir"`
	// PodmanSocket is the Podman API URI (unix:// or tcp://; a bare
	// absolute path means unix://); default
	// unix://$XDG_RUNTIME_DIR/podman/podman.sock.
	PodmanSocket string `yaml:"podman_socket"`
	// ContainerPrefix is put before module names to name containers;
	// default none.
	ContainerPrefix string `yaml:"container_prefix"`
	// LogLevel is debug, info (default), warn or error.
	LogLevel string `yaml:"log_level"`

	// Bus settings (docs/gateway.md, "Bus"). BusDir holds the local
	// broker's configuration, credentials, persistence, socket and the
	// $upstream queue; default <data_dir>/bus.
	BusDir string `yaml:"bus_dir"`
	// MosquittoPath is the broker binary; default /usr/sbin/mosquitto.
	MosquittoPath string `yaml:"mosquitto_path"`
	// FastRoutePlugin is the broker plugin that routes unconditional
	// module-to-module routes inside the broker; default
	// DefaultFastRoutePlugin when that file exists, "none" to route every
	// message through the router.
	FastRoutePlugin string `yaml:"fast_route_plugin"`
	// BusMaxQueuedMessages and BusMaxQueuedBytes bound what the broker
	// holds for one client; 0 takes the defaults (100000, 256 MiB).
	BusMaxQueuedMessages int   `yaml:"bus_max_queued_messages"`
	BusMaxQueuedBytes    int64 `yaml:"bus_max_queued_bytes"`

	// key is the decoded device key, filled by LoadConfig. It is never
	// logged.
	key []byte
}

// DefaultFastRoutePlugin is where packages and the appliance image install
// the fast-route plugin (runtime/bus/fastroute).
const DefaultFastRoutePlugin = "/usr/lib/edgeplane/edgeplane-fastroute.so"

// Key returns the decoded device key.
func (c *Config) Key() []byte { return c.key }

// Level returns the slog level of LogLevel.
func (c *Config) Level() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}

// LoadConfig reads, checks and completes the configuration in path. Unknown
// keys are errors that name the key and its line.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes and checks a configuration document; relative file
// names in it are taken as they are.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if err := c.complete(); err != nil {
		return nil, err
	}
	return &c, nil
}

// complete fills defaults and checks every key, naming the key at fault.
func (c *Config) complete() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.HubURL == "" {
		bad("hub_url is required")
	} else if !strings.HasPrefix(c.HubURL, "http://") && !strings.HasPrefix(c.HubURL, "https://") {
		bad("hub_url %q must start with https:// or http://", c.HubURL)
	}
	if c.DeviceID == "" {
		bad("device_id is required")
	} else if !api.IDPattern.MatchString(c.DeviceID) {
		bad("device_id %q is not a valid device name", c.DeviceID)
	}

	switch {
	case c.DeviceKey != "" && c.DeviceKeyFile != "":
		bad("device_key and device_key_file are both set; set one")
	case c.DeviceKey == "" && c.DeviceKeyFile == "":
		bad("device_key or device_key_file is required")
	default:
		key := c.DeviceKey
		name := "device_key"
		if c.DeviceKeyFile != "" {
			name = "device_key_file"
			kb, err := os.ReadFile(c.DeviceKeyFile)
			if err != nil {
				bad("device_key_file: %v", err)
				break
			}
			key = strings.TrimSpace(string(kb))
		}
		k, err := api.DecodeKey(key)
		if err != nil {
			bad("%s: %v", name, err) // the error never contains the key
		}
		c.key = k
	}

	if c.DataDir == "" {
		c.DataDir = "/var/lib/edgeplane"
	}
	if !filepath.IsAbs(c.DataDir) {
		bad("data_dir %q must be an absolute path", c.DataDir)
	}
	if c.BusDir == "" {
		c.BusDir = filepath.Join(c.DataDir, "bus")
	}
	if !filepath.IsAbs(c.BusDir) {
		bad("bus_dir %q must be an absolute path", c.BusDir)
	} else if l := len(filepath.Join(c.BusDir, "sock", "broker.sock")); l > 107 {
		// A Unix socket path is at most 107 bytes on Linux.
		bad("bus_dir %q is too long for the broker's socket (%d bytes with sock/broker.sock, 107 at most)", c.BusDir, l)
	}
	if c.MosquittoPath == "" {
		c.MosquittoPath = "/usr/sbin/mosquitto"
	}
	switch c.FastRoutePlugin {
	case "":
		if _, err := os.Stat(DefaultFastRoutePlugin); err == nil {
			c.FastRoutePlugin = DefaultFastRoutePlugin
		}
	case "none":
		c.FastRoutePlugin = ""
	default:
		if !filepath.IsAbs(c.FastRoutePlugin) {
			bad("fast_route_plugin %q must be an absolute path or none", c.FastRoutePlugin)
		}
	}
	if c.BusMaxQueuedMessages < 0 || c.BusMaxQueuedBytes < 0 {
		bad("bus_max_queued_messages and bus_max_queued_bytes must not be negative")
	}
	if c.PodmanSocket == "" {
		c.PodmanSocket = DefaultPodmanSocket()
	}
	if filepath.IsAbs(c.PodmanSocket) {
		c.PodmanSocket = "unix://" + c.PodmanSocket // a bare path is a Unix socket
	}
	if !strings.HasPrefix(c.PodmanSocket, "unix://") && !strings.HasPrefix(c.PodmanSocket, "tcp://") {
		bad("podman_socket %q must start with unix:// or tcp://", c.PodmanSocket)
	}
	if c.ContainerPrefix != "" && !api.IDPattern.MatchString(c.ContainerPrefix+"x") {
		bad("container_prefix %q may hold only letters, digits, '.', '_' and '-'", c.ContainerPrefix)
	}
	switch strings.ToLower(c.LogLevel) {
	case "":
		c.LogLevel = "info"
	case "debug", "info", "warn", "error":
	default:
		bad("log_level %q is not debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// DefaultPodmanSocket is the rootless Podman API socket of the current
// user: unix://$XDG_RUNTIME_DIR/podman/podman.sock.
func DefaultPodmanSocket() string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = fmt.Sprintf("/run/user/%d", os.Getuid())
	}
	return "unix://" + filepath.Join(dir, "podman", "podman.sock")
}
