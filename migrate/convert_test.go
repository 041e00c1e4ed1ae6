package migrate

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// plan parses and converts a V1 file given as JSON.
func plan(t *testing.T, input string, opts Options) *Plan {
	t.Helper()
	gw, err := ParseV1("gw.json", []byte(input))
	if err != nil {
		t.Fatalf("ParseV1: %v", err)
	}
	p, err := Convert(gw, opts)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return p
}

func routeTexts(p *Plan) []string {
	var out []string
	for _, r := range p.Routes {
		out = append(out, r.Text)
	}
	return out
}

func item(t *testing.T, p *Plan, subject string) *Item {
	t.Helper()
	for _, it := range p.Items {
		if it.Subject == subject {
			return it
		}
	}
	t.Fatalf("no summary item %q", subject)
	return nil
}

func iothub(name, hub, suffix string) string {
	return `{"name": "` + name + `", "loader": {"name": "native", "entrypoint": {"module.path": "./libiothub.so"}},
	 "args": {"IoTHubName": "` + hub + `", "IoTHubSuffix": "` + suffix + `", "Transport": "MQTT"}}`
}

const identityMap = `{"name": "mapping", "loader": {"name": "native", "entrypoint": {"module.path": "./libidentity_map.so"}},
	 "args": [{"macAddress": "01:02:03:04:05:06", "deviceId": "d1", "deviceKey": "k"}]}`

func to(sink string) string {
	return `BrokeredEndpoint("/modules/` + sink + `/inputs/input1")`
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name    string
		modules []string
		links   []string
		want    []string
	}{
		{
			name:    "one link",
			modules: []string{native("a"), native("b")},
			links:   []string{`{"source": "a", "sink": "b"}`},
			want:    []string{"FROM /messages/modules/a/* INTO " + to("b")},
		},
		{
			name:    "star is every other module, never the sink itself",
			modules: []string{native("a"), native("b"), native("log")},
			links:   []string{`{"source": "*", "sink": "log"}`},
			want: []string{
				"FROM /messages/modules/a/* INTO " + to("log"),
				"FROM /messages/modules/b/* INTO " + to("log"),
			},
		},
		{
			name:    "star skips left-out modules and the IoT Hub",
			modules: []string{native("a"), identityMap, iothub("hub", "h", "s"), native("log")},
			links:   []string{`{"source": "*", "sink": "log"}`},
			want:    []string{"FROM /messages/modules/a/* INTO " + to("log")},
		},
		{
			name:    "into the IoT Hub is $upstream",
			modules: []string{native("a"), iothub("IoTHub", "h", "s")},
			links:   []string{`{"source": "a", "sink": "IoTHub"}`},
			want:    []string{"FROM /messages/modules/a/* INTO $upstream"},
		},
		{
			name:    "star into the IoT Hub",
			modules: []string{native("a"), native("b"), iothub("IoTHub", "h", "s")},
			links:   []string{`{"source": "*", "sink": "IoTHub"}`},
			want: []string{
				"FROM /messages/modules/a/* INTO $upstream",
				"FROM /messages/modules/b/* INTO $upstream",
			},
		},
		{
			name:    "duplicates and star overlap give one route",
			modules: []string{native("a"), native("log")},
			links: []string{`{"source": "a", "sink": "log"}`, `{"source": "*", "sink": "log"}`,
				`{"source": "a", "sink": "log"}`},
			want: []string{"FROM /messages/modules/a/* INTO " + to("log")},
		},
		{
			name:    "links touching left-out modules are not guessed",
			modules: []string{native("a"), identityMap, iothub("IoTHub", "h", "s")},
			links: []string{`{"source": "a", "sink": "mapping"}`, `{"source": "mapping", "sink": "IoTHub"}`,
				`{"source": "IoTHub", "sink": "mapping"}`, `{"source": "mapping", "sink": "a"}`},
			want: nil,
		},
		{
			name:    "cloud-to-device link is not a route",
			modules: []string{native("a"), iothub("IoTHub", "h", "s")},
			links:   []string{`{"source": "IoTHub", "sink": "a"}`},
			want:    nil,
		},
		{
			name:    "a module linked to itself",
			modules: []string{native("a")},
			links:   []string{`{"source": "a", "sink": "a"}`},
			want:    nil,
		},
		{
			name:    "spaces in names",
			modules: []string{native("out of process"), native("log")},
			links:   []string{`{"source": "out of process", "sink": "log"}`},
			want:    []string{"FROM /messages/modules/out-of-process/* INTO " + to("log")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, gateway(tt.modules, tt.links...), Options{DeviceID: "gw"})
			if got := routeTexts(p); !slices.Equal(got, tt.want) {
				t.Errorf("got routes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			names := map[string]bool{}
			for _, r := range p.Routes {
				if names[r.Name] {
					t.Errorf("route name %q used twice", r.Name)
				}
				names[r.Name] = true
			}
		})
	}
}

