package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
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
