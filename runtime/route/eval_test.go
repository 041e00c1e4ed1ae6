package route

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
)

// testBody is the body of testMessage.
const testBody = `{"a": {"b": [10, "x", {"c": true}]}, "n": null, "s": "héllo",
 "esc": "a\"b\u00e9\ud83d\ude00", "f": 1.5, "neg": -2, "arr": [], "obj": {},
 "key with space": 7, "\u006bey": 5, "big": 1e400, "dup": 1, "dup": 2, "t": true, "num": "12"}`

func testMessage() *Message {
	return &Message{
		Module: "mod-1", Output: "out-1",
		ContentType: "application/json", ContentEncoding: "utf-8",
		MessageID: "msg-1", CorrelationID: "corr-1", UserID: "user-1",
		ConnectionDeviceID: "dev-1", ConnectionModuleID: "mod-1",
		Properties: map[string]string{
			"temp": "25", "name": "Alice", "empty": "", "num": "1e3", "bad": "12abc",
			"spaced": " 7 ", "other": "x",
		},
		Body: []byte(testBody),
	}
}

// parseExpr parses a condition on its own, without the type check that a
// WHERE condition be boolean, so that any expression can be tested.
func parseExpr(text string) (e *expr, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = x.(*Error)
		}
	}()
	p := newParser(text)
	p.advance()
	e = p.parseExpr()
	if p.tok.kind != tEOF {
		p.fail("end of expression")
	}
	return e, nil
}

// show prints a value for comparison in tests.
func show(c *evalCtx, v value) string {
	switch v.k {
	case kObj:
		return "object"
	case kArr:
		return "array"
	}
	var b stringsBuilder
	writeValue(&b.Builder, v)
	return b.String()
}

func evalString(t *testing.T, text string, m *Message) string {
	t.Helper()
	e, err := parseExpr(text)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	c := evalCtx{m: m}
	defer c.release()
	return show(&c, c.eval(e))
}

type evalCase struct {
	expr string
	want string // the value as printed: 'str', 12, true, null, undefined, object, array
}

func runEvalCases(t *testing.T, cases []evalCase, m func() *Message) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			if got := evalString(t, tc.expr, m()); got != tc.want {
				t.Errorf("%s: got %s, want %s", tc.expr, got, tc.want)
			}
		})
	}
}

func TestLiterals(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"12", "12"},
		{"0", "0"},
		{"0x1F", "31"},
		{"0XfF", "255"},
		{"0xFFFFFFFFFFFFFFFF", "18446744073709552000"}, // float64: exact up to 2^53
		{"9007199254740993", "9007199254740992"},
		{"1.5", "1.5"},
		{"1e3", "1000"},
		{"1E3", "1000"},
		{"1.5E-2", "0.015"},
		{"2e+2", "200"},
		{"1e21", "1e+21"},
		{"'abc'", "'abc'"},
		{`"abc"`, "'abc'"},
		{`''`, "''"},
		{`'it\'s'`, `'it\'s'`},
		{`"say \"hi\""`, `'say "hi"'`},
		{`'back\\slash'`, `'back\\slash'`},
		{`'\u00e9t\u00C9'`, "'étÉ'"},
		{`'\uD83D\uDE00'`, "'😀'"},
		{`'\uD83D'`, "'\uFFFD'"},
		{`'\uDB40\uDC01'`, `'\uDB40\uDC01'`}, // not printable, outside the BMP
		{`'\/\b\f\n\r\t'`, `'/\u0008\u000C\u000A\u000D\u0009'`},
		{`'tab	raw'`, `'tab\u0009raw'`},
		{"true", "true"},
		{"TRUE", "true"},
		{"False", "false"},
		{"null", "null"},
		{"NULL", "null"},
		{"undefined", "undefined"},
		{"/* comment */ 1 /* another */", "1"},
	}, testMessage)
}

