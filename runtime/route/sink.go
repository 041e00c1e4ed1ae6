package route

import "strings"

// SinkKind is the kind of place a route delivers to.
type SinkKind int

const (
	// SinkUpstream is $upstream: the cloud, through store-and-forward.
	SinkUpstream SinkKind = iota + 1
	// SinkModuleInput is BrokeredEndpoint("/modules/<m>/inputs/<i>").
	SinkModuleInput
)

// Sink is where a route delivers: upstream, or an input of a module.
// Module and Input are set for SinkModuleInput only.
type Sink struct {
	Kind          SinkKind
	Module, Input string
}

// String returns the sink as written in a route: "$upstream" or
// `BrokeredEndpoint("/modules/m/inputs/i")`.
func (s Sink) String() string {
	switch s.Kind {
	case SinkUpstream:
		return "$upstream"
	case SinkModuleInput:
		return `BrokeredEndpoint("` + s.Endpoint() + `")`
	}
	return "<invalid sink>"
}

// Endpoint returns the path of a module input, "/modules/m/inputs/i", or ""
// for other sinks.
func (s Sink) Endpoint() string {
	if s.Kind != SinkModuleInput {
		return ""
	}
	return "/modules/" + s.Module + "/inputs/" + s.Input
}

// parseEndpoint reads "/modules/<m>/inputs/<i>" ("modules" and "inputs" in
// any case).
func parseEndpoint(p string) (Sink, bool) {
	seg := strings.Split(p, "/")
	if len(seg) != 5 || seg[0] != "" || !strings.EqualFold(seg[1], "modules") ||
		!strings.EqualFold(seg[3], "inputs") || !validName(seg[2]) || !validName(seg[4]) {
		return Sink{}, false
	}
	return Sink{Kind: SinkModuleInput, Module: seg[2], Input: seg[4]}, true
}

// less orders sinks: $upstream first, then module inputs by module and
// input.
func (s Sink) less(t Sink) bool {
	if s.Kind != t.Kind {
		return s.Kind < t.Kind
	}
	if s.Module != t.Module {
		return s.Module < t.Module
	}
	return s.Input < t.Input
}
