package migrate

import (
	"errors"
	"strings"
	"testing"
)

// module is a V1 module entry for test files.
func module(name, loader, entry string) string {
	return `{"name": "` + name + `", "loader": {"name": "` + loader + `", "entrypoint": ` + entry + `}, "args": null}`
}

func native(name string) string {
	return module(name, "native", `{"module.path": "./modules/`+name+`/lib`+name+`.so"}`)
}

func gateway(modules []string, links ...string) string {
	return `{"modules": [` + strings.Join(modules, ",") + `], "links": [` + strings.Join(links, ",") + `]}`
}

// TestParseV1Errors checks that each kind of bad input is refused with its
// sentinel and a message that says where and what.
func TestParseV1Errors(t *testing.T) {
	two := []string{native("a"), native("b")}
	tests := []struct {
		name  string
		input string
		kind  error
		want  []string // substrings of the message
	}{
		{
			name:  "invalid JSON gives line and column",
			input: "{\n  \"modules\": [\n    {\"name\": \"a\",}\n  ]\n}",
			kind:  ErrSyntax,
			want:  []string{"gw.json:3:18:", "invalid character '}'"},
		},
		{
			name:  "truncated file",
			input: `{"modules": [`,
			kind:  ErrSyntax,
			want:  []string{"gw.json:1:13:", "unexpected end of JSON input"},
		},
		{
			name:  "wrong type gives line, column and field",
			input: "{\n\"modules\": {\"name\": \"a\"}\n}",
			kind:  ErrSyntax,
			want:  []string{"gw.json:2:", "modules", "got a JSON object, want an array"},
		},
		{
			name:  "no modules",
			input: `{"links": []}`,
			kind:  ErrStructure,
			want:  []string{`no "modules"`},
		},
		{
			name:  "module without a name",
			input: `{"modules": [{"loader": {"name": "native"}}]}`,
			kind:  ErrStructure,
			want:  []string{"modules[0]", `no "name"`},
		},
		{
			name:  "duplicate module names",
			input: gateway([]string{native("a"), native("b"), native("a")}),
			kind:  ErrDuplicateModule,
			want:  []string{`modules[2] "a"`, "already used by modules[0]"},
		},
		{
			name:  "unknown loader",
			input: gateway([]string{module("py", "python", `{"main.path": "m.py"}`)}),
			kind:  ErrUnknownLoader,
			want:  []string{`modules[0] "py"`, `unknown loader "python"`, "dotnetcore"},
		},
		{
			name: "declared loader of an unknown type",
			input: `{"loaders": [{"type": "lua", "name": "lua"}], "modules": [` +
				module("x", "lua", `{}`) + `]}`,
			kind: ErrUnknownLoader,
			want: []string{`loaders[0] "lua"`, `unknown loader type "lua"`},
		},
		{
			name:  "link from an undefined module",
			input: gateway(two, `{"source": "a", "sink": "b"}`, `{"source": "c", "sink": "b"}`),
			kind:  ErrUndefinedModule,
			want:  []string{`links[1] {"source":"c","sink":"b"}`, `source "c" is not a module`},
		},
		{
			name:  "link to an undefined module",
			input: gateway(two, `{"source": "*", "sink": "logger"}`),
			kind:  ErrUndefinedModule,
			want:  []string{`links[0] {"source":"*","sink":"logger"}`, `sink "logger" is not a module`},
		},
		{
			name:  "undefined module that differs in case",
			input: gateway(two, `{"source": "A", "sink": "b"}`),
			kind:  ErrUndefinedModule,
			want:  []string{`did you mean "a"?`},
		},
		{
			name:  "star as sink",
			input: gateway(two, `{"source": "a", "sink": "*"}`),
			kind:  ErrStructure,
			want:  []string{"links[0]", "source only"},
		},
		{
			name:  "link without a sink",
			input: gateway(two, `{"source": "a"}`),
			kind:  ErrStructure,
			want:  []string{`links[0] {"source":"a"}`, `no "sink"`},
		},
		{
			name:  "link that is not an object",
			input: gateway(two, `"a->b"`),
			kind:  ErrStructure,
			want:  []string{`links[0] "a->b"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw, err := ParseV1("gw.json", []byte(tt.input))
			if err == nil {
				t.Fatalf("got %d modules and no error, want %v", len(gw.Modules), tt.kind)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("got error %q, want kind %q", err, tt.kind)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Errorf("got %T, want *InputError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestParseV1Forms checks the module forms V1 accepted: every loader type,
// a loader declared under another name, the default native loader and the
// 2016 "module name"/"module path" form.
func TestParseV1Forms(t *testing.T) {
	input := `{
	  "loaders": [{"type": "java", "name": "jvm8", "configuration": {"jvm.options": {}}}],
	  "modules": [
	    {"name": "n", "loader": {"name": "native", "entrypoint": {"module.path": "C:\\gw\\n.dll"}}, "args": null},
	    {"name": "j", "loader": {"name": "jvm8", "entrypoint": {"class.name": "com/x/J", "class.path": "j.jar"}}, "args": {"a": 1}},
	    {"name": "d", "loader": {"name": "node", "entrypoint": {"main.path": "d.js"}}, "args": "text"},
	    {"name": "c", "loader": {"name": "dotnetcore", "entrypoint": {"assembly.name": "C", "entry.type": "C.M"}}},
	    {"name": "f", "loader": {"name": "dotnet", "entrypoint": {"entry.type": "F.M"}}},
	    {"name": "o", "loader": {"name": "outprocess", "entrypoint": {"control.id": "/run/o.ctl", "launch": {"path": "/bin/o", "args": []}}}},
	    {"name": "p", "loader": {"name": "outprocess", "entrypoint": {"activation.type": "none", "control.id": "/run/p.ctl"}}},
	    {"name": "q", "args": [1, 2]},
	    {"module name": "legacy", "module path": "./liblegacy.so", "args": {"x": true}}
	  ],
	  "links": [{"source": "*", "sink": "n"}]
	}`
	gw, err := ParseV1("gw.json", []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, loader, typ, entry, key string
		args                          string // JSON, "" for none
	}{
		{"n", "native", "native", `C:\gw\n.dll`, "module.path", ""},
		{"j", "jvm8", "java", "com/x/J", "class.name", `{"a":1}`},
		{"d", "node", "node", "d.js", "main.path", `"text"`},
		{"c", "dotnetcore", "dotnetcore", "C", "assembly.name", ""},
		{"f", "dotnet", "dotnet", "F.M", "entry.type", ""},
		{"o", "outprocess", "outprocess", "/bin/o", "launch.path", ""},
		{"p", "outprocess", "outprocess", "/run/p.ctl", "control.id", ""},
		{"q", "native", "native", "", "", "[1,2]"},
		{"legacy", "native", "native", "./liblegacy.so", "module path", `{"x":true}`},
	}
	if len(gw.Modules) != len(want) {
		t.Fatalf("got %d modules, want %d", len(gw.Modules), len(want))
	}
	for i, w := range want {
		m := gw.Modules[i]
		got := []string{m.Name, m.Loader, m.LoaderType, m.Entrypoint, m.EntrypointKey}
		exp := []string{w.name, w.loader, w.typ, w.entry, w.key}
		for j := range got {
			if got[j] != exp[j] {
				t.Errorf("modules[%d]: got %q, want %q (name, loader, type, entrypoint, key)", i, got, exp)
				break
			}
		}
		args := ""
		if m.Args != nil {
			args = m.Args.JSON()
		}
		if args != w.args {
			t.Errorf("modules[%d] args: got %s, want %s", i, args, w.args)
		}
	}
	if l := gw.Links[0]; l.Source != "*" || l.Sink != "n" {
		t.Errorf("got link %+v, want * -> n", l)
	}
}

// TestValueOrder checks that args keep their member order, and that a key
// given twice keeps its last value, in its first place.
func TestValueOrder(t *testing.T) {
	v, err := decodeValue([]byte(`{"z": 1, "a": {"y": [true, null, "s"], "b": 2.50}, "z": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.JSON(), `{"z":3,"a":{"y":[true,null,"s"],"b":2.50}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestPosition(t *testing.T) {
	data := []byte("ab\ncd\n")
	tests := []struct {
		offset          int64
		wantLine, wantC int
	}{
		{1, 1, 1}, {2, 1, 2}, {4, 2, 1}, {5, 2, 2}, {100, 2, 3},
	}
	for _, tt := range tests {
		line, col := position(data, tt.offset)
		if line != tt.wantLine || col != tt.wantC {
			t.Errorf("offset %d: got %d:%d, want %d:%d", tt.offset, line, col, tt.wantLine, tt.wantC)
		}
	}
}
