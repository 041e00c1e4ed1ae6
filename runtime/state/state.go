// Package state keeps the gateway's last accepted desired state on disk, so
// that a gateway that restarts without a network brings its modules back.
//
// A Store writes each accepted api.DesiredState atomically: to a temporary
// file that is synced, renamed over the old one, and made durable by syncing
// the directory. A power cut leaves either the old or the new document, never
// a mix. The package does not validate documents; callers store only states
// they have accepted.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/edgeplane/edgeplane/hub/api"
)

// FileName is the name of the stored document inside the store's directory.
const FileName = "desired.json"

// Store is the on-disk home of the last accepted desired state. Its methods
// are not safe for concurrent use; the gateway calls them from one loop.
type Store struct {
	dir string
}

// Open returns a Store in dir, creating dir (mode 0700, since the document
// holds registry passwords) when it does not exist.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Path returns the file the store reads and writes.
func (s *Store) Path() string { return filepath.Join(s.dir, FileName) }

// Load returns the stored desired state. It returns (nil, nil) when nothing
// has been stored yet, and an error when the file exists but cannot be read
// or decoded.
func (s *Store) Load() (*api.DesiredState, error) {
	b, err := os.ReadFile(s.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading stored desired state: %w", err)
	}
	var ds api.DesiredState
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("decoding stored desired state %s: %w", s.Path(), err)
	}
	return &ds, nil
}

// Save replaces the stored desired state with ds. When Save returns nil the
// new document survives a power cut; when it returns an error the old one is
// still in place.
func (s *Store) Save(ds *api.DesiredState) error {
	b, err := json.MarshalIndent(ds, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding desired state: %w", err)
	}

	// Write and sync a temporary file next to the target, so that the rename
	// stays within one file system and is atomic.
	tmp, err := os.CreateTemp(s.dir, FileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating temporary state file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after a successful rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing temporary state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing temporary state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing temporary state file: %w", err)
	}

	if err := os.Rename(tmp.Name(), s.Path()); err != nil {
		return fmt.Errorf("replacing state file: %w", err)
	}

	// The rename is durable only once the directory entry is on disk.
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("opening state directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing state directory: %w", err)
	}
	return nil
}
