package hub_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub"
	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/store"
	"github.com/edgeplane/edgeplane/hub/store/sqlite"
	"github.com/edgeplane/edgeplane/internal/pgtest"
)

const testToken = "operator-secret"

// testHub is a hub served by httptest over a real store.
type testHub struct {
	t   testing.TB
	url string
	srv *hub.Server
}

// newSQLiteHub starts a hub over SQLite in a temporary directory.
func newSQLiteHub(t testing.TB) *testHub {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newTestHub(t, st)
}

func newTestHub(t testing.TB, st store.Store) *testHub {
	t.Helper()
	srv, err := hub.New(hub.Config{Store: st, Tokens: []string{testToken}, LongPollMax: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(recordingHandler(t, srv))
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return &testHub{t: t, url: ts.URL, srv: srv}
}

// response is what a test request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r response) apiError(t testing.TB) api.Error {
	t.Helper()
	var e api.Error
	r.decode(t, &e)
	return e
}

// do sends a request; body is JSON-encoded unless it is a string or nil.
// headers are name, value pairs.
func (h *testHub) do(method, path, auth string, body any, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// op sends an operator request and fails the test unless the status is
// want.
func (h *testHub) op(method, path string, body any, want int, headers ...string) response {
	h.t.Helper()
	r := h.do(method, path, "Bearer "+testToken, body, headers...)
	if r.status != want {
		h.t.Fatalf("%s %s: got status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// createDevice creates an enabled device and returns it with its key.
func (h *testHub) createDevice(id string) api.Device {
	h.t.Helper()
	var d api.Device
	h.op("PUT", "/v1/devices/"+id, map[string]any{"tags": map[string]string{"site": "lab"}},
		http.StatusCreated).decode(h.t, &d)
	return d
}

func (h *testHub) desiredVersion(id string) int64 {
	h.t.Helper()
	var st api.DeviceStatus
	h.op("GET", "/v1/devices/"+id+"/status", nil, http.StatusOK).decode(h.t, &st)
	return st.DesiredVersion
}

func TestDeviceLifecycle(t *testing.T) {
	h := newSQLiteHub(t)

	// Create: a generated key of 32 bytes, version 1, ETag.
	r := h.op("PUT", "/v1/devices/gw-1", map[string]any{"tags": map[string]string{"site": "a"}}, http.StatusCreated)
	var d api.Device
	r.decode(t, &d)
	if key, err := api.DecodeKey(d.Key); err != nil || len(key) != 32 {
		t.Fatalf("got key %q (%v), want 32 random bytes", d.Key, err)
	}
	if d.Version != 1 || r.header.Get("ETag") != `"1"` || !d.Enabled {
		t.Fatalf("got version %d, ETag %s, enabled %v; want 1, \"1\", true", d.Version, r.header.Get("ETag"), d.Enabled)
	}

	// The same PUT again changes nothing.
	var again api.Device
	h.op("PUT", "/v1/devices/gw-1", map[string]any{"tags": map[string]string{"site": "a"}}, http.StatusOK).decode(t, &again)
	if again.Version != 1 || again.Key != d.Key {
		t.Fatalf("got version %d key %q after an equal PUT, want 1 and the same key", again.Version, again.Key)
	}

	// Disable it, conditionally.
	h.op("PUT", "/v1/devices/gw-1", map[string]any{"enabled": false}, http.StatusPreconditionFailed, "If-Match", `"9"`)
	again = api.Device{}
	h.op("PUT", "/v1/devices/gw-1", map[string]any{"enabled": false}, http.StatusOK, "If-Match", `"1"`).decode(t, &again)
	if again.Version != 2 || again.Enabled || again.Tags != nil {
		t.Fatalf("got %+v, want version 2, disabled, no tags", again)
	}

	// A key the caller brings.
	key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	h.op("PUT", "/v1/devices/gw-2", map[string]any{"key": key}, http.StatusCreated).decode(t, &again)
	if again.Key != key {
		t.Fatalf("got key %q, want %q", again.Key, key)
	}

	// GET of one device returns the key.
	var read api.Device
	h.op("GET", "/v1/devices/gw-2", nil, http.StatusOK).decode(t, &read)
	if read.Key != key || read.Version != 1 {
		t.Fatalf("got %+v, want the key given and version 1", read)
	}

	// Lists never carry keys; the tag filter selects.
	var list api.DeviceList
	h.op("GET", "/v1/devices", nil, http.StatusOK).decode(t, &list)
	if len(list.Devices) != 2 || list.Devices[0].Key != "" || list.Devices[1].Key != "" {
		t.Fatalf("got %+v, want two devices without keys", list)
	}
	h.op("PUT", "/v1/devices/gw-2", map[string]any{"tags": map[string]string{"site": "b"}}, http.StatusOK)
	h.op("GET", "/v1/devices?tag=site=b", nil, http.StatusOK).decode(t, &list)
	if len(list.Devices) != 1 || list.Devices[0].ID != "gw-2" {
		t.Fatalf("got %+v, want only gw-2", list)
	}

	// Delete.
	h.op("DELETE", "/v1/devices/gw-1", nil, http.StatusNoContent)
	h.op("GET", "/v1/devices/gw-1", nil, http.StatusNotFound)
	h.op("DELETE", "/v1/devices/gw-1", nil, http.StatusNotFound)
}

func TestDeviceListPages(t *testing.T) {
	h := newSQLiteHub(t)
	for _, id := range []string{"d1", "d2", "d3", "d4", "d5"} {
		h.createDevice(id)
	}
	var got []string
	path := "/v1/devices?limit=2"
	for range 10 {
		var list api.DeviceList
		h.op("GET", path, nil, http.StatusOK).decode(t, &list)
		for _, d := range list.Devices {
			got = append(got, d.ID)
		}
		if list.NextPageToken == "" {
			break
		}
		path = "/v1/devices?limit=2&page_token=" + list.NextPageToken
	}
	if strings.Join(got, ",") != "d1,d2,d3,d4,d5" {
		t.Fatalf("got pages %v, want d1..d5 in order", got)
	}
}

// TestDeviceListStatus checks include=status on both stores: each listed
// device carries the very JSON its status endpoint answers, for a device
// that reported and for ones that never did, and the tag filter and pages
// apply as without it.
func TestDeviceListStatus(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(t *testing.T) *testHub
	}{
		{"sqlite", func(t *testing.T) *testHub { return newSQLiteHub(t) }},
		{"postgres", func(t *testing.T) *testHub { return newPostgresHub(t, pgtest.Database(t)) }},
	} {
		t.Run(b.name, func(t *testing.T) { testDeviceListStatus(t, b.open(t)) })
	}
}

func testDeviceListStatus(t *testing.T, h *testHub) {
	devs := map[string]api.Device{}
	for _, id := range []string{"d1", "d2", "d3", "d4", "d5"} {
		devs[id] = h.createDevice(id)
	}
	h.op("PUT", "/v1/devices/d3", map[string]any{"tags": map[string]string{"site": "other"}}, http.StatusOK)
	h.op("PUT", "/v1/devices/d4/modules/sensor", api.Module{Image: "example/sensor:1"}, http.StatusCreated)
	for _, id := range []string{"d2", "d4"} {
		r := h.do("PATCH", "/v1/device/reported", token(t, devs[id]), map[string]any{
			"agent":           api.AgentInfo{Version: "1.0", StartedAt: time.Now().UTC().Truncate(time.Second)},
			"applied_version": 1,
			"last_error":      "pull failed",
			"modules":         map[string]any{"sensor": api.ModuleStatus{Status: api.RuntimeBackoff, RestartCount: 2}},
		})
		if r.status != http.StatusNoContent {
			t.Fatalf("reporting as %s: got status %d, want 204: %s", id, r.status, r.body)
		}
	}

	// Page through the lab devices, three at a time, with statuses.
	type entry struct {
		ID     string          `json:"id"`
		Status json.RawMessage `json:"status"`
	}
	var got []entry
	path := "/v1/devices?tag=site=lab&limit=3&include=status"
	pages := 0
	for ; pages < 10; pages++ {
		var list struct {
			Devices       []entry `json:"devices"`
			NextPageToken string  `json:"next_page_token"`
		}
		h.op("GET", path, nil, http.StatusOK).decode(t, &list)
		got = append(got, list.Devices...)
		if list.NextPageToken == "" {
			break
		}
		path = "/v1/devices?tag=site=lab&limit=3&include=status&page_token=" + list.NextPageToken
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "d1,d2,d4,d5" || pages != 1 {
		t.Fatalf("got %v in %d pages, want d1,d2,d4,d5 in 2 pages", ids, pages+1)
	}
	for _, e := range got {
		want := bytes.TrimSpace(h.op("GET", "/v1/devices/"+e.ID+"/status", nil, http.StatusOK).body)
		if !bytes.Equal(e.Status, want) {
			t.Errorf("device %s: got status %s in the list, want %s as its status endpoint says", e.ID, e.Status, want)
		}
	}

	// The statuses say what happened: d2 reported and is online, d1 never
	// called.
	var list api.DeviceList
	h.op("GET", "/v1/devices?include=status&limit=2", nil, http.StatusOK).decode(t, &list)
	d1, d2 := list.Devices[0].Status, list.Devices[1].Status
	if d1 == nil || d1.Online || !d1.LastSeen.IsZero() || d1.Agent != nil || d1.DesiredVersion != 1 {
		t.Errorf("got d1 status %+v, want offline, never seen, desired version 1", d1)
	}
	if d2 == nil || !d2.Online || d2.Agent == nil || d2.Agent.Version != "1.0" || d2.AppliedVersion != 1 ||
		d2.LastError != "pull failed" || d2.Modules["sensor"].Status != api.RuntimeBackoff {
		t.Errorf("got d2 status %+v, want online, agent 1.0, applied 1, the error, sensor in backoff", d2)
	}

	// Without include, no device carries a status.
	raw := h.op("GET", "/v1/devices", nil, http.StatusOK).body
	if bytes.Contains(raw, []byte(`"status"`)) {
		t.Errorf("got %s without include, want no status", raw)
	}

	// A listed device can be sent back as it is: the status is read-only.
	var withStatus struct {
		Devices []json.RawMessage `json:"devices"`
	}
	h.op("GET", "/v1/devices?include=status&limit=1", nil, http.StatusOK).decode(t, &withStatus)
	var back api.Device
	h.op("PUT", "/v1/devices/d1", string(withStatus.Devices[0]), http.StatusOK).decode(t, &back)
	if back.Version != 1 || back.Status != nil {
		t.Errorf("got %+v after sending the listed d1 back, want version 1 unchanged and no status", back)
	}
}

func TestModulesRoutesTwins(t *testing.T) {
	h := newSQLiteHub(t)
	h.createDevice("gw")
	v0 := h.desiredVersion("gw")

	// A module, then the same PUT: one change of the desired state.
	mod := api.Module{Image: "example/sensor:1", RestartPolicy: api.RestartOnFailure,
		CreateOptions: &api.CreateOptions{Ports: []api.Port{{HostPort: 8080, ContainerPort: 80}}}}
	var m api.Module
	h.op("PUT", "/v1/devices/gw/modules/sensor", mod, http.StatusCreated).decode(t, &m)
	if m.Name != "sensor" || m.Version != 1 {
		t.Fatalf("got %+v, want name sensor, version 1", m)
	}
	h.op("PUT", "/v1/devices/gw/modules/sensor", mod, http.StatusOK)
	v1 := h.desiredVersion("gw")
	if v1 != v0+1 {
		t.Fatalf("got desired version %d after one change, want %d", v1, v0+1)
	}

	// Twin: PUT replaces, PATCH merges, null deletes.
	var tw api.Twin
	h.op("GET", "/v1/devices/gw/modules/sensor/twin", nil, http.StatusOK).decode(t, &tw)
	if string(tw.Desired) != "{}" {
		t.Fatalf("got desired %s for a new twin, want {}", tw.Desired)
	}
	h.op("PUT", "/v1/devices/gw/modules/sensor/twin",
		map[string]any{"desired": map[string]any{"rate": 5, "unit": "C", "limits": map[string]any{"hi": 9}}}, http.StatusOK)
	h.op("PATCH", "/v1/devices/gw/modules/sensor/twin",
		map[string]any{"desired": map[string]any{"unit": nil, "limits": map[string]any{"lo": 1}}}, http.StatusOK).decode(t, &tw)
	if want := `{"limits":{"hi":9,"lo":1},"rate":5}`; string(tw.Desired) != want {
		t.Fatalf("got desired %s, want %s", tw.Desired, want)
	}
	h.op("PATCH", "/v1/devices/gw/modules/sensor/twin", `{"desired":{"rate":6}}`, http.StatusPreconditionFailed,
		"If-Match", `"1"`)

	// Routes.
	rt := api.Route{Text: "FROM /messages/* INTO $upstream", Priority: 3, TimeToLiveSeconds: 60}
	h.op("PUT", "/v1/devices/gw/routes/all", rt, http.StatusCreated)
	var rl api.RouteList
	h.op("GET", "/v1/devices/gw/routes", nil, http.StatusOK).decode(t, &rl)
	if len(rl.Routes) != 1 || rl.Routes[0].Priority != 3 || rl.Routes[0].Name != "all" {
		t.Fatalf("got %+v, want the one route", rl)
	}

	var one api.Route
	h.op("GET", "/v1/devices/gw/routes/all", nil, http.StatusOK).decode(t, &one)
	if one.Text != rt.Text || one.TimeToLiveSeconds != 60 {
		t.Fatalf("got %+v, want the route as put", one)
	}
	h.op("PUT", "/v1/devices/gw/routes/spare", rt, http.StatusCreated)
	h.op("DELETE", "/v1/devices/gw/routes/spare", nil, http.StatusNoContent, "If-Match", `"1"`)
	h.op("GET", "/v1/devices/gw/routes/spare", nil, http.StatusNotFound)

	// Deleting the module deletes its twin.
	h.op("DELETE", "/v1/devices/gw/modules/sensor", nil, http.StatusNoContent)
	h.op("GET", "/v1/devices/gw/modules/sensor/twin", nil, http.StatusNotFound)
	h.op("PUT", "/v1/devices/gw/modules/sensor", mod, http.StatusCreated)
	h.op("GET", "/v1/devices/gw/modules/sensor/twin", nil, http.StatusOK).decode(t, &tw)
	if string(tw.Desired) != "{}" {
		t.Fatalf("got desired %s for a re-created module, want {}", tw.Desired)
	}

	// Deleting the device deletes everything under it.
	h.op("DELETE", "/v1/devices/gw", nil, http.StatusNoContent)
	h.createDevice("gw")
	var ml api.ModuleList
	h.op("GET", "/v1/devices/gw/modules", nil, http.StatusOK).decode(t, &ml)
	h.op("GET", "/v1/devices/gw/routes", nil, http.StatusOK).decode(t, &rl)
	if len(ml.Modules) != 0 || len(rl.Routes) != 0 {
		t.Fatalf("got %d modules and %d routes on a re-created device, want none", len(ml.Modules), len(rl.Routes))
	}
}

func TestSecretsAreWriteOnly(t *testing.T) {
	h := newSQLiteHub(t)
	h.createDevice("gw")

	var reg api.Registry
	h.op("PUT", "/v1/devices/gw/registries/local", api.Registry{Server: "localhost:5000", Username: "u", Password: "p"},
		http.StatusCreated).decode(t, &reg)
	if reg.Password != "" || !reg.PasswordSet {
		t.Fatalf("got password %q set %v, want hidden and set", reg.Password, reg.PasswordSet)
	}
	h.op("GET", "/v1/devices/gw/registries/local", nil, http.StatusOK).decode(t, &reg)
	if reg.Password != "" || !reg.PasswordSet {
		t.Fatalf("got password %q set %v on GET, want hidden and set", reg.Password, reg.PasswordSet)
	}
	var regs api.RegistryList
	h.op("GET", "/v1/devices/gw/registries", nil, http.StatusOK).decode(t, &regs)
	if len(regs.Registries) != 1 || regs.Registries[0].Password != "" {
		t.Fatalf("got %+v, want one registry without password", regs)
	}
	// Sending back what GET returned keeps the password and the version.
	h.op("PUT", "/v1/devices/gw/registries/local", reg, http.StatusOK).decode(t, &reg)
	if reg.Version != 1 || !reg.PasswordSet {
		t.Fatalf("got version %d set %v, want 1 and set", reg.Version, reg.PasswordSet)
	}

	h.op("DELETE", "/v1/devices/gw/registries/local", nil, http.StatusNoContent)
	h.op("GET", "/v1/devices/gw/registries/local", nil, http.StatusNotFound)

	var up api.Upstream
	h.op("PUT", "/v1/devices/gw/upstream", api.Upstream{URL: "mqtts://broker:8883", Username: "gw", Password: "pw"},
		http.StatusCreated).decode(t, &up)
	h.op("GET", "/v1/devices/gw/upstream", nil, http.StatusOK).decode(t, &up)
	if up.Password != "" || !up.PasswordSet {
		t.Fatalf("got password %q set %v, want hidden and set", up.Password, up.PasswordSet)
	}
	h.op("DELETE", "/v1/devices/gw/upstream", nil, http.StatusNoContent)
	h.op("GET", "/v1/devices/gw/upstream", nil, http.StatusNotFound)
}

func TestBadInput(t *testing.T) {
	h := newSQLiteHub(t)
	h.createDevice("gw")
	h.op("PUT", "/v1/devices/gw/modules/m", api.Module{Image: "img:1"}, http.StatusCreated)

	big := `{"image":"` + strings.Repeat("x", api.MaxBodyBytes) + `"}`
	tests := []struct {
		name, method, path string
		body               any
		headers            []string
		wantStatus         int
		wantCode           string
		wantField          string
		wantInMessage      string
	}{
		{"malformed json", "PUT", "/v1/devices/gw/modules/m", "{\n  \"image\": \"a\",\n  oops\n}", nil,
			400, api.CodeBadRequest, "", "line 3, column 3"},
		{"truncated json", "PUT", "/v1/devices/gw/modules/m", `{"image": "a"`, nil,
			400, api.CodeBadRequest, "", "ends before"},
		{"trailing data", "PUT", "/v1/devices/gw/modules/m", `{"image": "a"} {}`, nil,
			400, api.CodeBadRequest, "", "after the JSON value"},
		{"empty body", "PUT", "/v1/devices/gw/modules/m", "", nil, 400, api.CodeBadRequest, "", "empty"},
		{"unknown field", "PUT", "/v1/devices/gw/modules/m", `{"image": "a", "imagee": "b"}`, nil,
			400, api.CodeBadRequest, "imagee", `"imagee"`},
		{"unknown nested field", "PUT", "/v1/devices/gw/modules/m",
			`{"image": "a", "create_options": {"memory": 5}}`, nil, 400, api.CodeBadRequest, "create_options.memory", `"create_options.memory"`},
		{"unknown field in list", "PUT", "/v1/devices/gw/modules/m",
			`{"image": "a", "create_options": {"ports": [{"container_port": 1}, {"container_prot": 2}]}}`, nil,
			400, api.CodeBadRequest, "create_options.ports[1].container_prot", "container_prot"},
		{"wrong type", "PUT", "/v1/devices/gw/modules/m", `{"image": 5}`, nil,
			400, api.CodeBadRequest, "image", "must be a string"},
		{"too large", "PUT", "/v1/devices/gw/modules/m", big, nil, 413, api.CodeTooLarge, "", "1048576"},
		{"invalid device id", "PUT", "/v1/devices/-gw", `{}`, nil, 400, api.CodeInvalid, "device", "letters, digits"},
		{"invalid module id", "PUT", "/v1/devices/gw/modules/a%20b", `{"image":"a"}`, nil,
			400, api.CodeInvalid, "module", "letters, digits"},
		{"name mismatch", "PUT", "/v1/devices/gw/modules/m", `{"name": "n", "image": "a"}`, nil,
			400, api.CodeInvalid, "name", "differs"},
		{"no image", "PUT", "/v1/devices/gw/modules/m", `{}`, nil, 400, api.CodeInvalid, "image", "required"},
		{"restart policy", "PUT", "/v1/devices/gw/modules/m", `{"image":"a","restart_policy":"sometimes"}`, nil,
			400, api.CodeInvalid, "restart_policy", "on-unhealthy"},
		{"desired status", "PUT", "/v1/devices/gw/modules/m", `{"image":"a","desired_status":"paused"}`, nil,
			400, api.CodeInvalid, "desired_status", "running"},
		{"pull policy", "PUT", "/v1/devices/gw/modules/m", `{"image":"a","image_pull_policy":"always"}`, nil,
			400, api.CodeInvalid, "image_pull_policy", "on-create"},
		{"port", "PUT", "/v1/devices/gw/modules/m",
			`{"image":"a","create_options":{"ports":[{"container_port":80,"host_port":70000}]}}`, nil,
			400, api.CodeInvalid, "create_options.ports[0].host_port", "65535"},
		{"port protocol", "PUT", "/v1/devices/gw/modules/m",
			`{"image":"a","create_options":{"ports":[{"container_port":80,"protocol":"sctp"}]}}`, nil,
			400, api.CodeInvalid, "create_options.ports[0].protocol", "tcp"},
		{"mount type", "PUT", "/v1/devices/gw/modules/m",
			`{"image":"a","create_options":{"mounts":[{"type":"tmpfs","source":"x","target":"/x"}]}}`, nil,
			400, api.CodeInvalid, "create_options.mounts[0].type", "bind or volume"},
		{"health duration", "PUT", "/v1/devices/gw/modules/m",
			`{"image":"a","create_options":{"health_check":{"test":["CMD","x"],"interval":"often"}}}`, nil,
			400, api.CodeInvalid, "create_options.health_check.interval", "duration"},
		{"route priority", "PUT", "/v1/devices/gw/routes/r", `{"route":"FROM /messages/* INTO $upstream","priority":10}`,
			nil, 400, api.CodeInvalid, "priority", "0 (highest) to 9"},
		{"route ttl", "PUT", "/v1/devices/gw/routes/r",
			`{"route":"FROM /messages/* INTO $upstream","time_to_live_seconds":-1}`, nil,
			400, api.CodeInvalid, "time_to_live_seconds", "0"},
		{"route text", "PUT", "/v1/devices/gw/routes/r", `{"route":"  "}`, nil, 400, api.CodeInvalid, "route", "required"},
		{"route syntax", "PUT", "/v1/devices/gw/routes/r", `{"route":"FROM /messages/* INTO"}`, nil,
			400, api.CodeInvalid, "route", "line 1, column"},
		{"twin not object", "PUT", "/v1/devices/gw/modules/m/twin", `{"desired":[1]}`, nil,
			400, api.CodeInvalid, "desired", "JSON object"},
		{"twin reserved key", "PATCH", "/v1/devices/gw/modules/m/twin", `{"desired":{"$version":1}}`, nil,
			400, api.CodeInvalid, "desired.$version", "reserved"},
		{"upstream url", "PUT", "/v1/devices/gw/upstream", `{"url":"http://broker"}`, nil,
			400, api.CodeInvalid, "url", "mqtts"},
		{"device key", "PUT", "/v1/devices/gw", `{"key":"c2hvcnQ="}`, nil, 400, api.CodeInvalid, "key", "32"},
		{"stale if-match", "PUT", "/v1/devices/gw/modules/m", `{"image":"changed"}`, []string{"If-Match", `"5"`},
			412, api.CodeVersionMismatch, "", "If-Match"},
		{"bad if-match", "PUT", "/v1/devices/gw/modules/m", `{"image":"changed"}`, []string{"If-Match", `soon`},
			400, api.CodeBadRequest, "If-Match", "version"},
		{"missing device", "PUT", "/v1/devices/nope/modules/m", `{"image":"a"}`, nil,
			404, api.CodeNotFound, "", "device nope"},
		{"missing module", "GET", "/v1/devices/gw/modules/nope", nil, nil,
			404, api.CodeNotFound, "", "module nope"},
		{"bad limit", "GET", "/v1/devices?limit=0", nil, nil, 400, api.CodeInvalid, "limit", "1 to 1000"},
		{"bad include", "GET", "/v1/devices?include=modules", nil, nil,
			400, api.CodeInvalid, "include", `include "modules" is not allowed; use include=status`},
		{"bad second include", "GET", "/v1/devices?include=status&include=", nil, nil,
			400, api.CodeInvalid, "include", "include=status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.desiredVersion("gw")
			r := h.do(tt.method, tt.path, "Bearer "+testToken, tt.body, tt.headers...)
			if r.status != tt.wantStatus {
				t.Fatalf("got status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			e := r.apiError(t)
			if e.Code != tt.wantCode || e.Field != tt.wantField {
				t.Fatalf("got code %q field %q, want %q and %q (%s)", e.Code, e.Field, tt.wantCode, tt.wantField, e.Message)
			}
			if !strings.Contains(e.Message, tt.wantInMessage) {
				t.Fatalf("got message %q, want it to contain %q", e.Message, tt.wantInMessage)
			}
			if after := h.desiredVersion("gw"); after != before {
				t.Fatalf("got desired version %d after a rejected request, want %d unchanged", after, before)
			}
			var m api.Module
			h.op("GET", "/v1/devices/gw/modules/m", nil, http.StatusOK).decode(t, &m)
			if m.Image != "img:1" || m.Version != 1 {
				t.Fatalf("got module %+v after a rejected request, want it unchanged", m)
			}
		})
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	h := newSQLiteHub(t)
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/nothing", http.StatusNotFound},
		{"POST", "/v1/devices", http.StatusMethodNotAllowed},
		{"GET", "/healthz", http.StatusOK},
		{"GET", "/readyz", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := h.do(tt.method, tt.path, "Bearer "+testToken, nil)
			if r.status != tt.want {
				t.Fatalf("got %d, want %d: %s", r.status, tt.want, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("got Content-Type %q, want application/json", ct)
			}
		})
	}
}

// TestShutdown: after Close, readiness fails and long-polls answer at once.
func TestShutdown(t *testing.T) {
	h := newSQLiteHub(t)
	d := h.createDevice("gw")
	got := make(chan response, 1)
	go func() { got <- h.poll(d, h.desiredVersion("gw"), "30s") }()
	waitWaiting(t, h.srv, 1)

	h.srv.Close()
	if r := <-got; r.status != http.StatusNotModified {
		t.Fatalf("got status %d for a waiting poll at shutdown, want 304", r.status)
	}
	if r := h.do("GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable || r.apiError(t).Code != api.CodeUnavailable {
		t.Fatalf("got %d %s from /readyz after Close, want 503 unavailable", r.status, r.body)
	}
	if r := h.poll(d, h.desiredVersion("gw"), "30s"); r.status != http.StatusNotModified {
		t.Fatalf("got status %d for a new poll after Close, want 304 at once", r.status)
	}
}
