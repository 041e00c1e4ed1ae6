// Package route implements the IoT Edge route language:
//
//	[SELECT *] FROM <source> [WHERE <condition>] INTO <sink>
//
// Parse checks a route completely (syntax, function names, argument counts
// and the types of operands that can never work), so that a route that
// parses is safe to evaluate. Route.Match evaluates one route against a
// message; Table evaluates a device's routes together, parsing a JSON body
// at most once per message and delivering a message to each sink once.
//
// The package evaluates and validates only: it does not move messages, and
// depends on the standard library alone, so that the Terraform provider can
// validate routes at plan time. docs/routes.md describes the language.
package route

import (
	"strings"
)

// Route is a parsed route.
type Route struct {
	// Source is the canonical FROM path, such as "/messages/modules/m/*".
	Source string
	// Sink is where matching messages go.
	Sink Sink

	src  source
	cond *expr // nil without WHERE
}

// Message is what a route is evaluated against.
type Message struct {
	// Module and Output name the module and output that sent the message;
	// Module "" means telemetry from a leaf device (source /messages), and
	// Output "" a module message sent without an output.
	Module, Output string
	// TwinChange marks a twin change notification (source
	// /twinChangeNotifications) rather than a message.
	TwinChange bool

	// System properties; "" is undefined.
	ContentType, ContentEncoding, MessageID, CorrelationID, UserID string
	ConnectionDeviceID, ConnectionModuleID                         string

	// Properties are the application properties.
	Properties map[string]string
	Body       []byte
}

// Parse parses one route. On failure the error is *Error, with the line
// and column of the problem.
func Parse(text string) (r *Route, err error) {
	defer func() {
		if x := recover(); x != nil {
			e, ok := x.(*Error)
			if !ok {
				panic(x)
			}
			r, err = nil, e
		}
	}()
	p := newParser(text)
	return p.parseRoute(), nil
}

// MustParse is Parse that panics on error, for routes fixed in code and
// tests.
func MustParse(text string) *Route {
	r, err := Parse(text)
	if err != nil {
		panic("route.MustParse(" + text + "): " + err.Error())
	}
	return r
}

// String returns the route in canonical form: keywords and functions in
// upper case, no SELECT, no comments, single-quoted strings, decimal
// numbers and only the parentheses that precedence needs. Parse(r.String())
// gives an equal route.
func (r *Route) String() string {
	var b strings.Builder
	b.WriteString("FROM ")
	b.WriteString(r.Source)
	if r.cond != nil {
		b.WriteString(" WHERE ")
		r.cond.write(&b)
	}
	b.WriteString(" INTO ")
	b.WriteString(r.Sink.String())
	return b.String()
}

// MarshalText returns the canonical text, so that a Route stored in JSON
// reads as its route.
func (r *Route) MarshalText() ([]byte, error) {
	return []byte(r.String()), nil
}

// UnmarshalText parses a route; the error is *Error.
func (r *Route) UnmarshalText(text []byte) error {
	p, err := Parse(string(text))
	if err != nil {
		return err
	}
	*r = *p
	return nil
}

// Equal reports whether r and o are the same route: same source, condition
// and sink, whatever their spelling, comments or redundant parentheses.
func (r *Route) Equal(o *Route) bool {
	return r.String() == o.String()
}

// Condition returns the WHERE condition in canonical form, or "" when the
// route has none.
func (r *Route) Condition() string {
	if r.cond == nil {
		return ""
	}
	return r.cond.String()
}

// Match reports whether m comes from the route's source and the condition
// is exactly true for it. A condition that is false, null, undefined or
// any other value does not match.
func (r *Route) Match(m *Message) bool {
	c := evalCtx{m: m}
	ok := r.match(&c)
	c.release()
	return ok
}

func (r *Route) match(c *evalCtx) bool {
	if !r.src.matches(c.m) {
		return false
	}
	return r.cond == nil || c.truth(r.cond)
}
