package route

import (
	"strconv"
	"strings"
)

// Error is a syntax or type error in a route. Line and Column are 1-based;
// Column counts characters (not bytes) from the start of the line. Token is
// the offending text as it appears in the route ("" at the end of the
// route), Expected says what would have been accepted there and Msg, when
// set, explains a problem that is not a simple "expected X" (an unknown
// function, a wrong argument count, a bad escape).
type Error struct {
	Line, Column int
	Token        string
	Expected     string
	Msg          string
}

// Error formats the error as
// `line 1, column 42: expected INTO, found "INT0"`.
func (e *Error) Error() string {
	return "line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ": " + e.Detail()
}

// Detail is the error without its position: `expected INTO, found "INT0"`,
// for tools that report the position in their own way.
func (e *Error) Detail() string {
	var b strings.Builder
	if e.Msg != "" {
		b.WriteString(e.Msg)
		if e.Expected != "" {
			b.WriteString("; ")
		}
	}
	if e.Expected != "" {
		b.WriteString("expected ")
		b.WriteString(e.Expected)
		b.WriteString(", found ")
		b.WriteString(foundText(e.Token))
	}
	return b.String()
}

// foundText quotes a token for a message; the empty token is the end of the
// route.
func foundText(tok string) string {
	if tok == "" {
		return "end of route"
	}
	return strconv.Quote(tok)
}

// position converts a byte offset in text to a 1-based line and column,
// counting columns in characters.
func position(text string, off int) (line, col int) {
	if off > len(text) {
		off = len(text)
	}
	line, col = 1, 1
	for _, r := range text[:off] {
		if r == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	return line, col
}

// errAt builds an *Error for the text at [off, end).
func errAt(text string, off, end int, expected, msg string) *Error {
	line, col := position(text, off)
	if end > len(text) {
		end = len(text)
	}
	if end < off {
		end = off
	}
	return &Error{Line: line, Column: col, Token: shorten(text[off:end]), Expected: expected, Msg: msg}
}

// shorten keeps error messages readable when the offending text is a long
// expression.
func shorten(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-3 {
			return s[:i] + "..."
		}
		n++
	}
	return s
}
