package route

import (
	"encoding/json"
	"testing"
)

// benchBody is a typical telemetry body of about 600 bytes.
var benchBody = []byte(`{
  "deviceId": "press-17",
  "timestamp": "2026-12-03T17:00:00Z",
  "machine": {
    "id": "line-3/press-17",
    "status": "running",
    "temperature": {"value": 71.5, "unit": "C"},
    "pressure": {"value": 101.3, "unit": "kPa"},
    "sensors": [
      {"name": "spindle", "vibration": 0.12, "ok": true},
      {"name": "motor", "vibration": 0.31, "ok": true},
      {"name": "bearing", "vibration": 0.97, "ok": false, "tags": ["hot", "noisy"]}
    ]
  },
  "ambient": {"temperature": 22.4, "humidity": 41},
  "counters": [1024, 2048, 4096, 8192],
  "note": "shift B \u00e9quipe 2"
}`)

func benchMessage() *Message {
	return &Message{
		Module: "sensor", Output: "telemetry",
		ContentType: "application/json", ContentEncoding: "utf-8",
		MessageID: "m-1", ConnectionDeviceID: "gw-1", ConnectionModuleID: "sensor",
		Properties: map[string]string{"alert": "high", "site": "lyon", "level": "7"},
		Body:       benchBody,
	}
}

// Routes of the benchmarks, and of the allocation tests that guard them.
const (
	routeNoWhere    = `FROM /messages/modules/sensor/* INTO $upstream`
	routeProperties = `FROM /messages/modules/sensor/* WHERE alert = 'high' AND site <> 'paris' AND level >= 5 ` +
		`AND $connectionModuleId = 'sensor' INTO $upstream`
	routeBody = `FROM /messages/modules/sensor/* WHERE $body.machine.sensors[2].vibration > 0.5 ` +
		`AND $body.machine.status = 'running' INTO $upstream`
)

// BenchmarkEvaluate measures evaluations per second of three routes and,
// as the baseline, encoding/json decoding the same body into a map. Each
// $body evaluation parses the body afresh, as for a new message.
func BenchmarkEvaluate(b *testing.B) {
	m := benchMessage()
	for _, bc := range []struct{ name, route string }{
		{"no-where", routeNoWhere},
		{"properties", routeProperties},
		{"body", routeBody},
	} {
		r := MustParse(bc.route)
		if !r.Match(m) {
			b.Fatalf("%s does not match the benchmark message", bc.route)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !r.Match(m) {
					b.Fatal("no match")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
		})
	}
	b.Run("baseline-json-unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v map[string]any
			if err := json.Unmarshal(m.Body, &v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	})
}

// BenchmarkTable measures a table of routes that share one body parse.
func BenchmarkTable(b *testing.B) {
	m := benchMessage()
	tab := NewTable([]Entry{
		{Name: "a", Route: MustParse(routeProperties), Priority: 1},
		{Name: "b", Route: MustParse(`FROM /messages/* WHERE $body.ambient.humidity > 40 INTO BrokeredEndpoint("/modules/x/inputs/in")`)},
		{Name: "c", Route: MustParse(`FROM /messages/* WHERE $body.machine.temperature.value > 70 INTO BrokeredEndpoint("/modules/y/inputs/in")`)},
		{Name: "d", Route: MustParse(routeBody), Priority: 2},
	})
	dst := make([]Delivery, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		dst = tab.Deliveries(m, dst[:0])
	}
	if len(dst) != 3 {
		b.Fatalf("got %d deliveries, want 3", len(dst))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
}