func TestArithmetic(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"1 + 2", "3"},
		{"5 - 7", "-2"},
		{"2 * 3", "6"},
		{"7 / 2", "3.5"},
		{"7 % 3", "1"},
		{"-7 % 3", "-1"},
		{"7.5 % 2", "1.5"},
		{"1 / 0", "undefined"},
		{"5 % 0", "undefined"},
		{"1e308 * 10", "undefined"},
		{"-3", "-3"},
		{"- -3", "3"},
		{"-(1 + 2)", "-3"},
		{"temp + 1", "26"},
		{"num * 2", "2000"},
		{"spaced + 0", "7"},
		{"-temp", "-25"},
		{"bad + 1", "undefined"},
		{"empty + 1", "undefined"},
		{"missing + 1", "undefined"},
		{"undefined + 1", "undefined"},
		{"$body.f * 2", "3"},
		{"-$body.neg", "2"},
		{"$body.s + 1", "undefined"},
		{"$body.num + 1", "undefined"},
		{"$body.n + 1", "undefined"},
		{"$body.t + 1", "undefined"},
		{"$messageId + 1", "undefined"},
	}, testMessage)
}

func TestConcatOperator(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"'a' || 'b'", "'ab'"},
		{"name || '!'", "'Alice!'"},
		{"'x' || $body.s", "'xhéllo'"},
		{"$body.f || 'x'", "undefined"},
		{"missing || 'x'", "undefined"},
		{"'a' || 'b' || 'c'", "'abc'"},
	}, testMessage)
}

func TestComparisons(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"1 < 2", "true"},
		{"2 < 1", "false"},
		{"2 <= 2", "true"},
		{"3 <= 2", "false"},
		{"3 > 2", "true"},
		{"2 > 2", "false"},
		{"2 >= 3", "false"},
		{"3 >= 3", "true"},
		{"1 = 1.0", "true"},
		{"1 = 2", "false"},
		{"1 != 1", "false"},
		{"1 != 2", "true"},
		{"1 <> 2", "true"},
		{"1 <> 1", "false"},
		{"'a' < 'b'", "true"},
		{"'B' < 'a'", "true"},
		{"'abc' = 'abc'", "true"},
		{"'abc' = 'ABC'", "false"},
		{"'é' > 'z'", "true"},
		{"true = true", "true"},
		{"true != false", "true"},
		{"false < true", "true"},
		{"true <= false", "false"},
		{"null = null", "true"},
		{"null != null", "false"},
		{"null < null", "false"},
		{"null <= null", "true"},
		{"null >= null", "true"},
		{"temp = 25", "true"},
		{"25 = temp", "true"},
		{"temp > 24.5", "true"},
		{"temp < 3", "false"},
		{"temp = '25'", "true"},
		{"temp = '25.0'", "false"},
		{"temp = 25.0", "true"},
		{"spaced = 7", "true"},
		{"temp > name", "false"},
		{"bad > 1", "undefined"},
		{"empty = 0", "undefined"},
		{"empty = ''", "true"},
		{"missing = 1", "false"},
		{"missing != 1", "false"},
		{"missing = missing", "false"},
		{"1 = undefined", "false"},
		{"undefined <> undefined", "false"},
		{"$body.nowhere < 1", "false"},
		{"$body.nowhere >= 'a'", "false"},
		{"$body.obj = $body.obj", "undefined"},
		{"$body.arr != $body.arr", "undefined"},
		{"$body.s = 1", "undefined"},
		{"$body.num = 12", "undefined"},
		{"$body.num = '12'", "true"},
		{"$body.n = null", "true"},
		{"$body.n = 0", "undefined"},
		{"$body.f = 1.5", "true"},
		{"$body.t = true", "true"},
		{"$body.t = 'true'", "undefined"},
		{"$body.a.b[1] = 'x'", "true"},
		{"num = 1000", "true"},
		{"$messageId = 'msg-1'", "true"},
	}, testMessage)
}

