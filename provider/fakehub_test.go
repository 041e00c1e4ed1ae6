package provider

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/edgeplane/edgeplane/hub/api"
)

// fakeHub is an in-memory stand-in for the hub's operator API, for unit
// tests of the provider's error and drift paths. Acceptance tests use the
// real hub (see acc_test.go); this fake only follows the contract of
// hub/api closely enough for those paths.
type fakeHub struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	objects map[string]versioned // by request path
	// fail makes the next requests whose "METHOD path" matches a key
	// answer with the given error.
	fail map[string]fakeFailure
}

type versioned struct {
	body    map[string]any
	version int64
}

type fakeFailure struct {
	status int
	err    api.Error
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{t: t, token: "fake-token", objects: map[string]versioned{},
		fail: map[string]fakeFailure{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) failNext(methodPath string, status int, code, msg, field string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail[methodPath] = fakeFailure{status, api.Error{Code: code, Message: msg, Field: field}}
}

// remove deletes an object out of band, with everything under it.
func (h *fakeHub) remove(path string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.objects {
		if p == path || strings.HasPrefix(p, path+"/") {
			delete(h.objects, p)
		}
	}
}

// set changes one field of an object out of band and bumps its version.
func (h *fakeHub) set(path, field string, value any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o := h.objects[path]
	o.body[field] = value
	o.version++
	o.body["version"] = o.version
	h.objects[path] = o
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+h.token {
		writeJSON(w, 401, api.Error{Code: api.CodeUnauthorized, Message: "bad token"})
		return
	}
	key := r.Method + " " + r.URL.Path
	if f, ok := h.fail[key]; ok {
		delete(h.fail, key)
		writeJSON(w, f.status, f.err)
		return
	}

	p := strings.TrimSuffix(r.URL.Path, "/")
	if p == "/v1/devices" && r.Method == "GET" {
		h.list(w, r)
		return
	}
	parts := strings.Split(strings.TrimPrefix(p, "/v1/devices/"), "/")
	if len(parts) > 1 {
		if _, ok := h.objects["/v1/devices/"+parts[0]]; !ok {
			writeJSON(w, 404, api.Error{Code: api.CodeNotFound, Message: "no such device"})
			return
		}
	}
	isTwin := strings.HasSuffix(p, "/twin")
	if isTwin {
		if _, ok := h.objects[strings.TrimSuffix(p, "/twin")]; !ok {
			writeJSON(w, 404, api.Error{Code: api.CodeNotFound, Message: "no such module"})
			return
		}
	}

	o, exists := h.objects[p]
	switch r.Method {
	case "GET":
		if isTwin && !exists {
			o = versioned{body: map[string]any{"desired": map[string]any{},
				"reported": map[string]any{}}}
			exists = true
		}
		if !exists {
			writeJSON(w, 404, api.Error{Code: api.CodeNotFound, Message: "no such object"})
			return
		}
		body := map[string]any{}
		for k, v := range o.body {
			if k == "password" || k == "client_key" {
				body[k+"_set"] = v != ""
				continue
			}
			body[k] = v
		}
		w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(o.version, 10)))
		writeJSON(w, 200, body)
	case "PUT":
		if m := r.Header.Get("If-Match"); m != "" && m != strconv.Quote(strconv.FormatInt(o.version, 10)) {
			writeJSON(w, 412, api.Error{Code: api.CodeVersionMismatch,
				Message: "the object changed; read it again"})
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, 400, api.Error{Code: api.CodeBadRequest, Message: err.Error()})
			return
		}
		if !exists {
			o = versioned{body: map[string]any{}}
		}
		o.version++
		if isTwin {
			o.body["desired"] = body["desired"]
			o.body["desired_version"] = o.version
			if o.body["reported"] == nil {
				o.body["reported"] = map[string]any{}
			}
		} else {
			if len(parts) == 1 && body["key"] == nil {
				body["key"] = "c2VjcmV0LWtleS1vZi1hdC1sZWFzdC0zMi1ieXRlcy1sb25nIQ=="
				if old, ok := o.body["key"]; ok {
					body["key"] = old
				}
			}
			body["version"] = o.version
			o.body = body
		}
		h.objects[p] = o
		w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(o.version, 10)))
		out := map[string]any{}
		for k, v := range o.body {
			if k != "password" && k != "client_key" {
				out[k] = v
			}
		}
		writeJSON(w, 200, out)
	case "DELETE":
		if !exists {
			writeJSON(w, 404, api.Error{Code: api.CodeNotFound, Message: "no such object"})
			return
		}
		for q := range h.objects {
			if q == p || strings.HasPrefix(q, p+"/") {
				delete(h.objects, q)
			}
		}
		w.WriteHeader(204)
	default:
		writeJSON(w, 405, api.Error{Code: api.CodeBadRequest, Message: "method"})
	}
}

// list answers GET /v1/devices with the devices carrying every ?tag=k=v.
func (h *fakeHub) list(w http.ResponseWriter, r *http.Request) {
	out := api.DeviceList{Devices: []api.Device{}}
	for p, o := range h.objects {
		if strings.Count(p, "/") != 3 {
			continue
		}
		raw, _ := json.Marshal(o.body)
		var d api.Device
		_ = json.Unmarshal(raw, &d)
		match := true
		for _, kv := range r.URL.Query()["tag"] {
			k, v, _ := strings.Cut(kv, "=")
			if d.Tags[k] != v {
				match = false
			}
		}
		if match {
			d.Key = ""
			out.Devices = append(out.Devices, d)
		}
	}
	writeJSON(w, 200, out)
}
