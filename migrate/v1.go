package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors that every *InputError matches through errors.Is, so that
// callers and tests can tell the kinds of bad input apart.
var (
	// ErrSyntax: the file is not valid JSON, or a field has the wrong type.
	ErrSyntax = errors.New("invalid JSON")
	// ErrStructure: a required part is missing (no modules, a module
	// without a name, a link without a source or sink).
	ErrStructure = errors.New("invalid V1 configuration")
	// ErrDuplicateModule: two modules have the same name.
	ErrDuplicateModule = errors.New("duplicate module name")
	// ErrUnknownLoader: a module names a loader that is neither built into
	// V1 nor declared in "loaders", or a declared loader has an unknown type.
	ErrUnknownLoader = errors.New("unknown loader")
	// ErrUndefinedModule: a link names a module the file does not define.
	ErrUndefinedModule = errors.New("link to an undefined module")
	// ErrNameCollision: two V1 module names become the same Edgeplane name.
	ErrNameCollision = errors.New("module names collide")
	// ErrImageMap: the image map file is invalid.
	ErrImageMap = errors.New("invalid image map")
	// ErrDeviceID: the device id given is not a valid Edgeplane id.
	ErrDeviceID = errors.New("invalid device id")
)

// InputError is a problem with a file the user gave. Where names the place
// ("gateway.json:12:5", "links[3] {...}"); Kind is one of the Err* values.
type InputError struct {
	Kind  error
	Where string
	Msg   string
}

func (e *InputError) Error() string {
	if e.Where == "" {
		return e.Kind.Error() + ": " + e.Msg
	}
	return e.Where + ": " + e.Kind.Error() + ": " + e.Msg
}

// Is reports whether target is e's kind.
func (e *InputError) Is(target error) bool { return target == e.Kind }

// Loader types that V1 shipped; each is also the name of a default loader,
// usable without a "loaders" entry.
const (
	LoaderNative     = "native"
	LoaderOutprocess = "outprocess"
	LoaderJava       = "java"
	LoaderNode       = "node"
	LoaderDotnet     = "dotnet"
	LoaderDotnetCore = "dotnetcore"
)

var loaderTypes = map[string]bool{
	LoaderNative: true, LoaderOutprocess: true, LoaderJava: true,
	LoaderNode: true, LoaderDotnet: true, LoaderDotnetCore: true,
}

// entrypointKeys is, per loader type, the entrypoint field that names the
// module's code, most specific first. The first one present is the module's
// Entrypoint.
var entrypointKeys = map[string][]string{
	LoaderNative:     {"module.path"},
	LoaderJava:       {"class.name", "class.path"},
	LoaderNode:       {"main.path"},
	LoaderDotnet:     {"assembly.name", "entry.type"},
	LoaderDotnetCore: {"assembly.name", "entry.type"},
	LoaderOutprocess: {"launch.path", "control.id"},
}

// Gateway is a checked V1 gateway configuration.
type Gateway struct {
	Modules []Module
	Links   []Link
	// ConnectionString is the optional top-level "gateway" section's IoT
	// Hub connection string (V1's remote configuration), or "".
	ConnectionString string
}

// Module is one entry of "modules".
type Module struct {
	Index int    // position in "modules"
	Name  string // V1 name, may contain spaces
	// Loader is the loader name the module uses ("native" when the file
	// gives none) and LoaderType that loader's type.
	Loader, LoaderType string
	// Entrypoint is the value that names the module's code (module.path,
	// class.name, main.path, assembly.name, launch.path or control.id), or
	// "" when the entrypoint has none of them.
	Entrypoint string
	// EntrypointKey is the field Entrypoint came from.
	EntrypointKey string
	// Args is the module's "args", nil when absent or null.
	Args *Value
}

// Where names the module for messages: modules[2] "BLE1".
func (m *Module) Where() string { return fmt.Sprintf("modules[%d] %q", m.Index, m.Name) }

// Link is one entry of "links". Source is "*" for every other module.
type Link struct {
	Index        int
	Source, Sink string
	Text         string // the link as written, compacted
}

// Where names the link for messages: links[3] {"source":"a","sink":"b"}.
func (l *Link) Where() string { return fmt.Sprintf("links[%d] %s", l.Index, l.Text) }

