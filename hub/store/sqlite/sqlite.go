// Package sqlite is the hub's embedded store: one SQLite file in the data
// directory, through the pure-Go modernc.org/sqlite driver. It suits one hub
// process; several replicas need hub/store/postgres.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/edgeplane/edgeplane/hub/store/sqlstore"
)

// FileName is the database file inside the data directory.
const FileName = "hub.db"

// Store is the SQLite store.
type Store struct {
	*sqlstore.Store
}

// Open opens (creating if needed) the database in dir.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	dsn := "file:" + path + "?" + q.Encode()

	// SQLite has one writer at a time: one write connection whose
	// transactions take the write lock at BEGIN (no upgrade deadlocks),
	// and a pool of readers that WAL lets run beside it.
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)

	if err := sqlstore.Migrate(ctx, w, sqlstore.SQLite, slog.Default()); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Store{sqlstore.New(w, r, sqlstore.Dialect{LocalNotify: true, HasTags: sqlstore.SQLiteHasTags})}, nil
}
