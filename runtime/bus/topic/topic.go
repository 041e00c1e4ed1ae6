// Package topic is the local bus contract: the MQTT topic layout that
// modules, the router and the twin service share, and the property bag that
// carries a message's properties in the last topic level.
//
// It only builds and parses topics and bags; it does not talk MQTT. The
// contract is written for people in docs/bus.md, so that a module in any
// language can follow it with any MQTT client.
//
//	modules/<module>/outputs/<output>/<bag>   module → router (QoS 1)
//	modules/<module>/inputs/<input>/<bag>     router → module (QoS 1)
//	modules/<module>/twin/get/<rid>           module → runtime: send the whole twin
//	modules/<module>/twin/res/<rid>           runtime → module: the whole twin
//	modules/<module>/twin/desired             runtime → module: a desired patch
//	modules/<module>/twin/reported            module → runtime: a reported patch
package topic

import (
	"errors"
	"fmt"
	"strings"
)

// MaxPayload is the largest message body the bus carries (256 KiB). The
// broker refuses larger publishes (message_size_limit) and the router drops
// them as well.
const MaxPayload = 256 << 10

// Root is the first level of every bus topic.
const Root = "modules"

// ValidName reports whether s can be a module, output, input or request id
// level of a bus topic: the hub's identifier syntax
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$, which never contains MQTT's special
// characters '/', '+' and '#'. It is checked for every message the bus
// carries, so it is a loop rather than a regular expression (22 ns against
// 700 ns); a test and a fuzz target hold it to the expression.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Output is the topic a module publishes output messages on.
func Output(module, output string, bag string) string {
	return Root + "/" + module + "/outputs/" + output + "/" + bag
}

// Input is the topic the router publishes a module's input messages on.
func Input(module, input string, bag string) string {
	return Root + "/" + module + "/inputs/" + input + "/" + bag
}

// Inputs is the subscription filter of every input of module.
func Inputs(module string) string { return Root + "/" + module + "/inputs/#" }

// TwinGet is the topic a module asks for its whole twin on; rid is echoed
// in the response topic.
func TwinGet(module, rid string) string { return Root + "/" + module + "/twin/get/" + rid }

// TwinResponse is the topic the whole twin is sent on in answer to TwinGet.
func TwinResponse(module, rid string) string { return Root + "/" + module + "/twin/res/" + rid }

// TwinDesired is the topic desired-property patches are sent on.
func TwinDesired(module string) string { return Root + "/" + module + "/twin/desired" }

// TwinReported is the topic a module sends reported-property patches on.
func TwinReported(module string) string { return Root + "/" + module + "/twin/reported" }

// Subscription filters of the runtime's components.
const (
	AllOutputs     = Root + "/+/outputs/#"
	AllTwinGets    = Root + "/+/twin/get/+"
	AllTwinReports = Root + "/+/twin/reported"
)

// Kind says which kind of bus topic a parsed topic is.
type Kind int

// Topic kinds.
const (
	KindOutput Kind = iota + 1
	KindInput
	KindTwinGet
	KindTwinResponse
	KindTwinDesired
	KindTwinReported
)

// Parsed is a bus topic taken apart. Name is the output or input name for
// messages and the request id for twin gets and responses. Bag is the raw,
// still encoded, property bag.
type Parsed struct {
	Kind   Kind
	Module string
	Name   string
	Bag    string
}

// ErrUnknownTopic is returned by Parse for a topic outside the layout.
var ErrUnknownTopic = errors.New("unknown topic")

// Parse takes a bus topic apart. A message topic may omit its bag level
// when the bag is empty. Names are checked with ValidName.
func Parse(t string) (Parsed, error) {
	lv := strings.Split(t, "/")
	if len(lv) < 3 || lv[0] != Root || !ValidName(lv[1]) {
		return Parsed{}, fmt.Errorf("%w %q", ErrUnknownTopic, t)
	}

	p := Parsed{Module: lv[1]}
	switch {
	case (lv[2] == "outputs" || lv[2] == "inputs") && (len(lv) == 4 || len(lv) == 5):
		p.Kind = KindOutput
		if lv[2] == "inputs" {
			p.Kind = KindInput
		}
		p.Name = lv[3]
		if len(lv) == 5 {
			p.Bag = lv[4]
		}
	case lv[2] == "twin" && len(lv) == 5 && lv[3] == "get":
		p.Kind, p.Name = KindTwinGet, lv[4]
	case lv[2] == "twin" && len(lv) == 5 && lv[3] == "res":
		p.Kind, p.Name = KindTwinResponse, lv[4]
	case lv[2] == "twin" && len(lv) == 4 && lv[3] == "desired":
		p.Kind = KindTwinDesired
	case lv[2] == "twin" && len(lv) == 4 && lv[3] == "reported":
		p.Kind = KindTwinReported
	default:
		return Parsed{}, fmt.Errorf("%w %q", ErrUnknownTopic, t)
	}
	if p.Kind != KindTwinDesired && p.Kind != KindTwinReported && !ValidName(p.Name) {
		return Parsed{}, fmt.Errorf("%w %q: bad name %q", ErrUnknownTopic, t, p.Name)
	}
	return p, nil
}
