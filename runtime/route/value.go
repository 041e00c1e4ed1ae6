package route

import (
	"math"
	"strconv"
	"strings"
)

// kind is the kind of a runtime value, after the JSON types plus undefined.
type kind uint8

const (
	kUndef kind = iota
	kNull
	kBool
	kNum
	kStr
	kObj
	kArr
)

// value is the result of evaluating an expression. Strings read from a
// message body may point into the body: values never outlive one
// evaluation.
type value struct {
	k    kind
	prop bool    // a string read from a message property: reads as a number where one is needed
	b    bool    // kBool
	n    float64 // kNum
	s    string  // kStr
	node int32   // kObj, kArr: the node in the evaluation's parsed body
}

var undefined = value{}

func boolValue(b bool) value   { return value{k: kBool, b: b} }
func strValue(s string) value  { return value{k: kStr, s: s} }
func propValue(s string) value { return value{k: kStr, s: s, prop: true} }

// numValue makes a number; NaN and infinities, which JSON cannot hold, are
// undefined.
func numValue(f float64) value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return undefined
	}
	return value{k: kNum, n: f}
}

// number returns the value as a number where one is needed: a number, or a
// property string in JSON number syntax.
func (v value) number() (float64, bool) {
	switch {
	case v.k == kNum:
		return v.n, true
	case v.k == kStr && v.prop:
		return parseNumberString(v.s)
	}
	return 0, false
}

// parseNumberString reads a string in JSON number syntax, with white space
// around it allowed: "12", " -1.5e3 ". Anything else fails.
func parseNumberString(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if !isJSONNumber(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// isJSONNumber reports whether s is -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func isJSONNumber(s string) bool {
	return jsonNumberLen(s, 0) == len(s) && len(s) > 0
}

// jsonNumberLen returns the end of the JSON number starting at i, or -1.
func jsonNumberLen[T string | []byte](s T, i int) int {
	n := len(s)
	if i < n && s[i] == '-' {
		i++
	}
	switch {
	case i < n && s[i] == '0':
		i++
	case i < n && '1' <= s[i] && s[i] <= '9':
		for i < n && isDigit(s[i]) {
			i++
		}
	default:
		return -1
	}
	if i < n && s[i] == '.' {
		i++
		if i >= n || !isDigit(s[i]) {
			return -1
		}
		for i < n && isDigit(s[i]) {
			i++
		}
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= n || !isDigit(s[i]) {
			return -1
		}
		for i < n && isDigit(s[i]) {
			i++
		}
	}
	return i
}

// compare orders a and b. ok is false when they cannot be compared: either
// is undefined, an object or an array, or their kinds differ (after a
// property string meets a number and is read as one).
func compare(a, b value) (c int, ok bool) {
	if a.k == kNum && b.k == kStr && b.prop {
		f, ok := b.number()
		if !ok {
			return 0, false
		}
		b = value{k: kNum, n: f}
	}
	if b.k == kNum && a.k == kStr && a.prop {
		f, ok := a.number()
		if !ok {
			return 0, false
		}
		a = value{k: kNum, n: f}
	}
	if a.k != b.k {
		return 0, false
	}
	switch a.k {
	case kNull:
		return 0, true
	case kBool:
		switch {
		case a.b == b.b:
			return 0, true
		case b.b:
			return -1, true
		}
		return 1, true
	case kNum:
		switch {
		case a.n < b.n:
			return -1, true
		case a.n > b.n:
			return 1, true
		}
		return 0, true
	case kStr:
		return strings.Compare(a.s, b.s), true
	}
	return 0, false
}
