package migrate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteDir(t *testing.T) {
	files := []File{{"main.tf", []byte("new main")}, {"MIGRATION.md", []byte("new md")}}
	read := func(t *testing.T, p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	noTemp := func(t *testing.T, parent string) {
		t.Helper()
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".edgeplane-migrate-") {
				t.Errorf("temporary directory %s left behind", e.Name())
			}
		}
	}

	t.Run("new directory", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "a", "out")
		if err := WriteDir(dir, files, false); err != nil {
			t.Fatal(err)
		}
		if got := read(t, filepath.Join(dir, "main.tf")); got != "new main" {
			t.Errorf("got %q, want %q", got, "new main")
		}
		noTemp(t, filepath.Join(parent, "a"))
	})

	t.Run("empty directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := WriteDir(dir, files, false); err != nil {
			t.Fatal(err)
		}
		if got := read(t, filepath.Join(dir, "MIGRATION.md")); got != "new md" {
			t.Errorf("got %q, want %q", got, "new md")
		}
	})

	t.Run("non-empty directory is refused and left alone", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "main.tf"), []byte("mine"), 0o644)
		err := WriteDir(dir, files, false)
		if !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("got %v, want ErrNotEmpty", err)
		}
		if got := read(t, filepath.Join(dir, "main.tf")); got != "mine" {
			t.Errorf("got %q, want the file untouched", got)
		}
		if _, err := os.Stat(filepath.Join(dir, "MIGRATION.md")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got MIGRATION.md written (%v), want nothing written", err)
		}
		noTemp(t, filepath.Dir(dir))
	})

	t.Run("overwrite replaces ours and keeps others", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "main.tf"), []byte("old"), 0o644)
		os.WriteFile(filepath.Join(dir, "terraform.tfvars"), []byte("keep"), 0o644)
		if err := WriteDir(dir, files, true); err != nil {
			t.Fatal(err)
		}
		if got := read(t, filepath.Join(dir, "main.tf")); got != "new main" {
			t.Errorf("got %q, want %q", got, "new main")
		}
		if got := read(t, filepath.Join(dir, "terraform.tfvars")); got != "keep" {
			t.Errorf("got %q, want the user's file kept", got)
		}
		noTemp(t, filepath.Dir(dir))
	})

	t.Run("output path is a file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "file")
		os.WriteFile(p, []byte("x"), 0o644)
		if err := WriteDir(p, files, true); err == nil {
			t.Error("got no error, want one for an output path that is a file")
		}
	})
}
