package route

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxNesting bounds the depth of a condition so that a hostile route
// cannot exhaust the stack.
const maxNesting = 200

// parser is a recursive-descent parser with one token of look-ahead.
// Errors panic with *Error and Parse recovers them.
type parser struct {
	lx    lexer
	tok   token
	depth int
}

func newParser(text string) *parser {
	p := &parser{lx: lexer{text: text}}
	if !utf8.ValidString(text) {
		off := 0
		for off < len(text) {
			r, n := utf8.DecodeRuneInString(text[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		panic(errAt(text, off, off+1, "", "invalid UTF-8 in the route"))
	}
	return p
}

// fail reports that the current token is not what was expected.
func (p *parser) fail(expected string) {
	panic(errAt(p.lx.text, p.tok.off, p.tok.end, expected, ""))
}

func (p *parser) advance() { p.tok = p.lx.next() }

// isKeyword reports whether the current token is the keyword kw.
func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.str, kw)
}

func (p *parser) expect(k tokKind, what string) token {
	if p.tok.kind != k {
		p.fail(what)
	}
	t := p.tok
	p.advance()
	return t
}

// parseRoute parses [SELECT *] FROM source [WHERE condition] INTO sink.
func (p *parser) parseRoute() *Route {
	p.advance()
	if p.isKeyword("SELECT") {
		p.advance()
		p.expect(tStar, "* after SELECT")
		if !p.isKeyword("FROM") {
			p.fail("FROM")
		}
	} else if !p.isKeyword("FROM") {
		p.fail("FROM")
	}

	// The source is a path, lexed on its own since it contains "/*".
	p.tok = p.lx.path()
	if p.tok.kind != tPath {
		p.fail("a source such as /messages/* or /messages/modules/<module>/outputs/<output>")
	}
	src, ok := parseSource(p.tok.str)
	if !ok {
		p.fail("a source: /*, /messages/*, /messages/modules/*, /messages/modules/<m>/*, " +
			"/messages/modules/<m>/outputs/*, /messages/modules/<m>/outputs/<o> or /twinChangeNotifications")
	}
	r := &Route{src: src, Source: src.String()}
	p.advance()

	if p.isKeyword("WHERE") {
		p.advance()
		r.cond = p.parseExpr()
		if !r.cond.typ.accepts(mBool) {
			p.typeError(r.cond, "a boolean condition")
		}
		if !p.isKeyword("INTO") {
			if p.tok.kind == tIdent || p.tok.kind == tEOF {
				p.fail("INTO")
			}
			p.fail("an operator or INTO")
		}
	} else if !p.isKeyword("INTO") {
		p.fail("WHERE or INTO")
	}
	p.advance()

	r.Sink = p.parseSink()
	if p.tok.kind != tEOF {
		p.fail("end of route")
	}
	return r
}

// parseSink parses $upstream or BrokeredEndpoint("/modules/<m>/inputs/<i>").
func (p *parser) parseSink() Sink {
	const want = `$upstream or BrokeredEndpoint("/modules/<module>/inputs/<input>")`
	switch {
	case p.tok.kind == tSys && strings.EqualFold(p.tok.str, "upstream"):
		p.advance()
		return Sink{Kind: SinkUpstream}
	case p.isKeyword("BrokeredEndpoint"):
		p.advance()
		p.expect(tLParen, "( after BrokeredEndpoint")
		if p.tok.kind != tString {
			p.fail(`a quoted endpoint such as "/modules/<module>/inputs/<input>"`)
		}
		s, ok := parseEndpoint(p.tok.str)
		if !ok {
			p.fail(`an endpoint "/modules/<module>/inputs/<input>"`)
		}
		p.advance()
		p.expect(tRParen, ")")
		return s
	}
	p.fail(want)
	panic("unreachable")
}

// binaryLevels lists the binary operators from the lowest precedence up.
var binaryLevels = [...][]struct {
	kind tokKind
	kw   string
	op   op
}{
	{{kind: tCoalesce, op: opCoalesce}},
	{{kind: tIdent, kw: "OR", op: opOr}},
	{{kind: tIdent, kw: "AND", op: opAnd}},
	{{kind: tEq, op: opEq}, {kind: tNe, op: opNe}},
	{{kind: tLt, op: opLt}, {kind: tLe, op: opLe}, {kind: tGt, op: opGt}, {kind: tGe, op: opGe}},
	{{kind: tConcat, op: opConcat}},
	{{kind: tPlus, op: opAdd}, {kind: tMinus, op: opSub}},
	{{kind: tStar, op: opMul}, {kind: tSlash, op: opDiv}, {kind: tPercent, op: opMod}},
}

func (p *parser) parseExpr() *expr { return p.parseLevel(0) }

func (p *parser) leave() { p.depth-- }

// enter counts one level of nesting: parentheses, a function call, NOT or
// unary minus.
func (p *parser) enter() {
	p.depth++
	if p.depth > maxNesting {
		panic(errAt(p.lx.text, p.tok.off, p.tok.end, "", "condition nested too deeply"))
	}
}

// parseLevel parses a left-associative chain of the operators at level.
func (p *parser) parseLevel(level int) *expr {
	if level == len(binaryLevels) {
		return p.parseUnary()
	}
	left := p.parseLevel(level + 1)
	for {
		o, ok := p.binaryOp(level)
		if !ok {
			return left
		}
		p.advance()
		right := p.parseLevel(level + 1)
		left = p.binary(o, left, right)
	}
}

func (p *parser) binaryOp(level int) (op, bool) {
	for _, c := range binaryLevels[level] {
		if p.tok.kind == c.kind && (c.kw == "" || strings.EqualFold(p.tok.str, c.kw)) {
			return c.op, true
		}
	}
	return 0, false
}

// binary builds a binary node and checks its operand types.
func (p *parser) binary(o op, l, r *expr) *expr {
	e := &expr{op: o, args: []*expr{l, r}, off: l.off, end: r.end}
	sym := binarySyntax[o].text
	switch o {
	case opCoalesce:
		if l.typ&mUndef != 0 {
			e.typ = l.typ&^mUndef | r.typ
		} else {
			e.typ = l.typ
		}
	case opAnd, opOr:
		p.check(l, mBool, "a boolean operand for "+sym)
		p.check(r, mBool, "a boolean operand for "+sym)
		e.typ = mBool | mUndef
	case opConcat:
		p.check(l, strArg, "a string operand for ||")
		p.check(r, strArg, "a string operand for ||")
		e.typ = mStr | mUndef
	case opMul, opDiv, opMod, opAdd, opSub:
		p.check(l, numArg, "a number operand for "+sym)
		p.check(r, numArg, "a number operand for "+sym)
		e.typ = mNum | mUndef
	default: // comparisons
		if !comparable(l.typ, r.typ) {
			p.typeError(r, "a "+l.typ.describe()+" to compare with "+shorten(p.lx.text[l.off:l.end]))
		}
		e.typ = mBool | mUndef
	}
	return e
}

// comparable reports whether values of types a and b can ever compare.
func comparable(a, b typeMask) bool {
	const prim = mNull | mBool | mNum | mStr
	return a == mUndef || b == mUndef || a&b&prim != 0 ||
		a&mProp != 0 && b&mNum != 0 || b&mProp != 0 && a&mNum != 0
}

func (p *parser) check(e *expr, want typeMask, expected string) {
	if !e.typ.accepts(want) {
		p.typeError(e, expected)
	}
}

func (p *parser) typeError(e *expr, expected string) {
	panic(errAt(p.lx.text, e.off, e.end, expected, ""))
}

// parseUnary parses NOT x, -x or a primary expression.
func (p *parser) parseUnary() *expr {
	start := p.tok
	switch {
	case p.isKeyword("NOT"):
		p.enter()
		defer p.leave()
		p.advance()
		x := p.parseUnary()
		p.check(x, mBool, "a boolean operand for NOT")
		return &expr{op: opNot, args: []*expr{x}, typ: mBool | mUndef, off: start.off, end: x.end}
	case p.tok.kind == tMinus:
		p.enter()
		defer p.leave()
		p.advance()
		x := p.parseUnary()
		p.check(x, numArg, "a number operand for unary -")
		return &expr{op: opNeg, args: []*expr{x}, typ: mNum | mUndef, off: start.off, end: x.end}
	}
	return p.parsePrimary()
}

// reserved words cannot name application properties.
var reserved = []string{"SELECT", "FROM", "WHERE", "INTO", "AND", "OR", "NOT"}

func (p *parser) parsePrimary() *expr {
	t := p.tok
	lit := func(v value) *expr {
		p.advance()
		return &expr{op: opLit, lit: v, typ: maskOf(v.k), off: t.off, end: t.end}
	}
	switch t.kind {
	case tNumber:
		return lit(value{k: kNum, n: t.num})
	case tString:
		return lit(strValue(t.str))
	case tLParen:
		p.enter()
		defer p.leave()
		p.advance()
		x := p.parseExpr()
		if p.tok.kind != tRParen {
			p.fail("an operator or )")
		}
		x.off, x.end = t.off, p.tok.end
		p.advance()
		return x
	case tLBrace:
		p.advance()
		if p.tok.kind != tSys || strings.EqualFold(p.tok.str, "body") {
			p.fail("a system property such as $contentType after {")
		}
		s, ok := lookupSys(p.tok.str)
		if !ok {
			p.unknownSys()
		}
		p.advance()
		end := p.expect(tRBrace, "}").end
		return &expr{op: opSys, sys: s, brace: true, typ: mStr | mProp | mUndef, off: t.off, end: end}
	case tSys:
		if strings.EqualFold(t.str, "body") {
			p.advance()
			return p.parseBodyPath(t)
		}
		s, ok := lookupSys(t.str)
		if !ok {
			p.unknownSys()
		}
		p.advance()
		return &expr{op: opSys, sys: s, name: "$" + s.name(), typ: mStr | mProp | mUndef, off: t.off, end: t.end}
	case tIdent:
		switch {
		case strings.EqualFold(t.str, "true"):
			return lit(boolValue(true))
		case strings.EqualFold(t.str, "false"):
			return lit(boolValue(false))
		case strings.EqualFold(t.str, "null"):
			return lit(value{k: kNull})
		case strings.EqualFold(t.str, "undefined"):
			return lit(undefined)
		}
		for _, kw := range reserved {
			if strings.EqualFold(t.str, kw) {
				p.fail("an expression")
			}
		}
		p.advance()
		if p.tok.kind == tLParen {
			return p.parseCall(t)
		}
		return &expr{op: opProp, name: t.str, typ: mStr | mProp | mUndef, off: t.off, end: t.end}
	}
	p.fail("an expression")
	panic("unreachable")
}

func (p *parser) unknownSys() {
	panic(errAt(p.lx.text, p.tok.off, p.tok.end,
		"$body or a system property: $contentType, $contentEncoding, $messageId, $correlationId, "+
			"$userId, $connectionDeviceId, $connectionModuleId or $outputName", ""))
}

// parseBodyPath parses the steps after $body: .name, ['name'], [index].
func (p *parser) parseBodyPath(start token) *expr {
	e := &expr{op: opBody, typ: mAny, off: start.off, end: start.end}
	for {
		switch p.tok.kind {
		case tDot:
			p.advance()
			if p.tok.kind != tIdent {
				p.fail("a property name after .")
			}
			e.path = append(e.path, pathSeg{name: p.tok.str})
		case tLBrack:
			p.advance()
			switch {
			case p.tok.kind == tString:
				e.path = append(e.path, pathSeg{name: p.tok.str})
			case p.tok.kind == tNumber && p.tok.num == math.Trunc(p.tok.num) && p.tok.num <= math.MaxInt32:
				e.path = append(e.path, pathSeg{index: int(p.tok.num), isIndex: true})
			default:
				p.fail("an array index (0, 1, ...) or a quoted property name")
			}
			p.advance()
			if p.tok.kind != tRBrack {
				p.fail("]")
			}
		default:
			return e
		}
		e.end = p.tok.end
		p.advance()
	}
}

// parseCall parses the arguments of a function call and checks the
// function's name, argument count and argument types.
func (p *parser) parseCall(name token) *expr {
	f, ok := functions[strings.ToUpper(name.str)]
	if !ok {
		msg := "unknown function " + name.str
		if s := suggestFunction(name.str); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		panic(errAt(p.lx.text, name.off, name.end, "", msg))
	}
	e := &expr{op: opFunc, fn: f, typ: f.ret, off: name.off}
	p.enter()
	defer p.leave()
	p.advance() // (
	if p.tok.kind != tRParen {
		for {
			e.args = append(e.args, p.parseExpr())
			if p.tok.kind != tComma {
				break
			}
			p.advance()
		}
	}
	if p.tok.kind != tRParen {
		p.fail(", or )")
	}
	e.end = p.tok.end
	if n := len(e.args); n < f.min || f.max >= 0 && n > f.max {
		panic(errAt(p.lx.text, name.off, e.end, "",
			f.name+" takes "+f.arity()+", found "+strconv.Itoa(n)))
	}
	for i, a := range e.args {
		p.check(a, f.argType(i), describeArg(f.argType(i))+" as argument "+
			strconv.Itoa(i+1)+" of "+f.name)
	}
	p.advance()
	return e
}

func describeArg(t typeMask) string {
	switch t {
	case numArg:
		return "a number"
	case strArg:
		return "a string"
	}
	return "a value"
}
