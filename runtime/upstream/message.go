package upstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/runtime/queue"
)

// Message is one message for $upstream.
type Message struct {
	Module, Output string // where it came from on the gateway

	ContentType, ContentEncoding, MessageID, CorrelationID, UserID string
	ConnectionDeviceID, ConnectionModuleID                         string

	Properties map[string]string // application properties
	Body       []byte
	Priority   int           // 0 highest .. 9 lowest
	TTL        time.Duration // 0 = the device default from api.Upstream
	EnqueuedAt time.Time     // set by Enqueue when zero
}

// Reserved property bag keys of the system properties.
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

// maxTopicBytes bounds module, output and bag, leaving 1 KiB of the 64 KiB
// MQTT allows for prefix and device.
const maxTopicBytes = 64<<10 - 1<<10

// validate checks what Enqueue cannot store or send.
func (m *Message) validate() error {
	if m.Priority < 0 || m.Priority > queue.MaxPriority {
		return fmt.Errorf("priority %d out of range 0..%d", m.Priority, queue.MaxPriority)
	}
	if m.TTL < 0 {
		return fmt.Errorf("negative time-to-live %s", m.TTL)
	}
	for _, s := range []struct{ what, v string }{{"module", m.Module}, {"output", m.Output}} {
		if s.v == "" || strings.ContainsAny(s.v, "/+#\x00") {
			return fmt.Errorf("%s %q is empty or not a single topic level", s.what, s.v)
		}
	}
	for k := range m.Properties {
		if k == "" || strings.HasPrefix(k, "$") {
			return fmt.Errorf("application property %q: names must be non-empty and not start with '$'", k)
		}
	}
	// A topic name is at most 65535 bytes; keep room for the prefix.
	if l := len(m.Topic("", "")); l > maxTopicBytes {
		return fmt.Errorf("topic with property bag of %d bytes is longer than %d", l, maxTopicBytes)
	}
	return nil
}

// Bag returns the message's property bag: the topic's last level, URL query
// encoded with sorted keys (net/url Values.Encode, but a space is "%20"),
// system properties under their reserved keys. url.ParseQuery decodes it.
func (m *Message) Bag() string {
	v := make(url.Values, len(m.Properties)+8)
	for k, x := range m.Properties {
		v.Set(k, x)
	}
	for _, s := range []struct{ k, v string }{
		{KeyContentType, m.ContentType},
		{KeyContentEncoding, m.ContentEncoding},
		{KeyMessageID, m.MessageID},
		{KeyCorrelationID, m.CorrelationID},
		{KeyUserID, m.UserID},
		{KeyConnectionDeviceID, m.ConnectionDeviceID},
		{KeyConnectionModuleID, m.ConnectionModuleID},
		{KeyOutputName, m.Output},
	} {
		if s.v != "" {
			v.Set(s.k, s.v)
		}
	}
	// Encode writes a space as '+', a wildcard that MQTT forbids in topic
	// names; "%20" means the same to ParseQuery. A '+' in the input is
	// already "%2B", so every '+' left is a space.
	return strings.ReplaceAll(v.Encode(), "+", "%20")
}

// Topic returns the upstream topic of m for device under prefix:
// <prefix>/<device>/messages/<module>/<output>/<bag>.
func (m *Message) Topic(prefix, device string) string {
	return prefix + "/" + device + "/messages/" + m.Module + "/" + m.Output + "/" + m.Bag()
}

// ParseTopic is the inverse of Topic for a known prefix, for receivers and
// tests. Body, Priority, TTL and EnqueuedAt stay zero.
func ParseTopic(prefix, topic string) (device string, m Message, err error) {
	rest, ok := strings.CutPrefix(topic, prefix+"/")
	if !ok {
		return "", m, fmt.Errorf("topic %q does not start with %q", topic, prefix+"/")
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 || parts[1] != "messages" {
		return "", m, fmt.Errorf("topic %q is not <prefix>/<device>/messages/<module>/<output>/<bag>", topic)
	}
	v, err := url.ParseQuery(parts[4])
	if err != nil {
		return "", m, fmt.Errorf("parsing property bag of %q: %w", topic, err)
	}
	m.Module, m.Output = parts[2], parts[3]
	for k := range v {
		x := v.Get(k)
		switch k {
		case KeyContentType:
			m.ContentType = x
		case KeyContentEncoding:
			m.ContentEncoding = x
		case KeyMessageID:
			m.MessageID = x
		case KeyCorrelationID:
			m.CorrelationID = x
		case KeyUserID:
			m.UserID = x
		case KeyConnectionDeviceID:
			m.ConnectionDeviceID = x
		case KeyConnectionModuleID:
			m.ConnectionModuleID = x
		case KeyOutputName:
		default:
			if m.Properties == nil {
				m.Properties = map[string]string{}
			}
			m.Properties[k] = x
		}
	}
	return parts[0], m, nil
}

// The queue stores a message as
//
//	u8 format version (1)
//	i64 EnqueuedAt, Unix nanoseconds
//	9 strings: Module, Output, ContentType, ContentEncoding, MessageID,
//	  CorrelationID, UserID, ConnectionDeviceID, ConnectionModuleID
//	uvarint property count, then key and value strings, keys sorted
//	the body, to the end
//
// where a string is a uvarint length and the bytes. Priority and expiry
// are in the queue's own record header.
const encodingVersion = 1

func (m *Message) fields() []*string {
	return []*string{
		&m.Module, &m.Output, &m.ContentType, &m.ContentEncoding, &m.MessageID,
		&m.CorrelationID, &m.UserID, &m.ConnectionDeviceID, &m.ConnectionModuleID,
	}
}

func (m *Message) encode() []byte {
	n := 16 + len(m.Body)
	for _, f := range m.fields() {
		n += len(*f) + 2
	}
	for k, v := range m.Properties {
		n += len(k) + len(v) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, encodingVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.EnqueuedAt.UnixNano()))
	for _, f := range m.fields() {
		b = appendString(b, *f)
	}
	keys := make([]string, 0, len(m.Properties))
	for k := range m.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, m.Properties[k])
	}
	return append(b, m.Body...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errEncoding = errors.New("malformed queued message")

func decode(b []byte) (Message, error) {
	var m Message
	if len(b) < 9 || b[0] != encodingVersion {
		return m, errEncoding
	}
	m.EnqueuedAt = time.Unix(0, int64(binary.LittleEndian.Uint64(b[1:])))
	b = b[9:]
	str := func() (string, bool) {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return "", false
		}
		s := string(b[k : k+int(l)])
		b = b[k+int(l):]
		return s, true
	}
	for _, f := range m.fields() {
		s, ok := str()
		if !ok {
			return m, errEncoding
		}
		*f = s
	}
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)) {
		return m, errEncoding
	}
	b = b[k:]
	if count > 0 {
		m.Properties = make(map[string]string, count)
	}
	for range count {
		key, ok1 := str()
		val, ok2 := str()
		if !ok1 || !ok2 {
			return m, errEncoding
		}
		m.Properties[key] = val
	}
	m.Body = b
	return m, nil
}
