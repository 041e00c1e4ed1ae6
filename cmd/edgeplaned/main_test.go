package main

import (
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/runtime/gateway"
)

func TestParseTiming(t *testing.T) {
	tests := []struct {
		in      string
		check   func(gateway.Timing) bool
		wantErr string
	}{
		{in: "", check: func(g gateway.Timing) bool { return g == gateway.DefaultTiming }},
		{in: "tick=300ms,backoff=1s,reset=1h", check: func(g gateway.Timing) bool {
			return g.Tick == 300*time.Millisecond && g.Agent.BackoffBase == time.Second &&
				g.Agent.ResetAfter == time.Hour && g.Heartbeat == gateway.DefaultTiming.Heartbeat
		}},
		{in: "tock=1s", wantErr: `unknown interval "tock"`},
		{in: "tick=soon", wantErr: `tick="soon" is not a positive duration`},
		{in: "tick=-1s", wantErr: "not a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTiming(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !tt.check(got) {
				t.Errorf("got %+v, want the parsed intervals over the defaults", got)
			}
		})
	}
}
