package route

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	const w = "FROM /messages/* WHERE "
	const sinks = `$upstream or BrokeredEndpoint("/modules/<module>/inputs/<input>")`
	tests := []struct {
		route string
		want  string
	}{
		{"", `line 1, column 1: expected FROM, found end of route`},
		{"   ", `line 1, column 4: expected FROM, found end of route`},
		{"FORM /messages/* INTO $upstream", `line 1, column 1: expected FROM, found "FORM"`},
		{"SELECT FROM /* INTO $upstream", `line 1, column 8: expected * after SELECT, found "FROM"`},
		{"SELECT * INTO $upstream", `line 1, column 10: expected FROM, found "INTO"`},
		{"FROM INTO $upstream", `line 1, column 6: expected a source such as /messages/* or ` +
			`/messages/modules/<module>/outputs/<output>, found "INTO"`},
		{"FROM", `line 1, column 5: expected a source such as /messages/* or ` +
			`/messages/modules/<module>/outputs/<output>, found end of route`},
		{"FROM /foo INTO $upstream", `line 1, column 6: expected a source: /*, /messages/*, /messages/modules/*, ` +
			`/messages/modules/<m>/*, /messages/modules/<m>/outputs/*, /messages/modules/<m>/outputs/<o> or ` +
			`/twinChangeNotifications, found "/foo"`},
		{"FROM /messages/modules/*/outputs/o INTO $upstream", `line 1, column 6: expected a source: /*, ` +
			`/messages/*, /messages/modules/*, /messages/modules/<m>/*, /messages/modules/<m>/outputs/*, ` +
			`/messages/modules/<m>/outputs/<o> or /twinChangeNotifications, found "/messages/modules/*/outputs/o"`},
		{"FROM /messages/* $upstream", `line 1, column 18: expected WHERE or INTO, found "$upstream"`},
		{"FROM /messages/* WHERE $body.temp > 30.5 INT0 $upstream",
			`line 1, column 42: expected INTO, found "INT0"`},
		{"FROM /messages/*\nWHERE a = 'x'\n  INT0 $upstream", `line 3, column 3: expected INTO, found "INT0"`},
		{"FROM /messages/*\r\nWHERE a = 'é'\r\n\tINT0 $upstream", `line 3, column 2: expected INTO, found "INT0"`},
		{w + "a = 1 2 INTO $upstream", `line 1, column 30: expected an operator or INTO, found "2"`},
		{w + "a = 1", `line 1, column 29: expected INTO, found end of route`},
		{"FROM /messages/* INTO", `line 1, column 22: expected ` + sinks + `, found end of route`},
		{"FROM /messages/* INTO upstream", `line 1, column 23: expected ` + sinks + `, found "upstream"`},
		{"FROM /messages/* INTO $upstream extra", `line 1, column 33: expected end of route, found "extra"`},
		{"FROM /* INTO BrokeredEndpoint", `line 1, column 30: expected ( after BrokeredEndpoint, found end of route`},
		{"FROM /* INTO BrokeredEndpoint(/modules/a/inputs/b)",
			`line 1, column 31: expected a quoted endpoint such as "/modules/<module>/inputs/<input>", found "/"`},
		{"FROM /* INTO BrokeredEndpoint('/modules/a/outputs/b')",
			`line 1, column 31: expected an endpoint "/modules/<module>/inputs/<input>", found "'/modules/a/outputs/b'"`},
		{"FROM /* INTO BrokeredEndpoint('/modules/a b/inputs/b')",
			`line 1, column 31: expected an endpoint "/modules/<module>/inputs/<input>", found "'/modules/a b/inputs/b'"`},
		{"FROM /* INTO BrokeredEndpoint('/modules/a/inputs/b'", `line 1, column 52: expected ), found end of route`},
		{w + "a = 'abc INTO $upstream", `line 1, column 28: unterminated string: missing closing '`},
		{w + `a = "abc\`, `line 1, column 28: unterminated string: missing closing "`},
		{w + `a = 'a\qb' INTO $upstream`, `line 1, column 30: expected an escape \\ \" \' \/ \b \f \n \r \t or \uXXXX, found "\\q"`},
		{w + `a = '\u12' INTO $upstream`, `line 1, column 29: expected four hexadecimal digits after \u, found "\\u12' "`},
		{w + "a = 1.x INTO $upstream", `line 1, column 28: expected a digit after the decimal point, found "1.x"`},
		{w + "a = 1. INTO $upstream", `line 1, column 28: expected a digit after the decimal point, found "1."`},
		{w + "a = 1e INTO $upstream", `line 1, column 28: expected digits in the exponent, as in 1.5e3, found "1e"`},
		{w + "a = 1e+ INTO $upstream", `line 1, column 28: expected digits in the exponent, as in 1.5e3, found "1e+"`},
		{w + "a = 0x INTO $upstream", `line 1, column 28: expected a hexadecimal number such as 0x1F, found "0x"`},
		{w + "a = 0x1G INTO $upstream", `line 1, column 28: expected a hexadecimal number such as 0x1F, found "0x1G"`},
		{w + "a = 12abc INTO $upstream", `line 1, column 28: expected a number, found "12abc"`},
		{w + "a = 0x1FFFFFFFFFFFFFFFF INTO $upstream",
			`line 1, column 28: number out of range: hexadecimal numbers have at most 16 digits`},
		{w + "a = 1e999 INTO $upstream", `line 1, column 28: number out of range`},
		{w + "a | b INTO $upstream", `line 1, column 26: expected || (string concatenation), found "|"`},
		{w + "a ? b INTO $upstream", `line 1, column 26: expected ?? (coalesce), found "?"`},
		{w + "a ! b INTO $upstream", `line 1, column 26: expected != (not equal), found "!"`},
		{w + "a # b INTO $upstream", `line 1, column 26: unexpected character; expected an expression or operator, found "#"`},
		{w + "a = 'x' INTO $upstream ;", `line 1, column 47: unexpected character; expected an expression or operator, found ";"`},
		{w + "$ = 1 INTO $upstream", `line 1, column 24: expected a name after $ such as $body or $contentType, found "$"`},
		{w + "$foo = 1 INTO $upstream", `line 1, column 24: expected $body or a system property: $contentType, ` +
			`$contentEncoding, $messageId, $correlationId, $userId, $connectionDeviceId, $connectionModuleId or ` +
			`$outputName, found "$foo"`},
		{w + "{$body} = 1 INTO $upstream", `line 1, column 25: expected a system property such as $contentType after {, found "$body"`},
		{w + "{$contentType = 1 INTO $upstream", `line 1, column 38: expected }, found "="`},
		{w + "$body. = 1 INTO $upstream", `line 1, column 31: expected a property name after ., found "="`},
		{w + "$body[-1] = 1 INTO $upstream", `line 1, column 30: expected an array index (0, 1, ...) or a quoted property name, found "-"`},
		{w + "$body[1.5] = 1 INTO $upstream", `line 1, column 30: expected an array index (0, 1, ...) or a quoted property name, found "1.5"`},
		{w + "$body[a] = 1 INTO $upstream", `line 1, column 30: expected an array index (0, 1, ...) or a quoted property name, found "a"`},
		{w + "$body[0 = 1 INTO $upstream", `line 1, column 32: expected ], found "="`},
		{w + "FOO(1) = 1 INTO $upstream", `line 1, column 24: unknown function FOO`},
		{w + "UPER(a) = 'A' INTO $upstream", `line 1, column 24: unknown function UPER (did you mean UPPER?)`},
		{w + "is_defind(a) INTO $upstream", `line 1, column 24: unknown function is_defind (did you mean IS_DEFINED?)`},
		{w + "ABS() = 1 INTO $upstream", `line 1, column 24: ABS takes 1 argument, found 0`},
		{w + "ABS(1, 2) = 1 INTO $upstream", `line 1, column 24: ABS takes 1 argument, found 2`},
		{w + "POWER(1) = 1 INTO $upstream", `line 1, column 24: POWER takes 2 arguments, found 1`},
		{w + "SUBSTRING('a', 1) = 'a' INTO $upstream", `line 1, column 24: SUBSTRING takes 3 arguments, found 2`},
		{w + "CONCAT('a') = 'a' INTO $upstream", `line 1, column 24: CONCAT takes at least 2 arguments, found 1`},
		{w + "ABS(1 2) = 1 INTO $upstream", `line 1, column 30: expected , or ), found "2"`},
		{w + "ABS(1, ) = 1 INTO $upstream", `line 1, column 31: expected an expression, found ")"`},
		{w + "UPPER(1) = 'A' INTO $upstream", `line 1, column 30: expected a string as argument 1 of UPPER, found "1"`},
		{w + "SUBSTRING('a', 'b', 1) = 'a' INTO $upstream",
			`line 1, column 39: expected a number as argument 2 of SUBSTRING, found "'b'"`},
		{w + "ABS(true) = 1 INTO $upstream", `line 1, column 28: expected a number as argument 1 of ABS, found "true"`},
		{w + "'a' + 1 = 2 INTO $upstream", `line 1, column 24: expected a number operand for +, found "'a'"`},
		{w + "null * 1 = 2 INTO $upstream", `line 1, column 24: expected a number operand for *, found "null"`},
		{w + "LOWER(a) % 2 = 1 INTO $upstream", `line 1, column 24: expected a number operand for %, found "LOWER(a)"`},
		{w + "1 || 'a' = 'a' INTO $upstream", `line 1, column 24: expected a string operand for ||, found "1"`},
		{w + "NOT name INTO $upstream", `line 1, column 28: expected a boolean operand for NOT, found "name"`},
		{w + "NOT a = 'x' INTO $upstream", `line 1, column 28: expected a boolean operand for NOT, found "a"`},
		{w + "name AND true INTO $upstream", `line 1, column 24: expected a boolean operand for AND, found "name"`},
		{w + "true OR 1 INTO $upstream", `line 1, column 32: expected a boolean operand for OR, found "1"`},
		{w + "-'a' = 1 INTO $upstream", `line 1, column 25: expected a number operand for unary -, found "'a'"`},
		{w + "'a' = 1 INTO $upstream", `line 1, column 30: expected a string to compare with 'a', found "1"`},
		{w + "(1 + 2) = (a || 'b') INTO $upstream",
			`line 1, column 34: expected a number to compare with (1 + 2), found "(a || 'b')"`},
		{w + "true < 1 INTO $upstream", `line 1, column 31: expected a boolean to compare with true, found "1"`},
		{w + "name INTO $upstream", `line 1, column 24: expected a boolean condition, found "name"`},
		{w + "1 + 1 INTO $upstream", `line 1, column 24: expected a boolean condition, found "1 + 1"`},
		{w + "(1 = 1 INTO $upstream", `line 1, column 31: expected an operator or ), found "INTO"`},
		{w + "INTO $upstream", `line 1, column 24: expected an expression, found "INTO"`},
		{w + "a = NOT INTO $upstream", `line 1, column 32: expected an expression, found "INTO"`},
		{w + "from = 1 INTO $upstream", `line 1, column 24: expected an expression, found "from"`},
		{w + "true /* unterminated INTO $upstream", `line 1, column 29: unterminated comment: /* has no closing */`},
		{"FROM /* INTO $upstream\xff", `line 1, column 23: invalid UTF-8 in the route`},
		{w + strings.Repeat("(", 300) + "true" + strings.Repeat(")", 300) + " INTO $upstream",
			`line 1, column 224: condition nested too deeply`},
		{w + strings.Repeat("NOT ", 300) + "true INTO $upstream",
			`line 1, column 824: condition nested too deeply`},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			r, err := Parse(tt.route)
			if err == nil {
				t.Fatalf("got route %q, want error %s", r, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got error of type %T, want *route.Error", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	_, err := Parse("FROM /messages/* WHERE $body.temp > 30.5 INT0 $upstream")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T, want *route.Error", err)
	}
	want := Error{Line: 1, Column: 42, Token: "INT0", Expected: "INTO"}
	if *e != want {
		t.Errorf("got %+v, want %+v", *e, want)
	}
}

func TestCanonicalString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"from /messages/* into $upstream", "FROM /messages/* INTO $upstream"},
		{"select * from /messages into $Upstream", "FROM /messages/* INTO $upstream"},
		{"FROM /* /* all */ WHERE /* c */ a = \"x\" INTO $upstream", "FROM /* WHERE a = 'x' INTO $upstream"},
		{"FROM /* WHERE ((a = 'x')) INTO $upstream", "FROM /* WHERE a = 'x' INTO $upstream"},
		{"FROM /* WHERE a - (b - c) = 0 INTO $upstream", "FROM /* WHERE a - (b - c) = 0 INTO $upstream"},
		{"FROM /* WHERE (a - b) - c = 0 INTO $upstream", "FROM /* WHERE a - b - c = 0 INTO $upstream"},
		{"FROM /* WHERE (a + b) * c = 0 INTO $upstream", "FROM /* WHERE (a + b) * c = 0 INTO $upstream"},
		{"FROM /* WHERE a + (b * c) = 0 INTO $upstream", "FROM /* WHERE a + b * c = 0 INTO $upstream"},
		{"FROM /* WHERE not (a = 'x') and b <> 'y' INTO $upstream", "FROM /* WHERE NOT (a = 'x') AND b != 'y' INTO $upstream"},
		{"FROM /* WHERE (true or false) and true INTO $upstream", "FROM /* WHERE (true OR false) AND true INTO $upstream"},
		{"FROM /* WHERE true or (false and true) INTO $upstream", "FROM /* WHERE true OR false AND true INTO $upstream"},
		{"FROM /* WHERE - -a = 1 INTO $upstream", "FROM /* WHERE - -a = 1 INTO $upstream"},
		{"FROM /* WHERE -(a + 1) = 1 INTO $upstream", "FROM /* WHERE -(a + 1) = 1 INTO $upstream"},
		{"FROM /* WHERE (a ?? b) ?? 'c' = 'x' INTO $upstream", "FROM /* WHERE a ?? b ?? 'c' = 'x' INTO $upstream"},
		{"FROM /* WHERE (a ?? b ?? 'c') = 'x' INTO $upstream", "FROM /* WHERE (a ?? b ?? 'c') = 'x' INTO $upstream"},
		{"FROM /* WHERE 0x10 = 1.50e1 INTO $upstream", "FROM /* WHERE 16 = 15 INTO $upstream"},
		{"FROM /* WHERE 1e-7 < 1e21 INTO $upstream", "FROM /* WHERE 1e-07 < 1e+21 INTO $upstream"},
		{`FROM /* WHERE "it's \u00e9\n" = 'x' INTO $upstream`, `FROM /* WHERE 'it\'s é\u000A' = 'x' INTO $upstream`},
		{"FROM /* WHERE $Body.a['b c'][2][\"d\"] = 1 INTO $upstream", "FROM /* WHERE $body.a['b c'][2].d = 1 INTO $upstream"},
		{"FROM /* WHERE $contenttype = 'a' AND {$MESSAGEID} = 'b' INTO $upstream",
			"FROM /* WHERE $contentType = 'a' AND {$messageId} = 'b' INTO $upstream"},
		{"FROM /* WHERE is_defined(x) and concat(a,b,c) = 'x' INTO $upstream",
			"FROM /* WHERE IS_DEFINED(x) AND CONCAT(a, b, c) = 'x' INTO $upstream"},
		{"FROM /* WHERE TRUE = False ?? NULL ?? Undefined INTO $upstream",
			"FROM /* WHERE true = false ?? null ?? undefined INTO $upstream"},
		{`FROM /messages/modules/m INTO brokeredEndpoint('/MODULES/x/INPUTS/y')`,
			`FROM /messages/modules/m/* INTO BrokeredEndpoint("/modules/x/inputs/y")`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := r.String()
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			r2, err := Parse(got)
			if err != nil {
				t.Fatalf("reparsing %q: %v", got, err)
			}
			if r2.String() != got {
				t.Errorf("reparsed: got %s, want %s", r2, got)
			}
		})
	}
}

