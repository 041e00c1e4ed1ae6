package migrate

import (
	"testing"

	"github.com/edgeplane/edgeplane/runtime/route"
)

// TestRoutesParse checks every route the tool writes or suggests, for the
// examples and for module names with '.', '-' and '_', with the route
// language parser the gateway and the provider use.
func TestRoutesParse(t *testing.T) {
	var plans []*Plan
	for _, ex := range examples {
		plans = append(plans, migrateExample(t, ex.name, ex.images, ex.deviceID))
	}
	plans = append(plans, plan(t, gateway(
		[]string{native("mod.v2"), native("out of process"), native("a_b"), iothub("IoTHub", "h", "s"), identityMap},
		`{"source": "*", "sink": "a_b"}`, `{"source": "mod.v2", "sink": "IoTHub"}`,
		`{"source": "out of process", "sink": "mapping"}`, `{"source": "mapping", "sink": "IoTHub"}`,
	), Options{DeviceID: "gw"}))

	last := plans[len(plans)-1]
	if len(last.Routes) != 3 || len(last.Suggestions) != 1 {
		t.Fatalf("got %d routes and %d suggestions, want 3 and 1", len(last.Routes), len(last.Suggestions))
	}
	for _, p := range plans {
		for _, r := range p.Routes {
			parsed, err := route.Parse(r.Text)
			if err != nil {
				t.Errorf("route %s: %v", r.Text, err)
				continue
			}
			if want := "/messages/modules/" + r.Source.Name + "/*"; parsed.Source != want {
				t.Errorf("route %s: got source %q, want %q", r.Text, parsed.Source, want)
			}
			want := route.Sink{Kind: route.SinkUpstream}
			if r.Sink != nil {
				want = route.Sink{Kind: route.SinkModuleInput, Module: r.Sink.Name, Input: SinkInput}
			}
			if parsed.Sink != want {
				t.Errorf("route %s: got sink %+v, want %+v", r.Text, parsed.Sink, want)
			}
		}
		for _, s := range p.Suggestions {
			if _, err := route.Parse(s.Route); err != nil {
				t.Errorf("suggested route %s: %v", s.Route, err)
			}
		}
	}
}
