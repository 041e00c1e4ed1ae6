package migrate

import (
	"errors"
	"strings"
	"testing"
)

func TestParseImageMapErrors(t *testing.T) {
	tests := []struct {
		name, file, data string
		kind             error
		want             string
	}{
		{"invalid JSON", "images.json", "{\n \"a\": \"x\"\n \"b\": \"y\"}", ErrSyntax, "images.json:3:2:"},
		{"not a string", "images.json", `{"a": 1}`, ErrImageMap, `the image for "a" is not a string`},
		{"empty image", "images.json", `{"a": ""}`, ErrImageMap, `the image for "a" is ""`},
		{"image with a space", "images.json", `{"a": "reg/x :1"}`, ErrImageMap, `"reg/x :1"`},
		{"not an object", "images.json", `["a"]`, ErrSyntax, "want an object"},
		{"invalid YAML", "images.yaml", "a: [x\n", ErrImageMap, "images.yaml"},
		{"YAML not a string", "images.yml", "a:\n  b: c\n", ErrImageMap, `the image for "a" is not a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseImageMap(tt.file, []byte(tt.data))
			if !errors.Is(err, tt.kind) {
				t.Fatalf("got error %v, want kind %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestImageLookup checks the documented order: module name, entrypoint as
// written, entrypoint file name; and that unused keys are reported.
func TestImageLookup(t *testing.T) {
	im, err := ParseImageMap("images.yaml", []byte(`
logger: img/by-name
./modules/logger/liblogger.so: img/by-entrypoint
liblogger.so: img/by-file
com/x/Printer: img/java
typo: img/unused
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		m                Module
		wantImg, wantKey string
	}{
		{Module{Name: "logger", Entrypoint: "./modules/logger/liblogger.so"}, "img/by-name", "logger"},
		{Module{Name: "log2", Entrypoint: "./modules/logger/liblogger.so"}, "img/by-entrypoint", "./modules/logger/liblogger.so"},
		{Module{Name: "log3", Entrypoint: `C:\gw\liblogger.so`}, "img/by-file", "liblogger.so"},
		{Module{Name: "p", Entrypoint: "com/x/Printer"}, "img/java", "com/x/Printer"},
		{Module{Name: "none", Entrypoint: "./libnone.so"}, "", ""},
	}
	for _, tt := range tests {
		img, key := im.Lookup(&tt.m)
		if img != tt.wantImg || key != tt.wantKey {
			t.Errorf("%s: got %q from %q, want %q from %q", tt.m.Name, img, key, tt.wantImg, tt.wantKey)
		}
	}
	if got := strings.Join(im.Unused(), ","); got != "typo" {
		t.Errorf("got unused %q, want %q", got, "typo")
	}

	var none *ImageMap
	if img, _ := none.Lookup(&Module{Name: "x"}); img != "" || none.Unused() != nil {
		t.Errorf("nil map: got %q, want nothing", img)
	}
}