func TestLogical(t *testing.T) {
	// The truth tables of the IoT Hub query language, with u = undefined.
	vals := map[string]string{"t": "true", "f": "false", "u": "undefined"}
	and := map[string]string{
		"tt": "true", "tf": "false", "tu": "undefined",
		"ft": "false", "ff": "false", "fu": "false",
		"ut": "undefined", "uf": "false", "uu": "undefined",
	}
	or := map[string]string{
		"tt": "true", "tf": "true", "tu": "true",
		"ft": "true", "ff": "false", "fu": "undefined",
		"ut": "true", "uf": "undefined", "uu": "undefined",
	}
	var cases []evalCase
	for k, want := range and {
		cases = append(cases, evalCase{vals[k[:1]] + " AND " + vals[k[1:]], want})
	}
	for k, want := range or {
		cases = append(cases, evalCase{vals[k[:1]] + " OR " + vals[k[1:]], want})
	}
	cases = append(cases,
		evalCase{"NOT true", "false"},
		evalCase{"NOT false", "true"},
		evalCase{"NOT undefined", "undefined"},
		evalCase{"not not true", "true"},
		evalCase{"NOT (missing = 1)", "true"},
		evalCase{"NOT (missing != 1)", "true"},
		evalCase{"NOT (bad > 1)", "undefined"},
		evalCase{"NOT $body.f", "undefined"},
		evalCase{"$body.f AND true", "undefined"},
		evalCase{"$body.f AND false", "false"},
		evalCase{"$body.f OR true", "true"},
		evalCase{"$body.n OR false", "undefined"},
		evalCase{"true and false", "false"},
		evalCase{"false Or true", "true"},
	)
	runEvalCases(t, cases, testMessage)
}

func TestCoalesce(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"missing ?? 'd'", "'d'"},
		{"name ?? 'd'", "'Alice'"},
		{"empty ?? 'd'", "''"},
		{"$body.n ?? 1", "null"},
		{"$body.nope ?? 1", "1"},
		{"undefined ?? undefined", "undefined"},
		{"missing ?? other ?? 'z'", "'x'"},
		{"missing ?? missing2 ?? 'z'", "'z'"},
		{"(missing = 1) ?? false", "false"},
		{"$body.obj ?? 1", "object"},
	}, testMessage)
}

func TestPrecedence(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"1 + 2 * 3", "7"},
		{"(1 + 2) * 3", "9"},
		{"10 - 4 - 3", "3"},
		{"10 - (4 - 3)", "9"},
		{"24 / 4 / 2", "3"},
		{"2 * 3 % 4", "2"},
		{"-2 * 3", "-6"},
		{"- 2 - 3", "-5"},
		{"1 + 2 < 4", "true"},
		{"'b' || 'a' < 'bb'", "true"},
		{"'a' || 'b' = 'ab'", "true"},
		{"1 < 2 = true", "true"},
		{"true = 1 < 2", "true"},
		{"true OR false AND false", "true"},
		{"(true OR false) AND false", "false"},
		{"NOT true AND false", "false"},
		{"NOT false OR true", "true"},
		{"NOT (1 = 2) AND 2 > 1", "true"},
		{"1 = 1 AND 2 = 2", "true"},
		{"name ?? 'x' || 'y'", "'Alice'"},
		{"missing ?? 'x' || 'y'", "'xy'"},
		{"missing ?? false OR true", "true"},
		{"1 + 2 * 3 - 4 / 2 > 4 AND 'a' || 'b' = 'ab' OR false", "true"},
	}, testMessage)
}

func TestFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"ABS(-2)", "2"},
		{"ABS(2.5)", "2.5"},
		{"abs(temp)", "25"},
		{"ABS(name)", "undefined"},
		{"ABS(missing)", "undefined"},
		{"EXP(0)", "1"},
		{"EXP(1000)", "undefined"},
		{"POWER(2, 10)", "1024"},
		{"POWER(4, 0.5)", "2"},
		{"POWER(-1, 0.5)", "undefined"},
		{"POWER(2, missing)", "undefined"},
		{"SQUARE(3)", "9"},
		{"SQUARE(-1.5)", "2.25"},
		{"CEILING(1.2)", "2"},
		{"CEILING(-1.2)", "-1"},
		{"FLOOR(1.8)", "1"},
		{"FLOOR(-1.2)", "-2"},
		{"SIGN(-3)", "-1"},
		{"SIGN(0)", "0"},
		{"SIGN(0.1)", "1"},
		{"SQRT(16)", "4"},
		{"SQRT(-1)", "undefined"},
		{"AS_NUMBER('12')", "12"},
		{"AS_NUMBER(' -1.5e1 ')", "-15"},
		{"AS_NUMBER(temp)", "25"},
		{"AS_NUMBER('x')", "undefined"},
		{"AS_NUMBER('0x10')", "undefined"},
		{"AS_NUMBER('1e999')", "undefined"},
		{"AS_NUMBER(true)", "undefined"},
		{"AS_NUMBER(1.5)", "1.5"},
		{"AS_NUMBER(null)", "undefined"},
		{"AS_NUMBER($body.num)", "12"},
		{"IS_BOOL(true)", "true"},
		{"IS_BOOL(1)", "false"},
		{"IS_BOOL(missing)", "false"},
		{"IS_DEFINED(missing)", "false"},
		{"IS_DEFINED(name)", "true"},
		{"IS_DEFINED($body.n)", "true"},
		{"IS_DEFINED($body.zz)", "false"},
		{"IS_DEFINED(undefined)", "false"},
		{"IS_NULL($body.n)", "true"},
		{"IS_NULL(null)", "true"},
		{"IS_NULL(missing)", "false"},
		{"IS_NULL(0)", "false"},
		{"IS_NUMBER($body.f)", "true"},
		{"IS_NUMBER(temp)", "false"},
		{"IS_NUMBER(missing)", "false"},
		{"IS_STRING(temp)", "true"},
		{"IS_STRING(1)", "false"},
		{"IS_OBJECT($body.obj)", "true"},
		{"IS_OBJECT($body)", "true"},
		{"IS_OBJECT($body.arr)", "false"},
		{"IS_ARRAY($body.arr)", "true"},
		{"IS_ARRAY($body.a.b)", "true"},
		{"IS_ARRAY('[]')", "false"},
		{"IS_PRIMITIVE($body.obj)", "false"},
		{"IS_PRIMITIVE($body.arr)", "false"},
		{"IS_PRIMITIVE(null)", "true"},
		{"IS_PRIMITIVE('s')", "true"},
		{"IS_PRIMITIVE(1)", "true"},
		{"IS_PRIMITIVE(false)", "true"},
		{"IS_PRIMITIVE(missing)", "false"},
		{"CONCAT('a', 'b')", "'ab'"},
		{"CONCAT('a', 'b', 'c')", "'abc'"},
		{"CONCAT('a', 'b', 'c', 'd', 'e', 'f')", "'abcdef'"},
		{"CONCAT(name, '-', temp)", "'Alice-25'"},
		{"CONCAT('a', missing)", "undefined"},
		{"CONCAT('a', $body.f)", "undefined"},
		{"LENGTH('héllo')", "5"},
		{"LENGTH('')", "0"},
		{"LENGTH($body.s)", "5"},
		{"LENGTH($body.f)", "undefined"},
		{"LOWER('AbC')", "'abc'"},
		{"LOWER(missing)", "undefined"},
		{"UPPER(name)", "'ALICE'"},
		{"UPPER('é')", "'É'"},
		{"SUBSTRING('hello', 1, 3)", "'ell'"},
		{"SUBSTRING('héllo', 1, 2)", "'él'"},
		{"SUBSTRING('abc', -1, 2)", "'ab'"},
		{"SUBSTRING('abc', 2, 10)", "'c'"},
		{"SUBSTRING('abc', 5, 1)", "''"},
		{"SUBSTRING('abc', 1.9, 1)", "'b'"},
		{"SUBSTRING('abc', 0, -1)", "''"},
		{"SUBSTRING('abc', 0, 3)", "'abc'"},
		{"SUBSTRING(name, temp, 1)", "''"},
		{"SUBSTRING('abc', missing, 1)", "undefined"},
		{"INDEX_OF('héllo', 'l')", "2"},
		{"INDEX_OF('abc', 'z')", "-1"},
		{"INDEX_OF('abc', '')", "0"},
		{"INDEX_OF(missing, 'a')", "undefined"},
		{"STARTS_WITH(name, 'Al')", "true"},
		{"STARTS_WITH(name, 'al')", "false"},
		{"STARTS_WITH(missing, 'al')", "undefined"},
		{"ENDS_WITH(name, 'ce')", "true"},
		{"ENDS_WITH(name, 'x')", "false"},
		{"CONTAINS(name, 'lic')", "true"},
		{"CONTAINS(name, 'z')", "false"},
		{"CONTAINS(name, missing)", "undefined"},
		{"CONTAINS($body.f, '1')", "undefined"},
	}, testMessage)
}

