package topic

import (
	"errors"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		topic string
		want  Parsed
		err   bool
	}{
		{"modules/sensor/outputs/temp/%24.ct=application%2Fjson", Parsed{KindOutput, "sensor", "temp", "%24.ct=application%2Fjson"}, false},
		{"modules/sensor/outputs/temp/", Parsed{KindOutput, "sensor", "temp", ""}, false},
		{"modules/sensor/outputs/temp", Parsed{KindOutput, "sensor", "temp", ""}, false},
		{"modules/f/inputs/in1/a=b", Parsed{KindInput, "f", "in1", "a=b"}, false},
		{"modules/f/twin/get/r1", Parsed{KindTwinGet, "f", "r1", ""}, false},
		{"modules/f/twin/res/r1", Parsed{KindTwinResponse, "f", "r1", ""}, false},
		{"modules/f/twin/desired", Parsed{KindTwinDesired, "f", "", ""}, false},
		{"modules/f/twin/reported", Parsed{KindTwinReported, "f", "", ""}, false},
		{"modules/f/outputs/o/bag/extra", Parsed{}, true},
		{"modules/f/outputs//", Parsed{}, true},
		{"modules/$bad/outputs/o/", Parsed{}, true},
		{"other/f/outputs/o/", Parsed{}, true},
		{"modules/f/twin/get", Parsed{}, true},
		{"modules/f/twin/reported/x", Parsed{}, true},
		{"modules/f", Parsed{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			got, err := Parse(tt.topic)
			if tt.err {
				if !errors.Is(err, ErrUnknownTopic) {
					t.Fatalf("got err %v, want ErrUnknownTopic", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBagRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		bag  Bag
		want string
	}{
		{"empty", Bag{}, ""},
		{"app", Bag{Properties: map[string]string{"b": "2+3", "a": "x y/z#"}}, "a=x%20y%2Fz%23&b=2%2B3"},
		{"system", Bag{ContentType: "application/json", MessageID: "m1", OutputName: "temp"},
			"%24.ct=application%2Fjson&%24.mid=m1&%24.on=temp"},
		{"all", Bag{"ct", "ce", "mid", "cid", "uid", "dev", "mod", "out", map[string]string{"alert": "true"}},
			"%24.cdid=dev&%24.ce=ce&%24.cid=cid&%24.cmid=mod&%24.ct=ct&%24.mid=mid&%24.on=out&%24.uid=uid&alert=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.bag.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Encode: got %q, want %q", got, tt.want)
			}
			back, err := ParseBag(got)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.bag) {
				t.Errorf("ParseBag: got %+v, want %+v", back, tt.bag)
			}
		})
	}
}

func TestBagErrors(t *testing.T) {
	if _, err := (&Bag{Properties: map[string]string{"$x": "1"}}).Encode(); !errors.Is(err, ErrBadBag) {
		t.Errorf("Encode of $x: got %v, want ErrBadBag", err)
	}
	for _, s := range []string{"%zz=1", "$.nope=1", "a=1&a=2", "=1", "a=%"} {
		t.Run(s, func(t *testing.T) {
			if _, err := ParseBag(s); !errors.Is(err, ErrBadBag) {
				t.Errorf("got %v, want ErrBadBag", err)
			}
		})
	}
}

// nameSpec is the hub's identifier syntax, the definition ValidName
// implements by hand.
var nameSpec = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func TestValidNameMatchesSpec(t *testing.T) {
	cases := []string{"", "a", "A9", "9", "-a", ".a", "_a", "a-b.c_d", "a/b", "a+b", "a#", "a b", "é",
		"modules", strings.Repeat("a", 128), strings.Repeat("a", 129), "a\x00", "a\n"}
	for _, s := range cases {
		if got, want := ValidName(s), nameSpec.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "a-b", "-a", "a/b", strings.Repeat("x", 128)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidName(s), nameSpec.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	})
}

func BenchmarkValidName(b *testing.B) {
	b.Run("loop", func(b *testing.B) {
		for b.Loop() {
			ValidName("temperature-sensor_01")
		}
	})
	b.Run("regexp-baseline", func(b *testing.B) {
		for b.Loop() {
			nameSpec.MatchString("temperature-sensor_01")
		}
	})
}

