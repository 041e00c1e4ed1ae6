package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub"
	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/client"
	"github.com/edgeplane/edgeplane/hub/store"
	"github.com/edgeplane/edgeplane/hub/store/sqlite"
)

func TestPrintDeviceTable(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	views := []deviceView{
		{
			Device: api.Device{ID: "gw-1", Enabled: true},
			Status: api.DeviceStatus{
				Online: true, LastSeen: now.Add(-4 * time.Second),
				DesiredVersion: 7, AppliedVersion: 7,
				Agent: &api.AgentInfo{Version: "v1.2.0"},
				Modules: map[string]api.ModuleStatus{
					"filter": {Status: api.RuntimeRunning},
					"sensor": {Status: api.RuntimeBackoff},
				},
			},
		},
		{
			Device: api.Device{ID: "gw-2", Enabled: true},
			Status: api.DeviceStatus{DesiredVersion: 3},
		},
		{
			Device: api.Device{ID: "gw-3", Enabled: false},
			Status: api.DeviceStatus{LastSeen: now.Add(-time.Hour), DesiredVersion: 5, AppliedVersion: 4},
		},
	}
	var buf bytes.Buffer
	if err := printDeviceTable(&buf, views, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4:\n%s", len(lines), buf.String())
	}
	for i, want := range [][]string{
		{"DEVICE", "STATE", "MODULES"},
		{"gw-1", "online", "4s ago", "1/2 running (sensor:backoff)", "v1.2.0"},
		{"gw-2", "never seen", "-"},
		{"gw-3", "disabled", "1h0m0s ago", "4 (behind)"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d = %q, want it to contain %q", i, lines[i], w)
			}
		}
	}
}

func TestParseTags(t *testing.T) {
	tests := []struct {
		in      []string
		want    map[string]string
		wantErr bool
	}{
		{[]string{"site=berlin", "tier=edge"}, map[string]string{"site": "berlin", "tier": "edge"}, false},
		{[]string{"empty="}, map[string]string{"empty": ""}, false},
		{[]string{"novalue"}, nil, true},
		{[]string{"=x"}, nil, true},
	}
	for _, tt := range tests {
		got, err := parseTags(tt.in)
		if (err != nil) != tt.wantErr {
			t.Fatalf("parseTags(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
		}
		if err == nil && len(got) != len(tt.want) {
			t.Fatalf("parseTags(%q) = %v, want %v", tt.in, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("parseTags(%q)[%q] = %q, want %q", tt.in, k, got[k], v)
			}
		}
	}
}

// countingHandler counts the requests that reach the hub, by kind.
type countingHandler struct {
	next http.Handler

	mu                          sync.Mutex
	lists, listsWithStatus, get int
	statuses                    int
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	switch {
	case r.URL.Path == "/v1/devices" && r.URL.Query().Get("include") == "status":
		h.listsWithStatus++
	case r.URL.Path == "/v1/devices":
		h.lists++
	case strings.HasSuffix(r.URL.Path, "/status"):
		h.statuses++
	default:
		h.get++
	}
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

// take returns the counts so far and starts again from zero.
func (h *countingHandler) take() (lists, listsWithStatus, statuses, other int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lists, listsWithStatus, statuses, other = h.lists, h.listsWithStatus, h.statuses, h.get
	h.lists, h.listsWithStatus, h.statuses, h.get = 0, 0, 0, 0
	return lists, listsWithStatus, statuses, other
}

// TestDeviceListRequests runs `edgeplane device list` against a real hub
// over SQLite holding 250 devices (three pages at the hub's default of 100)
// and counts what reaches the hub: one status-bearing list request per
// page, no per-device status request. Its output is what listing and then
// reading each status, as the command used to, gives.
func TestDeviceListRequests(t *testing.T) {
	// A hub with 250 devices; every third is at site lab and every fifth
	// has reported. They are written straight into the store, so that only
	// the command's requests are counted.
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const devices, lab = 250, 84
	applied := int64(1)
	for i := range devices {
		id := fmt.Sprintf("gw-%03d", i)
		tags := map[string]string{}
		if i%3 == 0 {
			tags["site"] = "lab"
		}
		if _, _, err := st.PutDevice(ctx, api.Device{ID: id, Tags: tags, Enabled: i != 7},
			store.Precondition{}); err != nil {
			t.Fatal(err)
		}
		if i%5 != 0 {
			continue
		}
		if err := st.ApplyReported(ctx, id, api.ReportedPatch{AppliedVersion: &applied,
			Agent:   &api.AgentInfo{Version: "v1.2.0", StartedAt: time.Now().UTC().Truncate(time.Second)},
			Modules: map[string]*api.ModuleStatus{"sensor": {Status: api.RuntimeRunning}}}); err != nil {
			t.Fatal(err)
		}
		if err := st.Touch(ctx, id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := hub.New(hub.Config{Store: st, Tokens: []string{"list-token"}})
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingHandler{next: srv}
	ts := httptest.NewServer(counter)
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	c, err := client.New(client.Config{Endpoint: ts.URL, Token: "list-token"})
	if err != nil {
		t.Fatal(err)
	}

	// The flags of one cobra command keep their values from run to run, so
	// the runs only ever add flags: table, then JSON, then JSON by tag.
	for _, tt := range []struct {
		name  string
		args  []string
		tags  map[string]string
		pages int
	}{
		{"table", nil, nil, 3},
		{"json", []string{"--json"}, nil, 3},
		{"json by tag", []string{"--json", "--tag", "site=lab"}, map[string]string{"site": "lab"}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			rootCmd.SetOut(&out)
			rootCmd.SetArgs(append([]string{"device", "list", "--endpoint", ts.URL, "--token", "list-token"},
				tt.args...))
			if err := rootCmd.ExecuteContext(ctx); err != nil {
				t.Fatal(err)
			}
			lists, withStatus, statuses, other := counter.take()
			if withStatus != tt.pages || lists+statuses+other != 0 {
				t.Errorf("got %d list requests with status, %d without, %d status and %d other requests; "+
					"want %d with status and nothing else", withStatus, lists, statuses, other, tt.pages)
			}

			want := oldDeviceList(t, c, tt.tags, slices.Contains(tt.args, "--json"))
			if got := sinceLastSeen(out.String()); got != sinceLastSeen(want) {
				t.Errorf("got output\n%s\nwant, as listing and reading each status gives,\n%s", got, want)
			}
			n := devices
			if tt.tags != nil {
				n = lab
			}
			if lines := strings.Count(want, "\"device\": {"); tt.args != nil && lines != n {
				t.Errorf("got %d devices in the JSON, want %d", lines, n)
			}
			counter.take()
		})
	}
}

// oldDeviceList prints the devices the way `device list` did before it
// asked for statuses in the list: list, then one status request a device.
func oldDeviceList(t *testing.T, c *client.Client, tags map[string]string, asJSON bool) string {
	t.Helper()
	devs, err := c.AllDevices(t.Context(), tags)
	if err != nil {
		t.Fatal(err)
	}
	var views []deviceView
	for _, d := range devs {
		s, err := c.GetDeviceStatus(t.Context(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		d.Key = ""
		views = append(views, deviceView{Device: d, Status: *s})
	}
	var out bytes.Buffer
	if asJSON {
		err = writeJSON(&out, views)
	} else {
		err = printDeviceTable(&out, views, time.Now())
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// sinceLastSeen blanks the table's "4s ago": two printings a moment apart
// may round it differently. The JSON has absolute times and is compared
// whole.
func sinceLastSeen(s string) string {
	return regexp.MustCompile(`[0-9hms.]+ ago`).ReplaceAllString(s, "_ ago")
}
