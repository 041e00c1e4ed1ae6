package route

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF      tokKind = iota
	tIdent            // name, keyword or function name
	tSys              // $name
	tNumber           // 12, 0x1F, 1.5e3
	tString           // 'x' or "x"
	tPath             // a source path after FROM
	tLParen           // (
	tRParen           // )
	tLBrack           // [
	tRBrack           // ]
	tLBrace           // {
	tRBrace           // }
	tComma            // ,
	tDot              // .
	tStar             // *
	tSlash            // /
	tPercent          // %
	tPlus             // +
	tMinus            // -
	tConcat           // ||
	tCoalesce         // ??
	tEq               // =
	tNe               // != or <>
	tLt               // <
	tLe               // <=
	tGt               // >
	tGe               // >=
)

// token is one lexical token. off and end delimit its text in the route.
type token struct {
	kind     tokKind
	off, end int
	str      string  // decoded value of a string, name of a $name
	num      float64 // value of a number
}

// lexer splits a route into tokens on demand, so that the parser can ask
// for a source path where one is due (a path contains "/*", which anywhere
// else starts a comment).
type lexer struct {
	text string
	pos  int
}

func (lx *lexer) fail(off, end int, expected, msg string) {
	panic(errAt(lx.text, off, end, expected, msg))
}

// skipSpace skips white space and /* comments */.
func (lx *lexer) skipSpace() {
	for lx.pos < len(lx.text) {
		c := lx.text[lx.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			lx.pos++
		case c == '/' && strings.HasPrefix(lx.text[lx.pos:], "/*"):
			end := strings.Index(lx.text[lx.pos+2:], "*/")
			if end < 0 {
				lx.fail(lx.pos, lx.pos+2, "", "unterminated comment: /* has no closing */")
			}
			lx.pos += 2 + end + 2
		default:
			return
		}
	}
}