// refEncode and refParseBag are the bag codec written with url.Values: the
// definition Encode and ParseBag implement without it.
func refEncode(b *Bag) string {
	v := url.Values{}
	for k, val := range b.Properties {
		v.Set(k, val)
	}
	for _, f := range b.system() {
		if *f.val != "" {
			v.Set(f.key, *f.val)
		}
	}
	return strings.ReplaceAll(v.Encode(), "+", "%20")
}

func refParseBag(s string) (Bag, bool) {
	var b Bag
	v, err := url.ParseQuery(s)
	if err != nil {
		return b, false
	}
	sys := b.system()
	for k, vals := range v {
		if len(vals) != 1 {
			return Bag{}, false
		}
		if !strings.HasPrefix(k, "$") {
			if k == "" {
				return Bag{}, false
			}
			if b.Properties == nil {
				b.Properties = map[string]string{}
			}
			b.Properties[k] = vals[0]
			continue
		}
		found := false
		for _, f := range sys {
			if f.key == k {
				*f.val, found = vals[0], true
			}
		}
		if !found {
			return Bag{}, false
		}
	}
	return b, true
}

func checkBagCodec(t *testing.T, s string) {
	got, err := ParseBag(s)
	want, ok := refParseBag(s)
	if (err == nil) != ok {
		t.Fatalf("ParseBag(%q): error %v, url.ParseQuery-based decoder ok=%v", s, err, ok)
	}
	if err != nil {
		if !errors.Is(err, ErrBadBag) {
			t.Fatalf("ParseBag(%q): error %v does not wrap ErrBadBag", s, err)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseBag(%q) = %+v, want %+v", s, got, want)
	}
	// The decoded bag, and one with s in a system property and in
	// application keys and values that sort before and after the system
	// keys, encode as url.Values would.
	for _, b := range []Bag{got, {ContentType: s, Properties: map[string]string{"k": s, " " + s: "x", "!": s}}} {
		enc, err := b.Encode()
		if err != nil {
			t.Fatalf("Encode(%+v): %v", b, err)
		}
		if ref := refEncode(&b); enc != ref {
			t.Fatalf("Encode(%+v) = %q, want %q", b, enc, ref)
		}
		if strings.Contains(enc, "+") {
			t.Fatalf("Encode(%+v) = %q holds '+'", b, enc)
		}
	}
}

func TestBagCodecMatchesURLValues(t *testing.T) {
	for _, s := range []string{"", "a=1", "a", "a=", "a=1&&b=2", "a=1&", "&", "a=1;b=2", "a=b=c",
		"%24.ct=x&%24.ct=y", "%24.ct=&%24.ct=", "$.ct=a+b", "a=%2", "a%=1", "!=1&%24.cdid=d&z=2",
		"%24.cdid=d&%24.ce=e&%24.cid=c&%24.cmid=m&%24.ct=t&%24.mid=i&%24.on=o&%24.uid=u&alert=true",
		"a=%E2%82%AC&b=%20&c=+", "\x00=\xff"} {
		t.Run(s, func(t *testing.T) { checkBagCodec(t, s) })
	}
}

func FuzzBag(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "%24.ct=application%2Fjson&x=%20y", "a=1;b", "%zz", "!=1&%24.on=o"} {
		f.Add(s)
	}
	f.Fuzz(checkBagCodec)
}

func BenchmarkBag(b *testing.B) {
	bag := Bag{ContentType: "application/json", ContentEncoding: "utf-8", ConnectionDeviceID: "dev1",
		ConnectionModuleID: "sensor", OutputName: "temperature", Properties: map[string]string{"alert": "true"}}
	enc := refEncode(&bag)
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = bag.Encode()
		}
	})
	b.Run("encode-url.Values-baseline", func(b *testing.B) {
		for b.Loop() {
			refEncode(&bag)
		}
	})
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			_, _ = ParseBag(enc)
		}
	})
	b.Run("parse-url.ParseQuery-baseline", func(b *testing.B) {
		for b.Loop() {
			refParseBag(enc)
		}
	})
}
