package route

import (
	"encoding/json"
	"testing"
)

var fuzzSeeds = []string{
	"FROM /messages/* INTO $upstream",
	"SELECT * FROM /messages/modules/sensor/outputs/temp WHERE temp > 30 INTO BrokeredEndpoint(\"/modules/f/inputs/in\")",
	"FROM /* WHERE $body.a.b[2]['c d'] = 'x' OR NOT IS_DEFINED({$contentType}) INTO $upstream",
	"FROM /twinChangeNotifications WHERE (a ?? b ?? 'c') = 'x' INTO $upstream",
	"FROM /messages/modules/m WHERE - -1 = 1 AND 1 + 2 * 3 % 4 / 5 - 6 < 7 INTO $upstream",
	"from /messages where 'a' || \"b\\u00e9\\n\" <> CONCAT(x, y, z) into $UPSTREAM",
	"FROM /* WHERE 0x1F >= 1.5e-3 AND true != false AND null = null ?? undefined INTO $upstream",
	"FROM /* /* c */ WHERE SUBSTRING(LOWER(UPPER(n)), 0, LENGTH(n)) = n INTO $upstream",
	"FROM /* WHERE ABS(SQRT(POWER(SQUARE(EXP(CEILING(FLOOR(SIGN(AS_NUMBER(x))))), 2))) > 0 INTO $upstream",
	"FROM /* WHERE IS_BOOL(a) OR IS_NULL(a) OR IS_NUMBER(a) OR IS_STRING(a) OR IS_OBJECT(a) OR " +
		"IS_ARRAY(a) OR IS_PRIMITIVE(a) OR STARTS_WITH(a, 'x') OR ENDS_WITH(a, 'x') OR CONTAINS(a, 'x') " +
		"OR INDEX_OF(a, 'x') = 1 INTO $upstream",
	"FROM /messages/* WHERE $body.temp > 30.5 INT0 $upstream",
	"FROM /* WHERE '\\uD83D\\uDE00' = '😀' INTO $upstream",
}

// FuzzParse checks that no input makes Parse or Match panic, and that a
// route that parses prints as text that parses to the same route.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	m := testMessage()
	f.Fuzz(func(t *testing.T, text string) {
		r, err := Parse(text)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T, want *route.Error", err)
			}
			return
		}
		s := r.String()
		r2, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", text, s, err)
		}
		if s2 := r2.String(); s2 != s {
			t.Fatalf("round trip of %q: got %q, want %q", text, s2, s)
		}
		if r.Match(m) != r2.Match(m) {
			t.Fatalf("%q and its canonical form %q disagree on the test message", text, s)
		}
	})
}

// FuzzBody checks that the body parser accepts exactly the JSON documents
// that encoding/json accepts (within the nesting limit), without panics.
func FuzzBody(f *testing.F) {
	for _, s := range []string{testBody, `[1, 2.5e3, "x\u00e9"]`, `{"a":{"b":null}}`, `"\ud83d"`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d := getDoc()
		defer putDoc(d)
		got := d.load(&Message{ContentType: "application/json", ContentEncoding: "utf-8", Body: body})
		valid := json.Valid(body)
		if len(body) >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF {
			valid = json.Valid(body[3:])
		}
		if got && !valid {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if !got && valid && depthOf(body) <= maxDepth {
			t.Fatalf("rejected valid JSON %q", body)
		}
		if got {
			for i := range d.nodes {
				d.value(int32(i))
			}
		}
	})
}

// depthOf is an upper bound of the nesting of a JSON text.
func depthOf(b []byte) int {
	depth, maxd := 0, 0
	for _, c := range b {
		switch c {
		case '[', '{':
			depth++
			maxd = max(maxd, depth)
		case ']', '}':
			depth--
		}
	}
	return maxd
}