func TestSystemProperties(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"$contentType", "'application/json'"},
		{"$CONTENTTYPE", "'application/json'"},
		{"{$contentType}", "'application/json'"},
		{"$contentEncoding", "'utf-8'"},
		{"$messageId", "'msg-1'"},
		{"$correlationId", "'corr-1'"},
		{"$userId", "'user-1'"},
		{"$connectionDeviceId", "'dev-1'"},
		{"$connectionModuleId", "'mod-1'"},
		{"$outputName", "'out-1'"},
		{"{ $outputName }", "'out-1'"},
	}, testMessage)

	// An application property named like a system property hides it from
	// $x but not from {$x}; an empty system property is undefined.
	shadowed := func() *Message {
		m := testMessage()
		m.Properties["$contentType"] = "from-app"
		m.UserID = ""
		m.Output = ""
		return m
	}
	runEvalCases(t, []evalCase{
		{"$contentType", "'from-app'"},
		{"{$contentType}", "'application/json'"},
		{"$userId", "undefined"},
		{"$outputName", "undefined"},
		{"IS_DEFINED($userId)", "false"},
	}, shadowed)
}

func TestBody(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"$body", "object"},
		{"$body.a", "object"},
		{"$body.a.b", "array"},
		{"$body.a.b[0]", "10"},
		{"$body.a.b[1]", "'x'"},
		{"$body.a.b[2].c", "true"},
		{"$body.a.b[3]", "undefined"},
		{"$body.a[0]", "undefined"},
		{"$body.a.b.c", "undefined"},
		{"$body.f.x", "undefined"},
		{"$body['key with space']", "7"},
		{"$body.key", "5"},
		{`$body["a"]["b"][0]`, "10"},
		{"$body.s", "'héllo'"},
		{"$body.esc", `'a"bé😀'`},
		{"$body.n", "null"},
		{"$body.neg", "-2"},
		{"$body.big", "undefined"},
		{"$body.dup", "2"},
		{"$body.missing", "undefined"},
		{"$body.arr[0]", "undefined"},
		{"$BODY.f", "1.5"},
	}, testMessage)
}