// The raw file shapes. Pointers tell an absent field from an empty one.
type rawGateway struct {
	Gateway *struct {
		ConnectionString string `json:"connection-string"`
	} `json:"gateway"`
	Loaders []rawLoader       `json:"loaders"`
	Modules []rawModule       `json:"modules"`
	Links   []json.RawMessage `json:"links"`
}

type rawLoader struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type rawModule struct {
	Name *string `json:"name"`
	// The 2016 SDK's form: "module name" and "module path", native only.
	LegacyName *string `json:"module name"`
	LegacyPath *string `json:"module path"`
	Loader     *struct {
		Name       string          `json:"name"`
		Entrypoint json.RawMessage `json:"entrypoint"`
	} `json:"loader"`
	Args json.RawMessage `json:"args"`
}

type rawLink struct {
	Source *string `json:"source"`
	Sink   *string `json:"sink"`
}

// ParseV1 reads a V1 gateway JSON file and checks it as V1 would have:
// module names are unique, each module's loader exists, and each link names
// defined modules. name labels positions in errors ("gateway.json").
// Every error it returns is an *InputError.
func ParseV1(name string, data []byte) (*Gateway, error) {
	var raw rawGateway
	if err := unmarshal(name, data, &raw); err != nil {
		return nil, err
	}

	// Loaders: the six defaults, plus or overridden by the file's own.
	loaders := map[string]string{}
	for t := range loaderTypes {
		loaders[t] = t
	}
	for i, l := range raw.Loaders {
		where := fmt.Sprintf("%s: loaders[%d]", name, i)
		if l.Name == "" {
			return nil, &InputError{ErrStructure, where, `loader has no "name"`}
		}
		if !loaderTypes[l.Type] {
			return nil, &InputError{ErrUnknownLoader, where + fmt.Sprintf(" %q", l.Name),
				fmt.Sprintf("unknown loader type %q; V1 loader types are %s", l.Type, knownLoaders())}
		}
		loaders[l.Name] = l.Type
	}

	gw := &Gateway{}
	if raw.Gateway != nil {
		gw.ConnectionString = raw.Gateway.ConnectionString
	}

	// Modules.
	if len(raw.Modules) == 0 {
		return nil, &InputError{ErrStructure, name, `no "modules": a V1 gateway needs at least one module`}
	}
	seen := map[string]int{}
	for i, rm := range raw.Modules {
		m, err := parseModule(name, i, rm, loaders)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[m.Name]; dup {
			return nil, &InputError{ErrDuplicateModule, fmt.Sprintf("%s: %s", name, m.Where()),
				fmt.Sprintf("the name is already used by modules[%d]; V1 module names must be unique", first)}
		}
		seen[m.Name] = i
		gw.Modules = append(gw.Modules, m)
	}

	// Links.
	for i, rl := range raw.Links {
		l, err := parseLink(name, i, rl, seen)
		if err != nil {
			return nil, err
		}
		gw.Links = append(gw.Links, l)
	}
	return gw, nil
}

func parseModule(file string, i int, rm rawModule, loaders map[string]string) (Module, error) {
	where := fmt.Sprintf("%s: modules[%d]", file, i)
	m := Module{Index: i, Loader: LoaderNative}

	// Name, in the current or the 2016 form.
	switch {
	case rm.Name != nil:
		m.Name = *rm.Name
	case rm.LegacyName != nil:
		m.Name = *rm.LegacyName
	}
	if m.Name == "" {
		return m, &InputError{ErrStructure, where, `module has no "name"`}
	}
	where += fmt.Sprintf(" %q", m.Name)

	// Loader: absent means native (as Gateway_CreateFromJson assumed).
	var entry json.RawMessage
	if rm.Loader != nil {
		if rm.Loader.Name != "" {
			m.Loader = rm.Loader.Name
		}
		entry = rm.Loader.Entrypoint
	}
	t, ok := loaders[m.Loader]
	if !ok {
		return m, &InputError{ErrUnknownLoader, where, fmt.Sprintf(
			"unknown loader %q: it is not a V1 loader (%s) and \"loaders\" does not declare it",
			m.Loader, knownLoaders())}
	}
	m.LoaderType = t

	// Entrypoint: the field that names the module's code.
	if rm.Loader == nil && rm.LegacyPath != nil {
		m.Entrypoint, m.EntrypointKey = *rm.LegacyPath, "module path"
	}
	if len(entry) > 0 && !isNull(entry) {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(entry, &fields); err != nil {
			return m, &InputError{ErrStructure, where, `"loader.entrypoint" is not an object`}
		}
		m.Entrypoint, m.EntrypointKey = entrypointOf(t, fields)
	}

	// Args: any JSON value; null is the same as absent.
	if len(rm.Args) > 0 && !isNull(rm.Args) {
		v, err := decodeValue(rm.Args)
		if err != nil {
			return m, &InputError{ErrSyntax, where, "reading args: " + err.Error()}
		}
		m.Args = &v
	}
	return m, nil
}