// TestLinkStatus checks what the summary says about each kind of link.
func TestLinkStatus(t *testing.T) {
	p := plan(t, gateway([]string{native("a"), identityMap, iothub("IoTHub", "h", "s"), native("log")},
		`{"source": "a", "sink": "mapping"}`,
		`{"source": "mapping", "sink": "IoTHub"}`,
		`{"source": "IoTHub", "sink": "a"}`,
		`{"source": "*", "sink": "log"}`,
		`{"source": "a", "sink": "a"}`,
		`{"source": "a", "sink": "log"}`,
	), Options{DeviceID: "gw"})

	tests := []struct {
		subject string
		want    Status
		result  string
	}{
		{"links[0] a -> mapping", LeftOut, `sink "mapping" is left out`},
		{"links[1] mapping -> IoTHub", LeftOut, `source "mapping" is left out`},
		{"links[2] IoTHub -> a", LeftOut, "cloud-to-device"},
		{"links[3] * -> log", Migrated, "edgeplane_route.a_to_log"},
		{"links[4] a -> a", LeftOut, "a module linked to itself"},
		{"links[5] a -> log", Migrated, "already routed"},
		{`module "mapping"`, LeftOut, "no Edgeplane equivalent"},
	}
	for _, tt := range tests {
		it := item(t, p, tt.subject)
		if it.Status() != tt.want || it.Result != tt.result {
			t.Errorf("%s: got %s %q, want %s %q", tt.subject, it.Status(), it.Result, tt.want, tt.result)
		}
	}

	if notes := item(t, p, "links[1] mapping -> IoTHub").Notes; len(notes) != 2 {
		t.Errorf("got notes %q, want the left-out reason and one pointer to the suggestion", notes)
	}

	// The path a -> mapping -> IoTHub is offered as a route, not generated.
	if len(p.Suggestions) != 1 || p.Suggestions[0].Route != "FROM /messages/modules/a/* INTO $upstream" {
		t.Errorf("got suggestions %+v, want one from a to $upstream", p.Suggestions)
	}
}

func TestUpstream(t *testing.T) {
	tests := []struct {
		name, hub, suffix string
		wantURL, wantVar  string
	}{
		{"from name and suffix", "contoso", "azure-devices.net", "mqtts://contoso.azure-devices.net:8883", ""},
		{"placeholders ask", "<<insert here IoTHubName>>", "azure-devices.net", "", "upstream_url"},
		{"missing suffix asks", "contoso", "", "", "upstream_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			modules := []string{iothub("IoTHub", tt.hub, tt.suffix)}
			if tt.suffix == "" { // no suffix: classify by library name alone
				modules = []string{strings.Replace(modules[0], `"IoTHubSuffix": ""`, `"Other": ""`, 1)}
			}
			p := plan(t, gateway(modules), Options{DeviceID: "gw"})
			if p.Upstream == nil {
				t.Fatal("got no upstream")
			}
			if p.Upstream.URL != tt.wantURL || p.Upstream.URLVar != tt.wantVar {
				t.Errorf("got url %q var %q, want %q %q", p.Upstream.URL, p.Upstream.URLVar, tt.wantURL, tt.wantVar)
			}
			it := item(t, p, `module "IoTHub"`)
			if it.Status() != Attention || !strings.Contains(strings.Join(it.Actions, " "), "credentials") {
				t.Errorf("got %s %q, want needs attention with a credentials review", it.Status(), it.Actions)
			}
			if len(p.Modules) != 0 {
				t.Errorf("got %d modules, want the IoT Hub module not to be a container", len(p.Modules))
			}
		})
	}
}