// path reads a source path: '/' and every character up to white space.
// It returns a token of kind tEOF or another kind when no path starts here,
// so that the parser can report what it found.
//
// Only white space may come before the path: "/*" there is the source of
// every message, not a comment.
func (lx *lexer) path() token {
	for lx.pos < len(lx.text) && isSpace(lx.text[lx.pos]) {
		lx.pos++
	}
	if lx.pos >= len(lx.text) || lx.text[lx.pos] != '/' {
		return lx.next()
	}
	start := lx.pos
	for lx.pos < len(lx.text) && !isSpace(lx.text[lx.pos]) {
		lx.pos++
	}
	return token{kind: tPath, off: start, end: lx.pos, str: lx.text[start:lx.pos]}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || '0' <= c && c <= '9'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// next returns the next token.
func (lx *lexer) next() token {
	lx.skipSpace()
	start := lx.pos
	if start >= len(lx.text) {
		return token{kind: tEOF, off: start, end: start}
	}
	c := lx.text[start]
	tok := func(k tokKind, n int) token {
		lx.pos = start + n
		return token{kind: k, off: start, end: lx.pos}
	}
	two := ""
	if start+1 < len(lx.text) {
		two = lx.text[start : start+2]
	}
	switch {
	case isIdentStart(c):
		lx.pos++
		for lx.pos < len(lx.text) && isIdentChar(lx.text[lx.pos]) {
			lx.pos++
		}
		return token{kind: tIdent, off: start, end: lx.pos, str: lx.text[start:lx.pos]}
	case c == '$':
		lx.pos++
		for lx.pos < len(lx.text) && isIdentChar(lx.text[lx.pos]) {
			lx.pos++
		}
		if lx.pos == start+1 {
			lx.fail(start, start+1, "a name after $ such as $body or $contentType", "")
		}
		return token{kind: tSys, off: start, end: lx.pos, str: lx.text[start+1 : lx.pos]}
	case isDigit(c):
		return lx.number()
	case c == '\'' || c == '"':
		return lx.stringLit()
	case c == '(':
		return tok(tLParen, 1)
	case c == ')':
		return tok(tRParen, 1)
	case c == '[':
		return tok(tLBrack, 1)
	case c == ']':
		return tok(tRBrack, 1)
	case c == '{':
		return tok(tLBrace, 1)
	case c == '}':
		return tok(tRBrace, 1)
	case c == ',':
		return tok(tComma, 1)
	case c == '.':
		return tok(tDot, 1)
	case c == '*':
		return tok(tStar, 1)
	case c == '/':
		return tok(tSlash, 1)
	case c == '%':
		return tok(tPercent, 1)
	case c == '+':
		return tok(tPlus, 1)
	case c == '-':
		return tok(tMinus, 1)
	case two == "||":
		return tok(tConcat, 2)
	case two == "??":
		return tok(tCoalesce, 2)
	case c == '=':
		return tok(tEq, 1)
	case two == "!=" || two == "<>":
		return tok(tNe, 2)
	case two == "<=":
		return tok(tLe, 2)
	case two == ">=":
		return tok(tGe, 2)
	case c == '<':
		return tok(tLt, 1)
	case c == '>':
		return tok(tGt, 1)
	}
	_, n := utf8.DecodeRuneInString(lx.text[start:])
	switch c {
	case '|':
		lx.fail(start, start+n, "|| (string concatenation)", "")
	case '?':
		lx.fail(start, start+n, "?? (coalesce)", "")
	case '!':
		lx.fail(start, start+n, "!= (not equal)", "")
	}
	lx.fail(start, start+n, "an expression or operator", "unexpected character")
	panic("unreachable")
}

// number reads 12, 0x1F, 1.5, 1e-3 or 1.5E+3.
func (lx *lexer) number() token {
	start := lx.pos
	t := lx.text
	if t[start] == '0' && start+1 < len(t) && (t[start+1] == 'x' || t[start+1] == 'X') {
		p := start + 2
		for p < len(t) && isHex(t[p]) {
			p++
		}
		end := lx.endOfWord(p)
		if p == start+2 || end != p {
			lx.fail(start, end, "a hexadecimal number such as 0x1F", "")
		}
		u, err := strconv.ParseUint(t[start+2:p], 16, 64)
		if err != nil {
			lx.fail(start, p, "", "number out of range: hexadecimal numbers have at most 16 digits")
		}
		lx.pos = p
		return token{kind: tNumber, off: start, end: p, num: float64(u)}
	}
	p := start
	for p < len(t) && isDigit(t[p]) {
		p++
	}
	if p < len(t) && t[p] == '.' {
		p++
		if p >= len(t) || !isDigit(t[p]) {
			lx.fail(start, lx.endOfWord(p), "a digit after the decimal point", "")
		}
		for p < len(t) && isDigit(t[p]) {
			p++
		}
	}
	if p < len(t) && (t[p] == 'e' || t[p] == 'E') {
		q := p + 1
		if q < len(t) && (t[q] == '+' || t[q] == '-') {
			q++
		}
		if q >= len(t) || !isDigit(t[q]) {
			lx.fail(start, lx.endOfWord(q), "digits in the exponent, as in 1.5e3", "")
		}
		for q < len(t) && isDigit(t[q]) {
			q++
		}
		p = q
	}
	if end := lx.endOfWord(p); end != p {
		lx.fail(start, end, "a number", "")
	}
	f, err := strconv.ParseFloat(t[start:p], 64)
	if err != nil {
		lx.fail(start, p, "", "number out of range")
	}
	lx.pos = p
	return token{kind: tNumber, off: start, end: p, num: f}
}

// endOfWord extends p over letters, digits, underscores and dots, to show
// a malformed number whole in its error.
func (lx *lexer) endOfWord(p int) int {
	for p < len(lx.text) && (isIdentChar(lx.text[p]) || lx.text[p] == '.') {
		p++
	}
	return p
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// stringLit reads a single- or double-quoted string with the escapes
// \\ \" \' \/ \b \f \n \r \t and \uXXXX (UTF-16, surrogate pairs joined).
func (lx *lexer) stringLit() token {
	t := lx.text
	start := lx.pos
	q := t[start]
	p := start + 1
	var b strings.Builder
	plain := p // start of the run of characters copied as they are
	for {
		if p >= len(t) {
			lx.fail(start, p, "", "unterminated string: missing closing "+string(q))
		}
		c := t[p]
		if c == q {
			break
		}
		if c != '\\' {
			p++
			continue
		}
		b.WriteString(t[plain:p])
		if p+1 >= len(t) {
			lx.fail(start, p+1, "", "unterminated string: missing closing "+string(q))
		}
		e := t[p+1]
		switch e {
		case '\\', '"', '\'', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n := lx.unicodeEscape(p)
			b.WriteRune(r)
			p += n
			plain = p
			continue
		default:
			_, n := utf8.DecodeRuneInString(t[p+1:])
			lx.fail(p, p+1+n, `an escape \\ \" \' \/ \b \f \n \r \t or \uXXXX`, "")
		}
		p += 2
		plain = p
	}
	b.WriteString(t[plain:p])
	lx.pos = p + 1
	return token{kind: tString, off: start, end: lx.pos, str: b.String()}
}

// unicodeEscape decodes \uXXXX at p, joining a surrogate pair written as
// two escapes. A lone surrogate becomes U+FFFD. It returns the rune and the
// number of bytes read.
func (lx *lexer) unicodeEscape(p int) (rune, int) {
	hex4 := func(at int) (rune, bool) {
		if at+6 > len(lx.text) || lx.text[at] != '\\' || lx.text[at+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(lx.text[at+2:at+6], 16, 32)
		if err != nil {
			return 0, false
		}
		return rune(v), true
	}
	r, ok := hex4(p)
	if !ok {
		end := min(p+6, len(lx.text))
		lx.fail(p, end, `four hexadecimal digits after \u`, "")
	}
	if utf16.IsSurrogate(r) && r < 0xDC00 {
		if r2, ok := hex4(p + 6); ok {
			if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
				return c, 12
			}
		}
	}
	if utf16.IsSurrogate(r) {
		return utf8.RuneError, 6
	}
	return r, 6
}
