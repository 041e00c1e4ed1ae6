package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotEmpty is returned by WriteDir when the output directory holds files
// and overwrite was not asked for.
var ErrNotEmpty = errors.New("output directory is not empty")

// WriteDir writes files into dir so that either all of them appear or none
// does: they are written to a new directory beside dir first and then moved
// into place. A missing or empty dir is replaced by the new directory as a
// whole. A dir that holds files is refused with ErrNotEmpty unless overwrite
// is set; then each file is renamed into it, replacing files of the same
// name and leaving others alone.
func WriteDir(dir string, files []File, overwrite bool) error {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)

	// Check the destination before writing anything.
	entries, err := os.ReadDir(dir)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("reading output directory: %w", err)
	case exists && len(entries) > 0 && !overwrite:
		return fmt.Errorf("%s: %w; choose another -o or pass --force", dir, ErrNotEmpty)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("creating output directory: %w", err)
	}

	// Write everything into a temporary directory beside dir, on the same
	// file system, so that the renames below are atomic.
	tmp, err := os.MkdirTemp(parent, ".edgeplane-migrate-*")
	if err != nil {
		return fmt.Errorf("creating temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(tmp, f.Name), f.Data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing output directory: %w", err)
	}

	// Move into place.
	if !exists || len(entries) == 0 {
		if exists {
			if err := os.Remove(dir); err != nil {
				return fmt.Errorf("replacing empty output directory: %w", err)
			}
		}
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("moving output into place: %w", err)
		}
		return nil
	}
	for _, f := range files {
		if err := os.Rename(filepath.Join(tmp, f.Name), filepath.Join(dir, f.Name)); err != nil {
			return fmt.Errorf("moving %s into place: %w", f.Name, err)
		}
	}
	return nil
}