func TestCondition(t *testing.T) {
	if got := MustParse("FROM /* INTO $upstream").Condition(); got != "" {
		t.Errorf("Condition() = %q, want empty", got)
	}
	if got, want := MustParse("FROM /* WHERE (a='b') INTO $upstream").Condition(), "a = 'b'"; got != want {
		t.Errorf("Condition() = %q, want %q", got, want)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse of a bad route did not panic")
		}
	}()
	MustParse("FROM")
}

func TestEqual(t *testing.T) {
	a := MustParse("select * from /messages where ((a = 'x')) /* c */ into $UPSTREAM")
	b := MustParse(`FROM /messages/* WHERE a = "x" INTO $upstream`)
	c := MustParse(`FROM /messages/* WHERE a = 'y' INTO $upstream`)
	if !a.Equal(b) {
		t.Errorf("%s and %s: got not equal, want equal", a, b)
	}
	if a.Equal(c) {
		t.Errorf("%s and %s: got equal, want not equal", a, c)
	}
}

func TestInvalidSources(t *testing.T) {
	for _, src := range []string{
		"/x", "/messages/x", "/messages/modules/m/x", "/messages/modules/m/outputs/o/p",
		"/messages//modules", "/messages/modules/*/outputs", "/messages/*/modules",
		"/messages/modules/m'/outputs/o", "/twinChangeNotifications/x",
	} {
		t.Run(src, func(t *testing.T) {
			_, err := Parse("FROM " + src + " INTO $upstream")
			var e *Error
			if !errors.As(err, &e) || e.Column != 6 || e.Token != src {
				t.Errorf("got %v, want an error at column 6 on %q", err, src)
			}
		})
	}
}

