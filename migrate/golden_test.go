package migrate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected output of examples/migrate")

// examplesDir holds the V1 samples with their expected output.
const examplesDir = "../examples/migrate"

// examples are the samples in examplesDir and how examples/migrate/README.md
// runs the tool on each.
var examples = []struct {
	name, images, deviceID string
}{
	{"hello-world", "images.json", "hello-gw"},
	{"simulated-device", "images.json", "plant7-gw"},
	{"ble-gateway", "images.json", ""},
	{"mixed-loaders", "images.yaml", ""},
}

// migrateExample runs the tool's steps on one example as the CLI does.
func migrateExample(t *testing.T, name, images, deviceID string) *Plan {
	t.Helper()
	dir := filepath.Join(examplesDir, name)
	data, err := os.ReadFile(filepath.Join(dir, "gateway.json"))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := ParseV1("gateway.json", data)
	if err != nil {
		t.Fatalf("ParseV1: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, images))
	if err != nil {
		t.Fatal(err)
	}
	im, err := ParseImageMap(images, raw)
	if err != nil {
		t.Fatalf("ParseImageMap: %v", err)
	}
	plan, err := Convert(gw, Options{Source: "gateway.json", DeviceID: deviceID, Images: im})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return plan
}

// TestGolden runs the tool on every example and compares each output file
// with the committed one. Run with -update to rewrite them after a change
// that is meant.
func TestGolden(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			files := migrateExample(t, ex.name, ex.images, ex.deviceID).Files()
			want := filepath.Join(examplesDir, ex.name, "expected")
			if *update {
				if err := WriteDir(want, files, true); err != nil {
					t.Fatal(err)
				}
			}

			entries, err := os.ReadDir(want)
			if err != nil {
				t.Fatalf("reading expected output (run go test -run TestGolden -update): %v", err)
			}
			if len(entries) != len(files) {
				t.Errorf("got %d files in %s, want the %d the tool writes", len(entries), want, len(files))
			}
			for _, f := range files {
				exp, err := os.ReadFile(filepath.Join(want, f.Name))
				if err != nil {
					t.Errorf("%s: %v", f.Name, err)
					continue
				}
				if !bytes.Equal(f.Data, exp) {
					t.Errorf("%s differs from %s (run go test -run TestGolden -update to accept):\n%s",
						f.Name, filepath.Join(want, f.Name), firstDiff(string(f.Data), string(exp)))
				}
			}
		})
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := bytes.Split([]byte(got), []byte("\n")), bytes.Split([]byte(want), []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return "line " + strconv.Itoa(i+1) + ":\n got:  " + string(gl) + "\n want: " + string(wl)
		}
	}
	return "(same lines, different bytes)"
}
