package route

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// op is the operation of an expression node.
type op uint8

const (
	opLit      op = iota + 1 // a literal value
	opProp                   // an application property by name
	opSys                    // a system property ($contentType, {$contentType})
	opBody                   // $body with a path
	opFunc                   // a function call
	opNot                    // NOT x
	opNeg                    // -x
	opMul                    // *
	opDiv                    // /
	opMod                    // %
	opAdd                    // +
	opSub                    // -
	opConcat                 // ||
	opLt                     // <
	opLe                     // <=
	opGt                     // >
	opGe                     // >=
	opEq                     // =
	opNe                     // != and <>
	opAnd                    // AND
	opOr                     // OR
	opCoalesce               // ??
)

// Precedence levels, lowest first.
const (
	precCoalesce = iota + 1
	precOr
	precAnd
	precEq
	precRel
	precConcat
	precAdd
	precMul
	precUnary
	precPrimary
)

var binarySyntax = map[op]struct {
	text string
	prec int
}{
	opMul: {"*", precMul}, opDiv: {"/", precMul}, opMod: {"%", precMul},
	opAdd: {"+", precAdd}, opSub: {"-", precAdd},
	opConcat: {"||", precConcat},
	opLt:     {"<", precRel}, opLe: {"<=", precRel}, opGt: {">", precRel}, opGe: {">=", precRel},
	opEq: {"=", precEq}, opNe: {"!=", precEq},
	opAnd: {"AND", precAnd}, opOr: {"OR", precOr},
	opCoalesce: {"??", precCoalesce},
}

// expr is a node of a condition's syntax tree.
type expr struct {
	op    op
	lit   value     // opLit
	name  string    // opProp: the property name
	sys   sysProp   // opSys
	brace bool      // opSys written {$x}: the system property even if an application property has its name
	path  []pathSeg // opBody
	fn    *function // opFunc
	args  []*expr   // operands and arguments
	typ   typeMask  // the kinds of value it can produce
	// off and end delimit its text in the route, for type errors.
	off, end int
}

// pathSeg is one step of a $body path: .name, ['name'] or [index].
type pathSeg struct {
	name    string
	index   int
	isIndex bool
}

func (e *expr) prec() int {
	switch e.op {
	case opNot, opNeg:
		return precUnary
	case opLit, opProp, opSys, opBody, opFunc:
		return precPrimary
	}
	return binarySyntax[e.op].prec
}

// write prints the expression in canonical form, with the fewest
// parentheses that keep its tree: binary operators associate to the left.
func (e *expr) write(b *strings.Builder) {
	switch e.op {
	case opLit:
		writeValue(b, e.lit)
	case opProp:
		b.WriteString(e.name)
	case opSys:
		if e.brace {
			b.WriteString("{$" + e.sys.name() + "}")
		} else {
			b.WriteString("$" + e.sys.name())
		}
	case opBody:
		b.WriteString("$body")
		for _, s := range e.path {
			switch {
			case s.isIndex:
				b.WriteString("[" + strconv.Itoa(s.index) + "]")
			case isIdent(s.name):
				b.WriteString("." + s.name)
			default:
				b.WriteString("[")
				writeString(b, s.name)
				b.WriteString("]")
			}
		}
	case opFunc:
		b.WriteString(e.fn.name)
		b.WriteString("(")
		for i, a := range e.args {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteString(")")
	case opNot:
		b.WriteString("NOT ")
		e.args[0].writeIn(b, precUnary, false)
	case opNeg:
		b.WriteString("-")
		// "- -x" keeps a space so that the text stays readable.
		if e.args[0].op == opNeg {
			b.WriteString(" ")
		}
		e.args[0].writeIn(b, precUnary, false)
	default:
		s := binarySyntax[e.op]
		e.args[0].writeIn(b, s.prec, false)
		b.WriteString(" " + s.text + " ")
		e.args[1].writeIn(b, s.prec, true)
	}
}

// writeIn writes e as an operand of an operator of precedence prec; right
// tells whether it is the right operand of a binary operator.
func (e *expr) writeIn(b *strings.Builder, prec int, right bool) {
	p := e.prec()
	if p < prec || right && p == prec {
		b.WriteString("(")
		e.write(b)
		b.WriteString(")")
		return
	}
	e.write(b)
}

func (e *expr) String() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

// isIdent reports whether s can be written as a bare name.
func isIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

func writeValue(b *strings.Builder, v value) {
	switch v.k {
	case kUndef:
		b.WriteString("undefined")
	case kNull:
		b.WriteString("null")
	case kBool:
		b.WriteString(strconv.FormatBool(v.b))
	case kNum:
		b.WriteString(formatNumber(v.n))
	case kStr:
		writeString(b, v.s)
	}
}

// formatNumber prints integers in plain digits and other numbers in the
// shortest form that reads back to the same float64.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// writeString writes s single-quoted, escaping quotes, backslashes and
// characters that are not printable.
func writeString(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError || unicode.IsPrint(r):
			b.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16Pair(r)
			b.WriteString(`\u` + hex4(r1) + `\u` + hex4(r2))
		default:
			b.WriteString(`\u` + hex4(r))
		}
	}
	b.WriteByte('\'')
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

