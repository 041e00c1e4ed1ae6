package topic

import (
	"errors"
	"fmt"
	"net/url"
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
func (b *Bag) Encode() (string, error) {
	v := make(url.Values, len(b.Properties)+8)
	for k, val := range b.Properties {
		if k == "" || strings.HasPrefix(k, "$") {
			return "", fmt.Errorf("%w: application property %q: names must not be empty or start with '$'",
				ErrBadBag, k)
		}
		v.Set(k, val)
	}
	for _, f := range b.system() {
		if *f.val != "" {
			v.Set(f.key, *f.val)
		}
	}
	return strings.ReplaceAll(v.Encode(), "+", "%20"), nil
}

// ParseBag decodes a bag level. A key given twice, an unknown '$' key or a
// broken escape is an error wrapping ErrBadBag.
func ParseBag(s string) (Bag, error) {
	var b Bag
	v, err := url.ParseQuery(s)
	if err != nil {
		return b, fmt.Errorf("%w: %v", ErrBadBag, err)
	}

	sys := b.system()
	for k, vals := range v {
		if len(vals) != 1 {
			return Bag{}, fmt.Errorf("%w: key %q given %d times", ErrBadBag, k, len(vals))
		}
		if !strings.HasPrefix(k, "$") {
			if k == "" {
				return Bag{}, fmt.Errorf("%w: empty key", ErrBadBag)
			}
			if b.Properties == nil {
				b.Properties = make(map[string]string, len(v))
			}
			b.Properties[k] = vals[0]
			continue
		}
		found := false
		for _, f := range sys {
			if f.key == k {
				*f.val, found = vals[0], true
				break
			}
		}
		if !found {
			return Bag{}, fmt.Errorf("%w: unknown system property %q", ErrBadBag, k)
		}
	}
	return b, nil
}

type bagField struct {
	key string
	val *string
}

func (b *Bag) system() []bagField {
	return []bagField{
		{KeyContentType, &b.ContentType},
		{KeyContentEncoding, &b.ContentEncoding},
		{KeyMessageID, &b.MessageID},
		{KeyCorrelationID, &b.CorrelationID},
		{KeyUserID, &b.UserID},
		{KeyConnectionDeviceID, &b.ConnectionDeviceID},
		{KeyConnectionModuleID, &b.ConnectionModuleID},
		{KeyOutputName, &b.OutputName},
	}
}
