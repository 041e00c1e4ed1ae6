package mergepatch

import "testing"

// The cases are the examples of RFC 7396, appendix A, plus an empty target.
func TestApply(t *testing.T) {
	tests := []struct {
		target, patch, want string
	}{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{``, `{"a":1}`, `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.target+" + "+tt.patch, func(t *testing.T) {
			got, err := Apply([]byte(tt.target), []byte(tt.patch))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestApplyInvalid(t *testing.T) {
	if _, err := Apply([]byte(`{}`), []byte(`{`)); err == nil {
		t.Fatal("got no error for a malformed patch, want one")
	}
}

func TestCanonicalKeepsNumbers(t *testing.T) {
	got, err := Canonical([]byte(`{ "b": 12345678901234567890, "a": 1.50 }`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":1.50,"b":12345678901234567890}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
