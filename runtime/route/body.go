package route

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// bodyDoc is a message body parsed once into a flat list of nodes (a
// "tape"): each node records its kind, where its text lies and where the
// node after its subtree starts, so that a $body path skips whole subtrees
// without decoding them. Strings and numbers are decoded only when a route
// reads them. Docs are pooled: parsing allocates nothing once warm.
type bodyDoc struct {
	data  []byte  // the UTF-8 JSON text: the body itself or utf8buf
	utf8  []byte  // the body transcoded from UTF-16 or UTF-32
	nodes []jnode // the tape; nodes[0] is the root
	pos   int     // parse position in data
}

// jnode is one JSON value. For an object, its members follow it as key and
// value node pairs; for an array, its elements follow it.
type jnode struct {
	kind       jkind
	start, end int32 // the text: string contents without quotes, number digits
	next       int32 // index of the node after this subtree
}

type jkind uint8

const (
	jNull jkind = iota
	jFalse
	jTrue
	jNum
	jStr
	jStrEsc // a string with escapes, decoded on use
	jObj
	jArr
)

// maxDepth bounds nesting so that a hostile body cannot exhaust the stack.
const maxDepth = 512

var docPool = sync.Pool{New: func() any { return new(bodyDoc) }}

func getDoc() *bodyDoc { return docPool.Get().(*bodyDoc) }

func putDoc(d *bodyDoc) {
	if cap(d.nodes) > 1<<16 || cap(d.utf8) > 1<<20 {
		return // let the garbage collector take unusually large buffers
	}
	d.data = nil
	d.nodes = d.nodes[:0]
	docPool.Put(d)
}

// load parses the body of m. It reports false when $body is undefined for
// m: the content type is not application/json, the content encoding is not
// UTF-8, UTF-16 or UTF-32, or the body is not valid JSON.
func (d *bodyDoc) load(m *Message) bool {
	if !isJSONContentType(m.ContentType) || len(m.Body) > math.MaxInt32/2 {
		return false
	}
	switch normalizeEncoding(m.ContentEncoding) {
	case "utf-8":
		d.data = m.Body
		if len(d.data) >= 3 && d.data[0] == 0xEF && d.data[1] == 0xBB && d.data[2] == 0xBF {
			d.data = d.data[3:] // byte order mark
		}
	case "utf-16":
		if !d.transcode16(m.Body) {
			return false
		}
	case "utf-32":
		if !d.transcode32(m.Body) {
			return false
		}
	default:
		return false
	}
	d.nodes = d.nodes[:0]
	d.pos = 0
	if !d.parseValue(0) {
		return false
	}
	d.skipSpace()
	return d.pos == len(d.data)
}

// isJSONContentType reports whether the media type is application/json,
// ignoring case and parameters.
func isJSONContentType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), "application/json")
}

// normalizeEncoding maps the accepted spellings of the content encoding to
// "utf-8", "utf-16" or "utf-32"; anything else to "".
func normalizeEncoding(enc string) string {
	switch {
	case strings.EqualFold(enc, "utf-8"), strings.EqualFold(enc, "utf8"):
		return "utf-8"
	case strings.EqualFold(enc, "utf-16"), strings.EqualFold(enc, "utf-16le"),
		strings.EqualFold(enc, "utf-16be"), strings.EqualFold(enc, "utf16"):
		return "utf-16"
	case strings.EqualFold(enc, "utf-32"), strings.EqualFold(enc, "utf-32le"),
		strings.EqualFold(enc, "utf-32be"), strings.EqualFold(enc, "utf32"):
		return "utf-32"
	}
	return ""
}