func hex4(r rune) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[r>>12&0xF], digits[r>>8&0xF], digits[r>>4&0xF], digits[r&0xF]})
}

// typeMask is the set of kinds of value an expression can produce; the
// parser uses it to reject conditions that can never work.
type typeMask uint16

const (
	mUndef typeMask = 1 << iota
	mNull
	mBool
	mNum
	mStr
	mObj
	mArr
	// mProp marks a string read from a message property, which reads as a
	// number where a number is needed.
	mProp

	mAny = mUndef | mNull | mBool | mNum | mStr | mObj | mArr
)

// accepts reports whether an expression of type t may yield a value of the
// kinds in want. The literal undefined fits everywhere.
func (t typeMask) accepts(want typeMask) bool {
	return t == mUndef || t&want != 0
}

// describe names the kinds in t for an error message.
func (t typeMask) describe() string {
	var names []string
	for _, k := range []struct {
		m    typeMask
		name string
	}{{mNum, "number"}, {mStr, "string"}, {mBool, "boolean"}, {mNull, "null"}, {mObj, "object"}, {mArr, "array"}} {
		if t&k.m != 0 {
			names = append(names, k.name)
		}
	}
	if len(names) == 0 {
		return "undefined"
	}
	return strings.Join(names, " or ")
}

func maskOf(k kind) typeMask {
	switch k {
	case kNull:
		return mNull
	case kBool:
		return mBool
	case kNum:
		return mNum
	case kStr:
		return mStr
	case kObj:
		return mObj
	case kArr:
		return mArr
	}
	return mUndef
}

// sysProp is a system property.
type sysProp uint8

const (
	sysContentType sysProp = iota + 1
	sysContentEncoding
	sysMessageID
	sysCorrelationID
	sysUserID
	sysConnectionDeviceID
	sysConnectionModuleID
	sysOutputName
)

var sysNames = [...]string{
	sysContentType:        "contentType",
	sysContentEncoding:    "contentEncoding",
	sysMessageID:          "messageId",
	sysCorrelationID:      "correlationId",
	sysUserID:             "userId",
	sysConnectionDeviceID: "connectionDeviceId",
	sysConnectionModuleID: "connectionModuleId",
	sysOutputName:         "outputName",
}

func (s sysProp) name() string { return sysNames[s] }

// lookupSys finds a system property by name, ignoring case.
func lookupSys(name string) (sysProp, bool) {
	for i := 1; i < len(sysNames); i++ {
		if strings.EqualFold(sysNames[i], name) {
			return sysProp(i), true
		}
	}
	return 0, false
}

// value reads the system property from m; "" is undefined.
func (s sysProp) value(m *Message) string {
	switch s {
	case sysContentType:
		return m.ContentType
	case sysContentEncoding:
		return m.ContentEncoding
	case sysMessageID:
		return m.MessageID
	case sysCorrelationID:
		return m.CorrelationID
	case sysUserID:
		return m.UserID
	case sysConnectionDeviceID:
		return m.ConnectionDeviceID
	case sysConnectionModuleID:
		return m.ConnectionModuleID
	case sysOutputName:
		return m.Output
	}
	return ""
}
