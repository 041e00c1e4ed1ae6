package twin

import (
	"encoding/json"
	"testing"
)

func TestDiffThenMerge(t *testing.T) {
	tests := []struct {
		name, from, to, patch string
	}{
		{"same", `{"a":1}`, `{"a":1}`, `{}`},
		{"add", `{}`, `{"a":1}`, `{"a":1}`},
		{"remove", `{"a":1,"b":2}`, `{"b":2}`, `{"a":null}`},
		{"change", `{"a":1}`, `{"a":"x"}`, `{"a":"x"}`},
		{"nested", `{"r":{"min":1,"max":2}}`, `{"r":{"min":1}}`, `{"r":{"max":null}}`},
		{"object to scalar", `{"r":{"min":1}}`, `{"r":3}`, `{"r":3}`},
		{"scalar to object", `{"r":3}`, `{"r":{"min":1}}`, `{"r":{"min":1}}`},
		{"array replaced", `{"l":[1,2]}`, `{"l":[1]}`, `{"l":[1]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, _ := object(json.RawMessage(tt.from))
			to, _ := object(json.RawMessage(tt.to))
			p := Diff(from, to)
			if got := mustMarshal(t, p); got != canon(t, tt.patch) {
				t.Errorf("Diff: got %s, want %s", got, tt.patch)
			}
			if got := mustMarshal(t, Merge(from, p)); got != canon(t, tt.to) {
				t.Errorf("Merge(from, Diff): got %s, want %s", got, tt.to)
			}
		})
	}
}

func TestObjectRejectsNonObjects(t *testing.T) {
	for _, s := range []string{`[1]`, `3`, `"x"`, `{`} {
		if _, err := object(json.RawMessage(s)); err == nil {
			t.Errorf("object(%s): got no error, want one", s)
		}
	}
	for _, s := range []string{``, `null`, `{}`} {
		if m, err := object(json.RawMessage(s)); err != nil || len(m) != 0 {
			t.Errorf("object(%q): got %v, %v; want an empty object", s, m, err)
		}
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func canon(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return mustMarshal(t, v)
}