func TestDeviceID(t *testing.T) {
	withGateway := func(cs string) string {
		return `{"gateway": {"connection-string": "` + cs + `"}, "modules": [` + native("a") + `]}`
	}
	tests := []struct {
		name, input, flag string
		want, wantVar     string
	}{
		{"flag", gateway([]string{native("a")}), "gw-1", "gw-1", ""},
		{"flag wins", withGateway("HostName=h;DeviceId=cs-id;SharedAccessKey=k"), "gw-1", "gw-1", ""},
		{"connection string", withGateway("HostName=h;DeviceId=cs-id;SharedAccessKey=k"), "", "cs-id", ""},
		{"placeholder asks", withGateway("<< IoT Hub Connection String >>"), "", "", "device_id"},
		{"nothing asks", gateway([]string{native("a")}), "", "", "device_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, tt.input, Options{DeviceID: tt.flag})
			if p.DeviceID != tt.want {
				t.Errorf("got device id %q, want %q", p.DeviceID, tt.want)
			}
			hasVar := slices.ContainsFunc(p.Variables, func(v Variable) bool { return v.Name == "device_id" })
			if hasVar != (tt.wantVar != "") {
				t.Errorf("got variable device_id %v, want %v", hasVar, tt.wantVar != "")
			}
		})
	}

	gw, err := ParseV1("gw.json", []byte(gateway([]string{native("a")})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(gw, Options{DeviceID: "gw 1"}); !errors.Is(err, ErrDeviceID) {
		t.Errorf("got %v, want ErrDeviceID for an id with a space", err)
	}
}

func TestNameCollision(t *testing.T) {
	gw, err := ParseV1("gw.json", []byte(gateway([]string{native("my module"), native("my-module")})))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Convert(gw, Options{DeviceID: "gw"})
	if !errors.Is(err, ErrNameCollision) || !strings.Contains(err.Error(), `"my-module"`) {
		t.Errorf("got %v, want ErrNameCollision naming my-module", err)
	}
}

func TestImagesAndVariables(t *testing.T) {
	im, err := ParseImageMap("images.json", []byte(`{"a": "reg/a:1", "libb.so": "reg/b:1", "SensorTag": "reg/ble:1"}`))
	if err != nil {
		t.Fatal(err)
	}
	ble := `{"name": "SensorTag", "loader": {"name": "native", "entrypoint": {"module.path": "./libble.so"}},
	  "args": {"controller_index": 0}}`
	p := plan(t, gateway([]string{native("a"), native("b"), native("c"), ble, identityMap}),
		Options{DeviceID: "gw", Images: im})

	got := map[string]string{}
	for _, m := range p.Modules {
		got[m.Name] = m.Image + "|" + m.ImageVar
	}
	want := map[string]string{
		"a": "reg/a:1|", "b": "reg/b:1|", "c": "|image_c",
		// A left-out module that the image map names is migrated.
		"SensorTag": "reg/ble:1|",
	}
	if len(got) != len(want) {
		t.Errorf("got modules %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("module %s: got %q, want %q", k, got[k], v)
		}
	}
	if !slices.ContainsFunc(p.Variables, func(v Variable) bool { return v.Name == "image_c" }) {
		t.Errorf("got variables %v, want image_c", p.Variables)
	}
	if st := item(t, p, `module "c"`).Status(); st != Attention {
		t.Errorf("module c: got %s, want needs attention for its image", st)
	}
	if st := item(t, p, `module "mapping"`).Status(); st != LeftOut {
		t.Errorf("module mapping: got %s, want left out", st)
	}
}

func TestTwins(t *testing.T) {
	withArgs := func(args string) string {
		return `{"name": "m", "loader": {"name": "native", "entrypoint": {"module.path": "./libm.so"}}, "args": ` + args + `}`
	}
	tests := []struct {
		name, args string
		want       string // desired JSON, "" for no twin
		action     string // substring of an action, "" for none
	}{
		{"object as is", `{"b": 1, "a": "x"}`, `{"b":1,"a":"x"}`, ""},
		{"null is no twin", `null`, "", ""},
		{"string wrapped", `"module configuration"`, `{"args":"module configuration"}`, ""},
		{"array wrapped", `[{"macAddress": "m"}]`, `{"args":[{"macAddress":"m"}]}`, ""},
		{"number wrapped", `5`, `{"args":5}`, ""},
		{"reserved key wrapped", `{"$version": 1}`, `{"args":{"$version":1}}`, ""},
		{"empty object", `{}`, `{}`, ""},
		{"placeholder flagged", `{"filename": "<</path/to/log-file.log>>"}`, `{"filename":"<</path/to/log-file.log>>"}`, "placeholder"},
		{"credential flagged", `{"cfg": {"connection_string": "HostName=x"}}`, `{"cfg":{"connection_string":"HostName=x"}}`, "cfg.connection_string looks like a credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, gateway([]string{withArgs(tt.args)}), Options{DeviceID: "gw"})
			m := p.Modules[0]
			got := ""
			if m.Desired != nil {
				got = m.Desired.JSON()
			}
			if got != tt.want {
				t.Errorf("got desired %s, want %s", got, tt.want)
			}
			actions := strings.Join(item(t, p, `module "m"`).Actions, " ")
			if tt.action != "" && !strings.Contains(actions, tt.action) {
				t.Errorf("got actions %q, want one about %q", actions, tt.action)
			}
			if tt.action == "" && strings.Contains(actions, "twin") {
				t.Errorf("got actions %q, want none about the twin", actions)
			}
		})
	}
}