// transcode16 converts UTF-16 to UTF-8. The byte order comes from a byte
// order mark, else from the first character (JSON starts with ASCII).
func (d *bodyDoc) transcode16(b []byte) bool {
	if len(b)%2 != 0 {
		return false
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch {
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		order, b = binary.BigEndian, b[2:]
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		b = b[2:]
	case len(b) >= 2 && b[0] == 0 && b[1] != 0:
		order = binary.BigEndian
	}
	out := d.utf8[:0]
	for i := 0; i < len(b); i += 2 {
		r := rune(order.Uint16(b[i:]))
		if utf16.IsSurrogate(r) && i+3 < len(b) {
			if c := utf16.DecodeRune(r, rune(order.Uint16(b[i+2:]))); c != utf8.RuneError {
				r = c
				i += 2
			}
		}
		out = utf8.AppendRune(out, r)
	}
	d.utf8, d.data = out, out
	return true
}

// transcode32 converts UTF-32 to UTF-8, finding the byte order as
// transcode16 does.
func (d *bodyDoc) transcode32(b []byte) bool {
	if len(b)%4 != 0 {
		return false
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch {
	case len(b) >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF:
		order, b = binary.BigEndian, b[4:]
	case len(b) >= 4 && b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0:
		b = b[4:]
	case len(b) >= 4 && b[0] == 0 && b[3] != 0:
		order = binary.BigEndian
	}
	out := d.utf8[:0]
	for i := 0; i < len(b); i += 4 {
		out = utf8.AppendRune(out, rune(order.Uint32(b[i:])))
	}
	d.utf8, d.data = out, out
	return true
}

func (d *bodyDoc) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// parseValue appends the value at pos and its subtree to the tape.
func (d *bodyDoc) parseValue(depth int) bool {
	if depth > maxDepth {
		return false
	}
	d.skipSpace()
	if d.pos >= len(d.data) {
		return false
	}
	idx := len(d.nodes)
	d.nodes = append(d.nodes, jnode{start: int32(d.pos)})
	switch c := d.data[d.pos]; {
	case c == '{':
		d.nodes[idx].kind = jObj
		d.pos++
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			break
		}
		for {
			d.skipSpace()
			if d.pos >= len(d.data) || d.data[d.pos] != '"' || !d.parseValue(depth+1) {
				return false
			}
			d.skipSpace()
			if d.pos >= len(d.data) || d.data[d.pos] != ':' {
				return false
			}
			d.pos++
			if !d.parseValue(depth + 1) {
				return false
			}
			d.skipSpace()
			if d.pos >= len(d.data) {
				return false
			}
			if d.data[d.pos] == '}' {
				d.pos++
				break
			}
			if d.data[d.pos] != ',' {
				return false
			}
			d.pos++
		}
	case c == '[':
		d.nodes[idx].kind = jArr
		d.pos++
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			break
		}
		for {
			if !d.parseValue(depth + 1) {
				return false
			}
			d.skipSpace()
			if d.pos >= len(d.data) {
				return false
			}
			if d.data[d.pos] == ']' {
				d.pos++
				break
			}
			if d.data[d.pos] != ',' {
				return false
			}
			d.pos++
		}
	case c == '"':
		if !d.parseString(idx) {
			return false
		}
	case c == 't':
		d.nodes[idx].kind = jTrue
		if !d.literal("true") {
			return false
		}
	case c == 'f':
		d.nodes[idx].kind = jFalse
		if !d.literal("false") {
			return false
		}
	case c == 'n':
		d.nodes[idx].kind = jNull
		if !d.literal("null") {
			return false
		}
	default:
		end := jsonNumberLen(d.data, d.pos)
		if end < 0 {
			return false
		}
		d.nodes[idx].kind = jNum
		d.pos = end
	}
	if d.nodes[idx].kind != jStr && d.nodes[idx].kind != jStrEsc {
		d.nodes[idx].end = int32(d.pos)
	}
	d.nodes[idx].next = int32(len(d.nodes))
	return true
}

func (d *bodyDoc) literal(word string) bool {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return false
	}
	d.pos += len(word)
	return true
}

// parseString checks the string at pos and records its contents.
func (d *bodyDoc) parseString(idx int) bool {
	n := &d.nodes[idx]
	n.kind = jStr
	d.pos++
	n.start = int32(d.pos)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			n.end = int32(d.pos)
			d.pos++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			n.kind = jStrEsc
			if d.pos+1 >= len(d.data) {
				return false
			}
			switch d.data[d.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.pos += 2
			case 'u':
				if d.pos+6 > len(d.data) {
					return false
				}
				for _, h := range d.data[d.pos+2 : d.pos+6] {
					if !isHex(h) {
						return false
					}
				}
				d.pos += 6
			default:
				return false
			}
		default:
			d.pos++
		}
	}
	return false
}

// field returns the node of the member name of the object at n, or -1.
// With duplicate names the last wins, as with encoding/json.
func (d *bodyDoc) field(n int32, name string) int32 {
	if d.nodes[n].kind != jObj {
		return -1
	}
	found := int32(-1)
	for i := n + 1; i < d.nodes[n].next; i = d.nodes[i+1].next {
		if d.keyEquals(i, name) {
			found = i + 1
		}
	}
	return found
}

func (d *bodyDoc) keyEquals(i int32, name string) bool {
	k := d.nodes[i]
	if k.kind == jStr {
		return string(d.data[k.start:k.end]) == name
	}
	return d.decodeString(k) == name
}

// index returns the node of element i of the array at n, or -1.
func (d *bodyDoc) index(n int32, i int) int32 {
	if d.nodes[n].kind != jArr {
		return -1
	}
	for e := n + 1; e < d.nodes[n].next; e = d.nodes[e].next {
		if i == 0 {
			return e
		}
		i--
	}
	return -1
}

// value converts node n to a value.
func (d *bodyDoc) value(n int32) value {
	node := d.nodes[n]
	switch node.kind {
	case jNull:
		return value{k: kNull}
	case jTrue:
		return boolValue(true)
	case jFalse:
		return boolValue(false)
	case jNum:
		f, err := strconv.ParseFloat(d.text(node), 64)
		if err != nil {
			return undefined // out of float64 range
		}
		return numValue(f)
	case jStr:
		return strValue(d.text(node))
	case jStrEsc:
		return strValue(d.decodeString(node))
	case jObj:
		return value{k: kObj, node: n}
	}
	return value{k: kArr, node: n}
}

// text returns the node's text without copying. The string aliases the body
// and must not outlive the evaluation.
func (d *bodyDoc) text(node jnode) string {
	if node.end <= node.start {
		return ""
	}
	return unsafe.String(&d.data[node.start], int(node.end-node.start))
}

// decodeString decodes a string with escapes, checked by parseString.
func (d *bodyDoc) decodeString(node jnode) string {
	s := d.data[node.start:node.end]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hexRune(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if c := utf16.DecodeRune(r, hexRune(s[i+2:i+6])); c != utf8.RuneError {
						out = utf8.AppendRune(out, c)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // " \ /
			out = append(out, s[i+1])
		}
		i += 2
	}
	return string(out)
}

func hexRune(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= 'a':
			r |= rune(c - 'a' + 10)
		case c >= 'A':
			r |= rune(c - 'A' + 10)
		default:
			r |= rune(c - '0')
		}
	}
	return r
}
