package hubsync

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// checkToken fails the request unless it carries a valid token for "dev1".
func checkToken(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Device ")
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	if id, err := api.VerifyDeviceToken(tok, testKey, time.Now()); err != nil || id != "dev1" {
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	return true
}

func newClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(Config{URL: url, DeviceID: "dev1", Key: testKey, Wait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPoll(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    int64 // version, 0 for none
		wantErr error
	}{
		{name: "newer", status: 200, body: `{"device_id":"dev1","version":7}`, want: 7},
		{name: "not modified", status: 304},
		{name: "malformed", status: 200, body: `{"version":"x"}`, wantErr: ErrMalformed},
		{name: "server error", status: 503, body: `{"code":"unavailable","message":"m"}`,
			wantErr: &StatusError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !checkToken(w, r) {
					return
				}
				if got := r.URL.Query().Get("after"); got != "5" {
					t.Errorf("got after=%q, want 5", got)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()

			ds, err := newClient(t, srv.URL).Poll(t.Context(), 5)
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
			case *StatusError:
				var se *StatusError
				if !errors.As(err, &se) || se.StatusCode != tt.status {
					t.Fatalf("got error %v, want a StatusError %d", err, tt.status)
				}
				return
			default:
				if !errors.Is(err, want) {
					t.Fatalf("got error %v, want %v", err, want)
				}
				return
			}
			var got int64
			if ds != nil {
				got = ds.Version
			}
			if got != tt.want {
				t.Errorf("got version %d, want %d", got, tt.want)
			}
		})
	}
}

// TestReporterOrderAndRetry checks that patches arrive in order, that
// failures are retried and that status patches queued while offline merge.
func TestReporterOrderAndRetry(t *testing.T) {
	var mu sync.Mutex
	var got []api.ReportedPatch
	down := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !checkToken(w, r) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var p api.ReportedPatch
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("decoding patch: %v", err)
		}
		got = append(got, p)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	rep := NewReporter(newClient(t, srv.URL), slog.New(slog.NewTextHandler(io.Discard, nil)))
	rep.MinBackoff, rep.MaxBackoff = time.Millisecond, 5*time.Millisecond
	v1, v2 := int64(1), int64(2)
	rep.Report(api.ReportedPatch{AppliedVersion: &v1})
	rep.Report(api.ReportedPatch{Twins: map[string]json.RawMessage{"m": json.RawMessage(`{"a":1}`)}})
	rep.Report(api.ReportedPatch{AppliedVersion: &v2})
	rep.Report(api.ReportedPatch{Modules: map[string]*api.ModuleStatus{"m": {Status: "running"}}})

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { rep.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// Let it fail a few times, then bring the hub up.
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	down = false
	mu.Unlock()

	deadline := time.Now().Add(10 * time.Second)
	for rep.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("got %d patches, want 3: %+v", len(got), got)
	}
	if got[0].AppliedVersion == nil || *got[0].AppliedVersion != 1 {
		t.Errorf("got first patch %+v, want applied_version 1", got[0])
	}
	if string(got[1].Twins["m"]) != `{"a":1}` {
		t.Errorf("got second patch %+v, want the twin patch", got[1])
	}
	if got[2].AppliedVersion == nil || *got[2].AppliedVersion != 2 || got[2].Modules["m"] == nil {
		t.Errorf("got third patch %+v, want applied_version 2 merged with module m", got[2])
	}
}