func TestLongTokenShortened(t *testing.T) {
	long := strings.Repeat("é", 100)
	_, err := Parse("FROM /* WHERE '" + long + "' = 1 INTO $upstream")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *route.Error", err)
	}
	if want := "1"; e.Token != want {
		t.Errorf("Token = %q, want %q", e.Token, want)
	}
	if got := len([]rune(e.Expected)); got > 100 {
		t.Errorf("Expected has %d characters, want at most 100: %s", got, e.Expected)
	}
	_, err = Parse("FROM /* WHERE NOT '" + long + "' INTO $upstream")
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *route.Error", err)
	}
	if want := "'" + strings.Repeat("é", 56) + "..."; e.Token != want {
		t.Errorf("Token = %q, want %q", e.Token, want)
	}
}

func TestTextMarshalling(t *testing.T) {
	type doc struct {
		R *Route `json:"route"`
	}
	in := `{"route":"from /messages where a = \"x\" into $upstream"}`
	var d doc
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"route":"FROM /messages/* WHERE a = 'x' INTO $upstream"}`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
	err = json.Unmarshal([]byte(`{"route":"FROM /* INT0 $upstream"}`), &d)
	var e *Error
	if !errors.As(err, &e) || e.Token != "INT0" {
		t.Errorf("got %v, want a *route.Error on INT0", err)
	}
}