func TestUnusedImageKeys(t *testing.T) {
	im, err := ParseImageMap("images.json", []byte(`{"a": "reg/a:1", "loger": "reg/log:1"}`))
	if err != nil {
		t.Fatal(err)
	}
	p := plan(t, gateway([]string{native("a")}), Options{DeviceID: "gw", Images: im})
	it := item(t, p, "image map")
	if it.Status() != Attention || !strings.Contains(it.Actions[0], `"loger"`) {
		t.Errorf("got %s %q, want needs attention naming \"loger\"", it.Status(), it.Actions)
	}
}

func TestNames(t *testing.T) {
	tests := []struct{ in, edge, label string }{
		{"logger", "logger", "logger"},
		{"BLE Printer", "BLE-Printer", "ble_printer"},
		{"out of process", "out-of-process", "out_of_process"},
		{"  spaced  ", "spaced", "spaced"},
		{"1st", "1st", "m_1st"},
		{"mod.v2", "mod.v2", "mod_v2"},
		{"Grüße", "Gr-e", "gr_e"},
	}
	for _, tt := range tests {
		if got := edgeName(tt.in); got != tt.edge {
			t.Errorf("edgeName(%q): got %q, want %q", tt.in, got, tt.edge)
		}
		if got := label(edgeName(tt.in)); got != tt.label {
			t.Errorf("label(%q): got %q, want %q", tt.in, got, tt.label)
		}
	}
}

func TestDotnetFrameworkNote(t *testing.T) {
	p := plan(t, gateway([]string{module("f", "dotnet", `{"assembly.name": "F", "entry.type": "F.M"}`),
		module("c", "dotnetcore", `{"assembly.name": "C", "entry.type": "C.M"}`)}), Options{DeviceID: "gw"})
	tests := []struct {
		subject string
		want    bool
	}{{`module "f"`, true}, {`module "c"`, false}}
	for _, tt := range tests {
		notes := strings.Join(item(t, p, tt.subject).Notes, " ")
		if got := strings.Contains(notes, "need Windows"); got != tt.want {
			t.Errorf("%s: got Windows note %v, want %v (notes %q)", tt.subject, got, tt.want, notes)
		}
	}
}