func utf16Body(s string, order binary.AppendByteOrder, bom bool) []byte {
	var out []byte
	if bom {
		out = order.AppendUint16(out, 0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

func utf32Body(s string, order binary.AppendByteOrder, bom bool) []byte {
	var out []byte
	if bom {
		out = order.AppendUint32(out, 0xFEFF)
	}
	for _, r := range s {
		out = order.AppendUint32(out, uint32(r))
	}
	return out
}

func TestBodyEncodings(t *testing.T) {
	const doc = `{"t": "é😀", "n": 5}`
	tests := []struct {
		name        string
		contentType string
		encoding    string
		body        []byte
		want        string // $body.t
	}{
		{"utf-8", "application/json", "utf-8", []byte(doc), "'é😀'"},
		{"utf-8 upper case", "APPLICATION/JSON", "UTF-8", []byte(doc), "'é😀'"},
		{"utf-8 with charset", "application/json; charset=utf-8", "utf-8", []byte(doc), "'é😀'"},
		{"utf-8 bom", "application/json", "utf-8", append([]byte{0xEF, 0xBB, 0xBF}, doc...), "'é😀'"},
		{"utf-16le", "application/json", "utf-16", utf16Body(doc, binary.LittleEndian, false), "'é😀'"},
		{"utf-16be", "application/json", "utf-16", utf16Body(doc, binary.BigEndian, false), "'é😀'"},
		{"utf-16le bom", "application/json", "UTF-16", utf16Body(doc, binary.LittleEndian, true), "'é😀'"},
		{"utf-16be bom", "application/json", "utf-16", utf16Body(doc, binary.BigEndian, true), "'é😀'"},
		{"utf-32le", "application/json", "utf-32", utf32Body(doc, binary.LittleEndian, false), "'é😀'"},
		{"utf-32be bom", "application/json", "utf-32", utf32Body(doc, binary.BigEndian, true), "'é😀'"},
		{"utf-16 odd length", "application/json", "utf-16", []byte(doc), "undefined"},
		{"utf-32 bad length", "application/json", "utf-32", []byte(doc + "  "), "undefined"},
		{"no content type", "", "utf-8", []byte(doc), "undefined"},
		{"text/plain", "text/plain", "utf-8", []byte(doc), "undefined"},
		{"no encoding", "application/json", "", []byte(doc), "undefined"},
		{"latin-1", "application/json", "iso-8859-1", []byte(doc), "undefined"},
		{"malformed", "application/json", "utf-8", []byte(`{"t": "x",}`), "undefined"},
		{"trailing data", "application/json", "utf-8", []byte(`{"t": "x"} x`), "undefined"},
		{"empty", "application/json", "utf-8", nil, "undefined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{ContentType: tt.contentType, ContentEncoding: tt.encoding, Body: tt.body}
			if got := evalString(t, "$body.t", m); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBodyMalformed(t *testing.T) {
	for _, body := range []string{
		``, ` `, `{`, `}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{"a":}`, `{a:1}`, `{"a":1,}`,
		`"\x"`, `"\u12"`, `"\u12zz"`, "\"\x01\"", `"abc`, `tru`, `nul`, `fals`, `01`, `-`, `1.`,
		`1e`, `.5`, `+1`, `[` + string(make([]byte, 0)) + `]]`, `{"a":1}{}`, `NaN`,
	} {
		t.Run(body, func(t *testing.T) {
			m := &Message{ContentType: "application/json", ContentEncoding: "utf-8", Body: []byte(body)}
			if got := evalString(t, "IS_DEFINED($body)", m); got != "false" {
				t.Errorf("IS_DEFINED($body) for %q: got %s, want false", body, got)
			}
		})
	}
	deep := make([]byte, 0, 2*maxDepth+10)
	for range maxDepth + 2 {
		deep = append(deep, '[')
	}
	m := &Message{ContentType: "application/json", ContentEncoding: "utf-8", Body: deep}
	if got := evalString(t, "IS_DEFINED($body)", m); got != "false" {
		t.Errorf("deep body: got %s, want false", got)
	}
}

func TestBodyValidForms(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`1`, "1"}, {`-0.5e-3`, "-0.0005"}, {`"s"`, "'s'"}, {`true`, "true"}, {`null`, "null"},
		{` [ ] `, "array"}, {`{ }`, "object"}, {"\t{\"a\" :\n[1, {\"b\": []}]}\r\n", "object"},
		{`"\"\\\/\b\f\n\r\t\u0041"`, `'"\\/\u0008\u000C\u000A\u000D\u0009A'`},
		{`"\ud83d"`, "'\uFFFD'"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			m := &Message{ContentType: "application/json", ContentEncoding: "utf-8", Body: []byte(tc.body)}
			if got := evalString(t, "$body", m); got != tc.want {
				t.Errorf("$body of %q: got %s, want %s", tc.body, got, tc.want)
			}
		})
	}
}

func TestSources(t *testing.T) {
	leaf := &Message{}
	modOut := &Message{Module: "Sensor", Output: "Temp"}
	modNoOut := &Message{Module: "sensor"}
	other := &Message{Module: "other", Output: "temp"}
	twin := &Message{Module: "sensor", TwinChange: true}
	msgs := []*Message{leaf, modOut, modNoOut, other, twin}
	tests := []struct {
		source    string
		canonical string
		want      [5]bool // leaf, modOut, modNoOut, other, twin
	}{
		{"/*", "/*", [5]bool{true, true, true, true, true}},
		{"/", "/*", [5]bool{true, true, true, true, true}},
		{"/messages/*", "/messages/*", [5]bool{true, true, true, true, false}},
		{"/messages", "/messages/*", [5]bool{true, true, true, true, false}},
		{"/MESSAGES/", "/messages/*", [5]bool{true, true, true, true, false}},
		{"/messages/modules/*", "/messages/modules/*", [5]bool{false, true, true, true, false}},
		{"/messages/modules", "/messages/modules/*", [5]bool{false, true, true, true, false}},
		{"/messages/modules/sensor", "/messages/modules/sensor/*", [5]bool{false, true, true, false, false}},
		{"/messages/modules/sensor/*", "/messages/modules/sensor/*", [5]bool{false, true, true, false, false}},
		{"/messages/Modules/SENSOR/", "/messages/modules/SENSOR/*", [5]bool{false, true, true, false, false}},
		{"/messages/modules/sensor/outputs/*", "/messages/modules/sensor/outputs/*", [5]bool{false, true, false, false, false}},
		{"/messages/modules/sensor/outputs", "/messages/modules/sensor/outputs/*", [5]bool{false, true, false, false, false}},
		{"/messages/modules/sensor/outputs/temp", "/messages/modules/sensor/outputs/temp", [5]bool{false, true, false, false, false}},
		{"/messages/modules/sensor/outputs/temp/*", "/messages/modules/sensor/outputs/temp", [5]bool{false, true, false, false, false}},
		{"/messages/modules/sensor/outputs/hum", "/messages/modules/sensor/outputs/hum", [5]bool{false, false, false, false, false}},
		{"/messages/modules/sens", "/messages/modules/sens/*", [5]bool{false, false, false, false, false}},
		{"/twinChangeNotifications", "/twinChangeNotifications", [5]bool{false, false, false, false, true}},
		{"/TwinChangeNotifications/*", "/twinChangeNotifications", [5]bool{false, false, false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			r, err := Parse("FROM " + tt.source + " INTO $upstream")
			if err != nil {
				t.Fatal(err)
			}
			if r.Source != tt.canonical {
				t.Errorf("Source = %q, want %q", r.Source, tt.canonical)
			}
			for i, m := range msgs {
				if got := r.Match(m); got != tt.want[i] {
					t.Errorf("Match(%+v) = %v, want %v", *m, got, tt.want[i])
				}
			}
		})
	}
}

func TestSinks(t *testing.T) {
	tests := []struct {
		text string
		want Sink
		str  string
	}{
		{"$upstream", Sink{Kind: SinkUpstream}, "$upstream"},
		{"$UPSTREAM", Sink{Kind: SinkUpstream}, "$upstream"},
		{`BrokeredEndpoint("/modules/filter/inputs/in1")`, Sink{Kind: SinkModuleInput, Module: "filter", Input: "in1"},
			`BrokeredEndpoint("/modules/filter/inputs/in1")`},
		{`brokeredendpoint ( '/Modules/f-1.x/Inputs/a_b' )`, Sink{Kind: SinkModuleInput, Module: "f-1.x", Input: "a_b"},
			`BrokeredEndpoint("/modules/f-1.x/inputs/a_b")`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r, err := Parse("FROM /* INTO " + tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if r.Sink != tt.want {
				t.Errorf("Sink = %+v, want %+v", r.Sink, tt.want)
			}
			if got := r.Sink.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
		})
	}
}

func TestMatchNeedsExactlyTrue(t *testing.T) {
	m := testMessage()
	tests := []struct {
		cond string
		want bool
	}{
		{"true", true},
		{"false", false},
		{"undefined", false},
		{"$body.n", false},
		{"$body.f", false},
		{"$body.t", true},
		{"$body.obj", false},
		{"missing = 1", false},
		{"NOT (missing = 1)", true},
		{"NOT ($body.nowhere = 1)", true},
		{"NOT (bad > 1)", false},
		{"NOT IS_DEFINED(missing)", true},
		{"(missing ?? 'x') = 'x'", true},
		{"temp > 20 AND name = 'Alice'", true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			r := MustParse("FROM /messages/* WHERE " + tt.cond + " INTO $upstream")
			if got := r.Match(m); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBodyParsedOncePerMessage(t *testing.T) {
	parses := 0
	testHookBodyParse = func() { parses++ }
	t.Cleanup(func() { testHookBodyParse = nil })

	tab := NewTable([]Entry{
		{Name: "a", Route: MustParse(`FROM /* WHERE $body.f > 1 INTO BrokeredEndpoint("/modules/a/inputs/i")`)},
		{Name: "b", Route: MustParse(`FROM /* WHERE $body.s = 'héllo' INTO BrokeredEndpoint("/modules/b/inputs/i")`)},
		{Name: "c", Route: MustParse(`FROM /* WHERE $body.n = null INTO $upstream`)},
		{Name: "d", Route: MustParse(`FROM /* WHERE temp = 0 AND $body.zz = 1 INTO $upstream`)},
	})
	m := testMessage()
	if got := len(tab.Deliveries(m, nil)); got != 3 {
		t.Errorf("got %d deliveries, want 3", got)
	}
	if parses != 1 {
		t.Errorf("body parsed %d times for one message, want 1", parses)
	}

	// A route that never reads the body does not parse it.
	parses = 0
	MustParse("FROM /* WHERE temp = 25 OR $body.f = 1 INTO $upstream").Match(m)
	if parses != 0 {
		t.Errorf("body parsed %d times when OR was decided by its left side, want 0", parses)
	}

	// An unparsable body is tried once too.
	parses = 0
	bad := &Message{ContentType: "application/json", ContentEncoding: "utf-8", Body: []byte("{")}
	tab.Deliveries(bad, nil)
	if parses != 1 {
		t.Errorf("bad body parsed %d times, want 1", parses)
	}
}

func TestAllocations(t *testing.T) {
	m := benchMessage()
	tests := []struct {
		name  string
		route string
	}{
		{"no where", routeNoWhere},
		{"properties", routeProperties},
		{"functions on properties", `FROM /* WHERE STARTS_WITH(site, 'ly') AND LENGTH(alert) = 4 AND ` +
			`ABS(level - 10) = 3 AND (missing ?? 'x') = 'x' AND NOT IS_NULL(site) INTO $upstream`},
		{"body", routeBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := MustParse(tt.route)
			if !r.Match(m) {
				t.Fatalf("%s does not match", tt.route)
			}
			if got := testing.AllocsPerRun(100, func() { r.Match(m) }); got != 0 {
				t.Errorf("got %v allocations per evaluation, want 0", got)
			}
		})
	}
	t.Run("body costs fewer allocations than encoding/json", func(t *testing.T) {
		r := MustParse(routeBody)
		ours := testing.AllocsPerRun(100, func() { r.Match(m) })
		baseline := testing.AllocsPerRun(100, func() {
			var v map[string]any
			_ = json.Unmarshal(m.Body, &v)
		})
		if ours > baseline {
			t.Errorf("got %v allocations per $body evaluation, want at most %v (json.Unmarshal)", ours, baseline)
		}
	})
	t.Run("table", func(t *testing.T) {
		tab := NewTable([]Entry{
			{Name: "a", Route: MustParse(routeProperties)},
			{Name: "b", Route: MustParse(`FROM /* INTO BrokeredEndpoint("/modules/b/inputs/i")`), Priority: 3},
			{Name: "c", Route: MustParse(`FROM /* WHERE alert = 'low' INTO BrokeredEndpoint("/modules/c/inputs/i")`)},
		})
		dst := make([]Delivery, 0, 4)
		if got := testing.AllocsPerRun(100, func() { dst = tab.Deliveries(m, dst[:0]) }); got != 0 {
			t.Errorf("got %v allocations per message, want 0", got)
		}
		if len(dst) != 2 {
			t.Errorf("got %d deliveries, want 2", len(dst))
		}
	})
}

var _ = fmt.Sprint

type stringsBuilder struct{ strings.Builder }
