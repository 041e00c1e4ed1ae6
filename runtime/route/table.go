package route

import (
	"sort"
	"time"
)

// Entry is a named route of a device with its delivery settings.
type Entry struct {
	Name     string
	Route    *Route
	Priority int           // 0 (highest) to 9; lower wins
	TTL      time.Duration // how long an undelivered message is kept; 0: the default
}

// Delivery is one sink a message goes to, with the settings of the route
// that won it.
type Delivery struct {
	Sink     Sink
	Priority int
	TTL      time.Duration
	Route    string // the winning entry's name
}

// Table evaluates a device's routes together. It is immutable and safe for
// concurrent use.
type Table struct {
	entries []Entry
}

// NewTable makes a table of the entries; entries with a nil Route are
// ignored. The entries are ordered by priority, then name, so that the
// result never depends on the order they are given in.
func NewTable(entries []Entry) *Table {
	t := &Table{entries: make([]Entry, 0, len(entries))}
	for _, e := range entries {
		if e.Route != nil {
			t.entries = append(t.entries, e)
		}
	}
	sort.SliceStable(t.entries, func(i, j int) bool {
		a, b := t.entries[i], t.entries[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Name < b.Name
	})
	return t
}

// Len returns the number of routes in the table.
func (t *Table) Len() int { return len(t.entries) }

// Deliveries appends to dst every sink m goes to, each sink once, with the
// best (lowest) priority among the matching routes to that sink and that
// route's TTL and name; between routes of equal priority the first by name
// wins. The appended deliveries are ordered by priority, then sink
// ($upstream first, then module inputs by module and input name).
//
// The body is parsed at most once however many routes query it, and routes
// to a sink that already has its delivery are not evaluated at all. With a
// dst of enough capacity and no $body query, Deliveries allocates nothing.
func (t *Table) Deliveries(m *Message, dst []Delivery) []Delivery {
	c := evalCtx{m: m}
	start := len(dst)
	for i := range t.entries {
		e := &t.entries[i]
		if hasSink(dst[start:], e.Route.Sink) {
			continue // an earlier entry, of better or equal priority, won it
		}
		if e.Route.match(&c) {
			dst = append(dst, Delivery{Sink: e.Route.Sink, Priority: e.Priority, TTL: e.TTL, Route: e.Name})
		}
	}
	c.release()

	// Insertion sort: a message goes to few sinks, and sort.Slice would
	// allocate.
	out := dst[start:]
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && deliveryLess(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return dst
}

func hasSink(ds []Delivery, s Sink) bool {
	for i := range ds {
		if ds[i].Sink == s {
			return true
		}
	}
	return false
}

func deliveryLess(a, b Delivery) bool {
	if a.Priority != b.Priority {
		return a.Priority < b.Priority
	}
	return a.Sink.less(b.Sink)
}
