package topic

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Reserved bag keys of the system properties.
const (
	KeyContentType        = "$.ct"
	KeyContentEncoding    = "$.ce"
	KeyMessageID          = "$.mid"
	KeyCorrelationID      = "$.cid"
	KeyUserID             = "$.uid"
	KeyConnectionDeviceID = "$.cdid"
	KeyConnectionModuleID = "$.cmid"
	KeyOutputName         = "$.on"
)

// Bag is a message's properties: system properties as fields, application
// properties in Properties.
type Bag struct {
	ContentType        string
	ContentEncoding    string
	MessageID          string
	CorrelationID      string
	UserID             string
	ConnectionDeviceID string
	ConnectionModuleID string
	OutputName         string
	Properties         map[string]string
}

// ErrBadBag is returned by ParseBag for a bag that cannot be decoded.
var ErrBadBag = errors.New("malformed property bag")

// Encode returns the bag as a topic level: URL query encoding with sorted
// keys, except that a space is "%20" rather than "+", because '+' is a
// wildcard that MQTT forbids in the topic of a publish. Empty system
// properties are left out. Application property names
// starting with '$' are an error because that prefix is reserved.
//
// The router encodes a bag for every message it delivers, so this writes
// the form of url.Values.Encode directly instead of building a url.Values
// (a fifth of the time and allocations); a test and a fuzz target hold the
// two to the same output.
func (b *Bag) Encode() (string, error) {
	var app []string
	if len(b.Properties) > 0 {
		app = make([]string, 0, len(b.Properties))
		for k := range b.Properties {
			if k == "" || strings.HasPrefix(k, "$") {
				return "", fmt.Errorf("%w: application property %q: names must not be empty or start with '$'",
					ErrBadBag, k)
			}
			app = append(app, k)
		}
		slices.Sort(app)
	}
	sys := b.system() // in key order

	var out strings.Builder
	out.Grow(64 + 32*len(app))
	pairEscapedKey := func(k, v string) {
		if out.Len() > 0 {
			out.WriteByte('&')
		}
		out.WriteString(k)
		out.WriteByte('=')
		writeEscaped(&out, v)
	}
	pair := func(k, v string) {
		if out.Len() > 0 {
			out.WriteByte('&')
		}
		writeEscaped(&out, k)
		out.WriteByte('=')
		writeEscaped(&out, v)
	}
	// Merge the two sorted key lists; system keys start with '$', so
	// application keys that sort before '$' come first.
	i := 0
	for _, f := range sys {
		if *f.val == "" {
			continue
		}
		for ; i < len(app) && app[i] < f.key; i++ {
			pair(app[i], b.Properties[app[i]])
		}
		pairEscapedKey(escapedSystemKey(f.key), *f.val)
	}
	for ; i < len(app); i++ {
		pair(app[i], b.Properties[app[i]])
	}
	return out.String(), nil
}

// writeEscaped writes s query-escaped with spaces as "%20".
// EscapeValue returns s escaped as a bag value, as Encode writes values.
func EscapeValue(s string) string {
	var b strings.Builder
	writeEscaped(&b, s)
	return b.String()
}

func writeEscaped(out *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			continue
		}
		out.WriteString(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"))
		return
	}
	out.WriteString(s)
}

// ParseBag decodes a bag level. A key given twice, an unknown '$' key or a
// broken escape is an error wrapping ErrBadBag. It reads what
// url.ParseQuery reads, without building a url.Values.
func ParseBag(s string) (Bag, error) {
	var b Bag
	sys := b.system()
	var seen uint // bit i: sys[i] was given
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if strings.Contains(kv, ";") {
			return Bag{}, fmt.Errorf("%w: invalid semicolon separator in query", ErrBadBag)
		}
		if kv == "" {
			continue
		}
		rk, rv, _ := strings.Cut(kv, "=")
		k, ok := systemKeyOf(rk) // the usual, escaped, form of a system key
		if !ok {
			var err error
			if k, err = unescape(rk); err != nil {
				return Bag{}, fmt.Errorf("%w: %v", ErrBadBag, err)
			}
		}
		v, err := unescape(rv)
		if err != nil {
			return Bag{}, fmt.Errorf("%w: %v", ErrBadBag, err)
		}
		if !strings.HasPrefix(k, "$") {
			if k == "" {
				return Bag{}, fmt.Errorf("%w: empty key", ErrBadBag)
			}
			if b.Properties == nil {
				b.Properties = make(map[string]string, 4)
			}
			if _, dup := b.Properties[k]; dup {
				return Bag{}, fmt.Errorf("%w: key %q given more than once", ErrBadBag, k)
			}
			b.Properties[k] = v
			continue
		}
		i := slices.IndexFunc(sys[:], func(f bagField) bool { return f.key == k })
		if i < 0 {
			return Bag{}, fmt.Errorf("%w: unknown system property %q", ErrBadBag, k)
		}
		if seen&(1<<i) != 0 {
			return Bag{}, fmt.Errorf("%w: key %q given more than once", ErrBadBag, k)
		}
		seen |= 1 << i
		*sys[i].val = v
	}
	return b, nil
}

// escapedSystemKey returns the system key k as Encode writes it ('$' is
// "%24").
func escapedSystemKey(k string) string { return "%24" + k[1:] }

// systemKeyOf returns the system key whose escaped form is raw.
func systemKeyOf(raw string) (string, bool) {
	if !strings.HasPrefix(raw, "%24.") {
		return "", false
	}
	switch raw[3:] {
	case KeyConnectionDeviceID[1:]:
		return KeyConnectionDeviceID, true
	case KeyContentEncoding[1:]:
		return KeyContentEncoding, true
	case KeyCorrelationID[1:]:
		return KeyCorrelationID, true
	case KeyConnectionModuleID[1:]:
		return KeyConnectionModuleID, true
	case KeyContentType[1:]:
		return KeyContentType, true
	case KeyMessageID[1:]:
		return KeyMessageID, true
	case KeyOutputName[1:]:
		return KeyOutputName, true
	case KeyUserID[1:]:
		return KeyUserID, true
	}
	return "", false
}

// unescape undoes query escaping; most bag keys and values have none.
func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	return url.QueryUnescape(s)
}

type bagField struct {
	key string
	val *string
}

// system returns the system properties in key order (the order Encode
// writes them in).
func (b *Bag) system() [8]bagField {
	return [8]bagField{
		{KeyConnectionDeviceID, &b.ConnectionDeviceID},
		{KeyContentEncoding, &b.ContentEncoding},
		{KeyCorrelationID, &b.CorrelationID},
		{KeyConnectionModuleID, &b.ConnectionModuleID},
		{KeyContentType, &b.ContentType},
		{KeyMessageID, &b.MessageID},
		{KeyOutputName, &b.OutputName},
		{KeyUserID, &b.UserID},
	}
}
