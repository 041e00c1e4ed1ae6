package route

import "strings"

// sourceKind is what a route's FROM clause selects.
type sourceKind uint8

const (
	srcAll           sourceKind = iota + 1 // /*
	srcMessages                            // /messages/*
	srcModules                             // /messages/modules/*
	srcModule                              // /messages/modules/<m>/*
	srcModuleOutputs                       // /messages/modules/<m>/outputs/*
	srcOutput                              // /messages/modules/<m>/outputs/<o>
	srcTwinChanges                         // /twinChangeNotifications
)

// source is a parsed FROM clause.
type source struct {
	kind           sourceKind
	module, output string
}

// parseSource reads a source path. Keywords ("messages", "modules",
// "outputs", "twinChangeNotifications") match in any case; a trailing "*"
// or "/" changes nothing, as sources match by path prefix. It reports false
// for a path that is not one of the documented forms.
func parseSource(p string) (source, bool) {
	if !strings.HasPrefix(p, "/") {
		return source{}, false
	}
	p = strings.TrimRight(p, "/*")
	if strings.Contains(p, "*") || strings.Contains(p, "//") {
		return source{}, false
	}
	if p == "" {
		return source{kind: srcAll}, true
	}
	seg := strings.Split(p[1:], "/")
	switch {
	case len(seg) == 1 && strings.EqualFold(seg[0], "twinChangeNotifications"):
		return source{kind: srcTwinChanges}, true
	case !strings.EqualFold(seg[0], "messages"):
		return source{}, false
	case len(seg) == 1:
		return source{kind: srcMessages}, true
	case !strings.EqualFold(seg[1], "modules"):
		return source{}, false
	case len(seg) == 2:
		return source{kind: srcModules}, true
	case !validName(seg[2]):
		return source{}, false
	case len(seg) == 3:
		return source{kind: srcModule, module: seg[2]}, true
	case !strings.EqualFold(seg[3], "outputs"):
		return source{}, false
	case len(seg) == 4:
		return source{kind: srcModuleOutputs, module: seg[2]}, true
	case len(seg) == 5 && validName(seg[4]):
		return source{kind: srcOutput, module: seg[2], output: seg[4]}, true
	}
	return source{}, false
}

// validName reports whether s can name a module, an output or an input:
// not empty, and none of / * + # quotes, backslashes, white space or
// control characters.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7F || strings.ContainsRune(`/*+#'"\`, r) {
			return false
		}
	}
	return true
}

// String returns the canonical path.
func (s source) String() string {
	switch s.kind {
	case srcAll:
		return "/*"
	case srcMessages:
		return "/messages/*"
	case srcModules:
		return "/messages/modules/*"
	case srcModule:
		return "/messages/modules/" + s.module + "/*"
	case srcModuleOutputs:
		return "/messages/modules/" + s.module + "/outputs/*"
	case srcOutput:
		return "/messages/modules/" + s.module + "/outputs/" + s.output
	case srcTwinChanges:
		return "/twinChangeNotifications"
	}
	return ""
}

// matches reports whether a message comes from this source. Module and
// output names compare without regard to case, as source paths do.
func (s source) matches(m *Message) bool {
	switch s.kind {
	case srcAll:
		return true
	case srcTwinChanges:
		return m.TwinChange
	}
	if m.TwinChange {
		return false
	}
	switch s.kind {
	case srcMessages:
		return true
	case srcModules:
		return m.Module != ""
	case srcModule:
		return m.Module != "" && strings.EqualFold(m.Module, s.module)
	case srcModuleOutputs:
		return m.Module != "" && m.Output != "" && strings.EqualFold(m.Module, s.module)
	case srcOutput:
		return m.Module != "" && strings.EqualFold(m.Module, s.module) &&
			strings.EqualFold(m.Output, s.output)
	}
	return false
}
