package hub_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub"
	"github.com/edgeplane/edgeplane/hub/api"
)

// token signs a device token for d valid for an hour.
func token(t testing.TB, d api.Device) string {
	t.Helper()
	key, err := api.DecodeKey(d.Key)
	if err != nil {
		t.Fatal(err)
	}
	return "Device " + api.SignDeviceToken(d.ID, key, time.Now().Add(time.Hour))
}

// poll long-polls the desired state as device d.
func (h *testHub) poll(d api.Device, after int64, wait string) response {
	h.t.Helper()
	return h.do("GET", "/v1/device/desired?after="+strconv.FormatInt(after, 10)+"&wait="+wait, token(h.t, d), nil)
}

func TestDeviceLongPoll(t *testing.T) {
	h := newSQLiteHub(t)
	d := h.createDevice("gw")
	h.op("PUT", "/v1/devices/gw/modules/sensor", api.Module{Image: "example/sensor:1"}, http.StatusCreated)

	// Without after, the document comes at once, defaults spelled out.
	r := h.do("GET", "/v1/device/desired", token(t, d), nil)
	if r.status != http.StatusOK {
		t.Fatalf("got status %d, want 200: %s", r.status, r.body)
	}
	var ds api.DesiredState
	r.decode(t, &ds)
	if ds.DeviceID != "gw" || len(ds.Modules) != 1 || ds.Modules[0].RestartPolicy != api.RestartAlways {
		t.Fatalf("got %+v, want gw's one module with restart policy always", ds)
	}
	if _, ok := ds.Twins["sensor"]; !ok {
		t.Fatalf("got twins %v, want sensor's", ds.Twins)
	}
	if r.header.Get("ETag") != `"`+strconv.FormatInt(ds.Version, 10)+`"` {
		t.Fatalf("got ETag %s, want the version %d", r.header.Get("ETag"), ds.Version)
	}

	// Nothing newer within the wait: 304 without a body.
	r = h.poll(d, ds.Version, "0s")
	if r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Fatalf("got %d with %d bytes, want 304 with none", r.status, len(r.body))
	}

	// A waiting poll gets each kind of change.
	changes := []struct {
		name, method, path string
		body               any
	}{
		{"module", "PUT", "/v1/devices/gw/modules/sensor", api.Module{Image: "example/sensor:2"}},
		{"twin", "PATCH", "/v1/devices/gw/modules/sensor/twin", map[string]any{"desired": map[string]any{"rate": 2}}},
		{"route", "PUT", "/v1/devices/gw/routes/up", api.Route{Text: "FROM /messages/* INTO $upstream"}},
		{"upstream", "PUT", "/v1/devices/gw/upstream", api.Upstream{URL: "mqtt://broker:1883", Password: "pw"}},
		{"registry", "PUT", "/v1/devices/gw/registries/r", api.Registry{Server: "r:5000", Password: "pw"}},
		{"module delete", "DELETE", "/v1/devices/gw/modules/sensor", nil},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			got := make(chan response, 1)
			go func() { got <- h.poll(d, ds.Version, "30s") }()
			waitWaiting(t, h.srv, 1)
			want := http.StatusOK
			if c.method == "PUT" && c.name != "module" {
				want = http.StatusCreated
			}
			if c.method == "DELETE" {
				want = http.StatusNoContent
			}
			h.op(c.method, c.path, c.body, want)
			r := <-got
			if r.status != http.StatusOK {
				t.Fatalf("got status %d, want 200: %s", r.status, r.body)
			}
			var next api.DesiredState
			r.decode(t, &next)
			if next.Version <= ds.Version {
				t.Fatalf("got version %d, want more than %d", next.Version, ds.Version)
			}
			ds = next
		})
	}
	// Secrets reach the device, which needs them.
	if ds.Upstream == nil || ds.Upstream.Password != "pw" || len(ds.Registries) != 1 || ds.Registries[0].Password != "pw" {
		t.Fatalf("got upstream %+v registries %+v, want the passwords", ds.Upstream, ds.Registries)
	}
}

