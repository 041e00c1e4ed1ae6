package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Kind is the JSON type of a Value.
type Kind int

// The JSON types.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Value is a JSON value that keeps the order of object members, so that the
// generated twin reads in the order the V1 file was written.
type Value struct {
	Kind    Kind
	Bool    bool
	Number  json.Number
	String  string
	Items   []Value  // Array
	Members []Member // Object
}

// Member is one key and value of an object.
type Member struct {
	Key   string
	Value Value
}

// decodeValue decodes one JSON value, keeping member order.
func decodeValue(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readValue(dec)
	if err != nil {
		return v, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, fmt.Errorf("unexpected data after the value")
	}
	return v, nil
}

func readValue(dec *json.Decoder) (Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return Value{}, err
	}
	switch t := tok.(type) {
	case nil:
		return Value{Kind: Null}, nil
	case bool:
		return Value{Kind: Bool, Bool: t}, nil
	case json.Number:
		return Value{Kind: Number, Number: t}, nil
	case string:
		return Value{Kind: String, String: t}, nil
	case json.Delim:
		if t == '[' {
			v := Value{Kind: Array}
			for dec.More() {
				item, err := readValue(dec)
				if err != nil {
					return v, err
				}
				v.Items = append(v.Items, item)
			}
			_, err := dec.Token() // ]
			return v, err
		}
		v := Value{Kind: Object}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return v, err
			}
			item, err := readValue(dec)
			if err != nil {
				return v, err
			}
			v.set(kt.(string), item)
		}
		_, err := dec.Token() // }
		return v, err
	}
	return Value{}, fmt.Errorf("unexpected JSON token %v", tok)
}

// set adds a member, or replaces the value of an existing one: for a key
// given twice the last value wins, as in most JSON readers.
func (v *Value) set(key string, item Value) {
	for i := range v.Members {
		if v.Members[i].Key == key {
			v.Members[i].Value = item
			return
		}
	}
	v.Members = append(v.Members, Member{Key: key, Value: item})
}

// Get returns the member named key of an object, matched case-insensitively
// as V1's modules read their args, and whether it was there.
func (v *Value) Get(key string) (*Value, bool) {
	if v == nil || v.Kind != Object {
		return nil, false
	}
	for i := range v.Members {
		if strings.EqualFold(v.Members[i].Key, key) {
			return &v.Members[i].Value, true
		}
	}
	return nil, false
}

// Str returns the member named key if it is a string, else "".
func (v *Value) Str(key string) string {
	if m, ok := v.Get(key); ok && m.Kind == String {
		return m.String
	}
	return ""
}

// JSON renders v as compact JSON in member order.
func (v Value) JSON() string {
	var b strings.Builder
	v.writeJSON(&b)
	return b.String()
}

func (v Value) writeJSON(b *strings.Builder) {
	switch v.Kind {
	case Null:
		b.WriteString("null")
	case Bool:
		fmt.Fprint(b, v.Bool)
	case Number:
		b.WriteString(v.Number.String())
	case String:
		writeJSONString(b, v.String)
	case Array:
		b.WriteByte('[')
		for i, it := range v.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.writeJSON(b)
		}
		b.WriteByte(']')
	case Object:
		b.WriteByte('{')
		for i, m := range v.Members {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, m.Key)
			b.WriteByte(':')
			m.Value.writeJSON(b)
		}
		b.WriteByte('}')
	}
}

// walk calls fn for every object member in v, depth first, with its path
// ("instructions[2].data").
func (v *Value) walk(path string, fn func(path string, m *Member)) {
	switch v.Kind {
	case Array:
		for i := range v.Items {
			v.Items[i].walk(fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case Object:
		for i := range v.Members {
			m := &v.Members[i]
			p := m.Key
			if path != "" {
				p = path + "." + m.Key
			}
			fn(p, m)
			m.Value.walk(p, fn)
		}
	}
}

// writeJSONString quotes s as JSON without escaping <, > and &, which V1
// sample placeholders ("<<deviceKey>>") are full of.
func writeJSONString(b *strings.Builder, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
