package migrate

import (
	"strings"
)

// Role is what becomes of a V1 module in Edgeplane.
type Role int

const (
	// RoleModule: the module becomes an edgeplane_module (a container).
	RoleModule Role = iota
	// RoleUpstream: the V1 IoT Hub module; it becomes $upstream and the
	// device's upstream endpoint.
	RoleUpstream
	// RoleLeftOut: no Edgeplane equivalent; reported, not generated.
	RoleLeftOut
)

// builtin describes a module that shipped with V1, recognised by the file
// name of its native library.
type builtin struct {
	role Role
	// what the module did in V1, and, for left-out modules, what to do
	// instead; for migrated ones, what to check.
	what, advice string
}

// builtins is keyed by the library's stem: the file name without directory,
// "lib" prefix and extension (libidentity_map.so → identity_map).
var builtins = map[string]builtin{
	"iothub": {
		role: RoleUpstream,
		what: "the IoT Hub module sent messages to Azure IoT Hub",
	},
	"identity_map": {
		role: RoleLeftOut,
		what: "the identity map gave each leaf device (by MAC address) its own IoT Hub identity",
		advice: "Edgeplane sends all of a gateway's messages upstream under the gateway's own " +
			"connection; there are no per-leaf identities. Have the module that reads the device " +
			"add its identity as an application property (for example deviceId) and, if needed, " +
			"filter with a route condition such as WHERE deviceId = 'x'",
	},
	"ble": {
		role: RoleLeftOut,
		what: "the BLE module read and wrote Bluetooth LE GATT characteristics through BlueZ",
		advice: "Edgeplane ships no Bluetooth module. Build a container module that talks to " +
			"BlueZ over the system D-Bus (bind-mount /run/dbus/system_bus_socket with " +
			"create_options) and publishes readings to an output; carry the V1 args over as its " +
			"twin. Then name its image in the image map: a left-out module that the image map " +
			"names by module name is migrated",
	},
	"ble_c2d": {
		role: RoleLeftOut,
		what: "the BLE cloud-to-device module turned IoT Hub commands into BLE writes",
		advice: "Edgeplane's $upstream only sends. Give your Bluetooth module the commands as " +
			"twin desired properties (set from Terraform) or an input that another module feeds",
	},
	"ble_printer": {
		role: RoleLeftOut,
		what: "the BLE printer printed BLE messages to the console for debugging",
		advice: "read the systemd journal, where every module's output goes: " +
			"journalctl CONTAINER_NAME=<module>",
	},
	"logger": {
		role: RoleModule,
		what: "the logger appended every message it received to a JSON file",
		advice: "a container writes its files inside the container: mount a volume with " +
			"create_options to keep the file, or log to stdout and read the journal",
	},
	"simulated_device": {
		role: RoleModule,
		what: "the simulated device published fake readings for one MAC address",
	},
	"hello_world": {
		role: RoleModule,
		what: "the hello world module published a message every few seconds",
	},
}

// classify finds out what m becomes: the IoT Hub module (by library or by
// its IoTHubName/IoTHubSuffix args), another known V1 module, or a module of
// the user's own.
func classify(m *Module) (builtin, bool) {
	if m.LoaderType == LoaderNative {
		if b, ok := builtins[stem(m.Entrypoint)]; ok {
			return b, true
		}
	}
	if m.Args.Str("IoTHubName") != "" && m.Args.Str("IoTHubSuffix") != "" {
		return builtins["iothub"], true
	}
	return builtin{role: RoleModule}, false
}

// baseName is the last element of a path written for Linux or Windows.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// stem is a library's name without directory, "lib" prefix and extension:
// ./modules/identitymap/libidentity_map.so and ..\Debug\identity_map.dll both
// give identity_map.
func stem(p string) string {
	s := baseName(p)
	for _, ext := range []string{".so", ".dll", ".dylib"} {
		if i := strings.Index(s, ext); i > 0 {
			s = s[:i]
			break
		}
	}
	return strings.TrimPrefix(s, "lib")
}

// placeholder reports whether s is a V1 sample placeholder such as
// "<<insert here IoTHubName>>" or "<IoT Hub device connection string>".
func placeholder(s string) bool {
	s = strings.TrimSpace(s)
	return strings.Contains(s, "<<") || (strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">"))
}

// secretWords mark args keys whose values are likely credentials.
var secretWords = []string{"key", "password", "passwd", "secret", "token", "connectionstring", "sas"}

func secretKey(k string) bool {
	k = strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(k))
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}