func TestDeviceReported(t *testing.T) {
	h := newSQLiteHub(t)
	d := h.createDevice("gw")
	h.op("PUT", "/v1/devices/gw/modules/sensor", api.Module{Image: "example/sensor:1"}, http.StatusCreated)

	var st api.DeviceStatus
	h.op("GET", "/v1/devices/gw/status", nil, http.StatusOK).decode(t, &st)
	if st.Online || !st.LastSeen.IsZero() {
		t.Fatalf("got online %v last seen %v before any call, want offline, never", st.Online, st.LastSeen)
	}

	applied := int64(2)
	patch := map[string]any{
		"agent":           api.AgentInfo{Version: "1.0", StartedAt: time.Now().UTC().Truncate(time.Second)},
		"applied_version": applied,
		"modules":         map[string]any{"sensor": api.ModuleStatus{Status: api.RuntimeRunning}, "old": nil},
		"twins":           map[string]any{"sensor": map[string]any{"temp": 21, "unit": "C"}, "gone": map[string]any{"x": 1}},
	}
	r := h.do("PATCH", "/v1/device/reported", token(t, d), patch)
	if r.status != http.StatusNoContent {
		t.Fatalf("got status %d, want 204: %s", r.status, r.body)
	}
	r = h.do("PATCH", "/v1/device/reported", token(t, d), map[string]any{"twins": map[string]any{"sensor": map[string]any{"unit": nil}}})
	if r.status != http.StatusNoContent {
		t.Fatalf("got status %d, want 204: %s", r.status, r.body)
	}

	h.op("GET", "/v1/devices/gw/status", nil, http.StatusOK).decode(t, &st)
	if !st.Online || st.LastSeen.IsZero() || st.AppliedVersion != 2 || st.Agent == nil || st.Agent.Version != "1.0" {
		t.Fatalf("got %+v, want online, seen, applied 2, agent 1.0", st)
	}
	if st.Modules["sensor"].Status != api.RuntimeRunning || len(st.Modules) != 1 {
		t.Fatalf("got modules %+v, want sensor running only", st.Modules)
	}
	var tw api.Twin
	h.op("GET", "/v1/devices/gw/modules/sensor/twin", nil, http.StatusOK).decode(t, &tw)
	if string(tw.Reported) != `{"temp":21}` {
		t.Fatalf("got reported %s, want {\"temp\":21}", tw.Reported)
	}

	// Reported state does not change the desired version or the twin's
	// desired properties.
	if string(tw.Desired) != "{}" {
		t.Fatalf("got desired %s, want {}", tw.Desired)
	}

	// Bad reports change nothing.
	r = h.do("PATCH", "/v1/device/reported", token(t, d), `{"modules":{"sensor":{"status":"dancing"}}}`)
	if e := r.apiError(t); r.status != 400 || e.Field != "modules.sensor.status" {
		t.Fatalf("got %d %+v, want 400 naming modules.sensor.status", r.status, e)
	}
	r = h.do("PATCH", "/v1/device/reported", token(t, d), `{"agnet":{}}`)
	if e := r.apiError(t); r.status != 400 || e.Field != "agnet" {
		t.Fatalf("got %d %+v, want 400 naming agnet", r.status, e)
	}
}

func TestAuth(t *testing.T) {
	h := newSQLiteHub(t)
	a := h.createDevice("gw-a")
	b := h.createDevice("gw-b")
	off := h.createDevice("gw-off")
	h.op("PUT", "/v1/devices/gw-off", map[string]any{"enabled": false}, http.StatusOK)

	keyA, _ := api.DecodeKey(a.Key)
	keyB, _ := api.DecodeKey(b.Key)
	tests := []struct {
		name, method, path, auth string
		wantStatus               int
		wantCode                 string
	}{
		{"operator without token", "GET", "/v1/devices", "", 401, api.CodeUnauthorized},
		{"operator wrong token", "GET", "/v1/devices", "Bearer nope", 401, api.CodeUnauthorized},
		{"operator other scheme", "GET", "/v1/devices", "Basic dXNlcjpwdw==", 401, api.CodeUnauthorized},
		{"device token on operator API", "GET", "/v1/devices", token(t, a), 403, api.CodeForbidden},
		{"device token as bearer", "GET", "/v1/devices/gw-a", "Bearer " + token(t, a)[len("Device "):], 403, api.CodeForbidden},
		{"device key as bearer", "GET", "/v1/devices/gw-a", "Bearer " + a.Key, 401, api.CodeUnauthorized},
		{"operator token on device API", "GET", "/v1/device/desired", "Bearer " + testToken, 403, api.CodeForbidden},
		{"device without token", "GET", "/v1/device/desired", "", 401, api.CodeUnauthorized},
		{"malformed device token", "GET", "/v1/device/desired", "Device garbage", 401, api.CodeUnauthorized},
		{"expired device token", "GET", "/v1/device/desired",
			"Device " + api.SignDeviceToken("gw-a", keyA, time.Now().Add(-time.Minute)), 401, api.CodeUnauthorized},
		{"too long lived device token", "GET", "/v1/device/desired",
			"Device " + api.SignDeviceToken("gw-a", keyA, time.Now().Add(3*time.Hour)), 401, api.CodeUnauthorized},
		{"another device's id with own key", "GET", "/v1/device/desired",
			"Device " + api.SignDeviceToken("gw-a", keyB, time.Now().Add(time.Hour)), 401, api.CodeUnauthorized},
		{"unknown device", "GET", "/v1/device/desired",
			"Device " + api.SignDeviceToken("gw-x", keyA, time.Now().Add(time.Hour)), 401, api.CodeUnauthorized},
		{"disabled device", "GET", "/v1/device/desired", token(t, off), 403, api.CodeForbidden},
		{"disabled device report", "PATCH", "/v1/device/reported", token(t, off), 403, api.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.method == "PATCH" {
				body = `{}`
			}
			r := h.do(tt.method, tt.path, tt.auth, body)
			if r.status != tt.wantStatus {
				t.Fatalf("got status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if e := r.apiError(t); e.Code != tt.wantCode || e.Message == "" {
				t.Fatalf("got %+v, want code %q and a message", e, tt.wantCode)
			}
		})
	}

	// A device sees its own document only.
	var ds api.DesiredState
	r := h.do("GET", "/v1/device/desired", token(t, b), nil)
	r.decode(t, &ds)
	if ds.DeviceID != "gw-b" {
		t.Fatalf("got the document of %q, want gw-b's", ds.DeviceID)
	}
}

// waitWaiting waits until srv has n long-polls waiting, so that a test's
// write wakes a poll instead of racing it.
func waitWaiting(t testing.TB, srv *hub.Server, n int) {
	t.Helper()
	for range 3000 {
		if srv.Waiting() >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("got %d waiting long-polls, want %d", srv.Waiting(), n)
}