// entrypointOf picks the entrypoint field that names the code for loader
// type t. The out-of-process loader nests its launch path: {"launch":
// {"path": ...}}.
func entrypointOf(t string, fields map[string]json.RawMessage) (value, key string) {
	if t == LoaderOutprocess {
		var launch struct {
			Path string `json:"path"`
		}
		if raw, ok := fields["launch"]; ok && json.Unmarshal(raw, &launch) == nil && launch.Path != "" {
			return launch.Path, "launch.path"
		}
	}
	for _, k := range entrypointKeys[t] {
		var s string
		if raw, ok := fields[k]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
			return s, k
		}
	}
	return "", ""
}

func parseLink(file string, i int, raw json.RawMessage, modules map[string]int) (Link, error) {
	var buf bytes.Buffer
	_ = json.Compact(&buf, raw) // raw came from a successful decode
	l := Link{Index: i, Text: buf.String()}
	where := file + ": " + l.Where()

	var rl rawLink
	if err := json.Unmarshal(raw, &rl); err != nil {
		return l, &InputError{ErrStructure, where, `a link is an object {"source": "...", "sink": "..."}`}
	}
	if rl.Source == nil || *rl.Source == "" {
		return l, &InputError{ErrStructure, where, `link has no "source"`}
	}
	if rl.Sink == nil || *rl.Sink == "" {
		return l, &InputError{ErrStructure, where, `link has no "sink"`}
	}
	l.Source, l.Sink = *rl.Source, *rl.Sink

	if l.Sink == "*" {
		return l, &InputError{ErrStructure, where, `"*" is allowed as a source only, not as a sink`}
	}
	if _, ok := modules[l.Sink]; !ok {
		return l, &InputError{ErrUndefinedModule, where,
			fmt.Sprintf("sink %q is not a module of this file%s", l.Sink, suggest(l.Sink, modules))}
	}
	if _, ok := modules[l.Source]; !ok && l.Source != "*" {
		return l, &InputError{ErrUndefinedModule, where,
			fmt.Sprintf("source %q is not a module of this file%s", l.Source, suggest(l.Source, modules))}
	}
	return l, nil
}

// suggest names a module that differs from name only in case, the most
// common slip in hand-written links.
func suggest(name string, modules map[string]int) string {
	for m := range modules {
		if strings.EqualFold(m, name) {
			return fmt.Sprintf(" (did you mean %q? names are case-sensitive)", m)
		}
	}
	return ""
}

func knownLoaders() string {
	var names []string
	for t := range loaderTypes {
		names = append(names, t)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// unmarshal decodes data into v and turns encoding/json errors into
// *InputError values that give the line and column.
func unmarshal(name string, data []byte, v any) error {
	err := json.Unmarshal(data, v)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		return &InputError{ErrSyntax, fmt.Sprintf("%s:%d:%d", name, line, col), syn.Error()}
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "the document"
		}
		return &InputError{ErrSyntax, fmt.Sprintf("%s:%d:%d", name, line, col),
			fmt.Sprintf("%s: got a JSON %s, want %s", field, typ.Value, jsonKind(typ.Type.Kind().String()))}
	default:
		return &InputError{ErrSyntax, name, err.Error()}
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	default:
		return goKind
	}
}

// position turns a byte offset as encoding/json reports it (just past the
// offending byte) into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	at := int(offset) - 1
	if at < 0 {
		at = 0
	}
	line = 1 + bytes.Count(data[:at], []byte{'\n'})
	col = at - bytes.LastIndexByte(data[:at], '\n')
	return line, col
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
