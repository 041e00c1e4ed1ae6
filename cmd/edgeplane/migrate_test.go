package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/migrate"
)

// runMigrateCLI runs `edgeplane migrate v1 args...` in process and returns
// what it printed.
func runMigrateCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	migrateV1Flags.images, migrateV1Flags.deviceID, migrateV1Flags.force = "", "", false
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(append([]string{"migrate", "v1"}, args...))
	err := rootCmd.Execute()
	return out.String(), err
}

const migrateGood = `{
  "modules": [
    {"name": "logger", "loader": {"name": "native", "entrypoint": {"module.path": "./liblogger.so"}}, "args": {"filename": "log.txt"}},
    {"name": "hello_world", "loader": {"name": "native", "entrypoint": {"module.path": "./libhello_world.so"}}, "args": null}
  ],
  "links": [{"source": "hello_world", "sink": "logger"}]
}`

func TestMigrateV1CLI(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "gateway.json")
	images := filepath.Join(dir, "images.json")
	os.WriteFile(in, []byte(migrateGood), 0o644)
	os.WriteFile(images, []byte(`{"logger": "reg/logger:1"}`), 0o644)
	out := filepath.Join(dir, "out")

	got, err := runMigrateCLI(t, in, "--images", images, "--device-id", "gw-1", "-o", out)
	if err != nil {
		t.Fatalf("got %v, want success; output:\n%s", err, got)
	}
	for _, want := range []string{
		"V1 ITEM", "needs attention  edgeplane_module.hello_world", "3 migrated, 1 needs attention, 0 left out.",
		"Set var.image_hello_world", "Set the variable in",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("got output\n%s\nwant it to contain %q", got, want)
		}
	}
	for _, f := range []string{"main.tf", "variables.tf", "MIGRATION.md"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("got %v, want %s written", err, f)
		}
	}

	// A second run into the same directory needs --force.
	if _, err := runMigrateCLI(t, in, "-o", out); !errors.Is(err, migrate.ErrNotEmpty) {
		t.Errorf("got %v, want ErrNotEmpty without --force", err)
	}
	if _, err := runMigrateCLI(t, in, "-o", out, "--force"); err != nil {
		t.Errorf("got %v, want success with --force", err)
	}
}

// TestMigrateV1CLIBadInput checks that each kind of bad input is a clear
// error and that nothing is written.
func TestMigrateV1CLIBadInput(t *testing.T) {
	tests := []struct {
		name, gateway, images string
		flags                 []string
		kind                  error
		want                  string
	}{
		{"invalid JSON", "{\n  \"modules\": [,]\n}", "", nil, migrate.ErrSyntax, "gateway.json:2:15"},
		{"undefined module", strings.Replace(migrateGood, `"sink": "logger"`, `"sink": "Logger"`, 1), "", nil,
			migrate.ErrUndefinedModule, `links[0] {"source":"hello_world","sink":"Logger"}`},
		{"duplicate module", strings.Replace(migrateGood, `"name": "hello_world"`, `"name": "logger"`, 1), "", nil,
			migrate.ErrDuplicateModule, `modules[1] "logger"`},
		{"unknown loader", strings.Replace(migrateGood, `"name": "native"`, `"name": "python"`, 1), "", nil,
			migrate.ErrUnknownLoader, `unknown loader "python"`},
		{"bad image map", migrateGood, `{"logger": 5}`, nil, migrate.ErrImageMap, `"logger"`},
		{"bad device id", migrateGood, "", []string{"--device-id", "gw 1"}, migrate.ErrDeviceID, "--device-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "gateway.json")
			os.WriteFile(in, []byte(tt.gateway), 0o644)
			out := filepath.Join(dir, "out")
			args := append([]string{in, "-o", out}, tt.flags...)
			if tt.images != "" {
				images := filepath.Join(dir, "images.json")
				os.WriteFile(images, []byte(tt.images), 0o644)
				args = append(args, "--images", images)
			}

			_, err := runMigrateCLI(t, args...)
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want %v containing %q", err, tt.kind, tt.want)
			}
			inputs := 1 // the gateway file, and the image map when given
			if tt.images != "" {
				inputs = 2
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != inputs {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("got %v in the directory, want nothing written", names)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("got output directory (%v), want none", err)
			}
		})
	}
}
