package store_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/store"
	"github.com/edgeplane/edgeplane/hub/store/postgres"
	"github.com/edgeplane/edgeplane/hub/store/sqlite"
	"github.com/edgeplane/edgeplane/hub/store/sqlstore"
	"github.com/edgeplane/edgeplane/internal/pgtest"
)

// latestSchema is the newest migration of hub/store/sqlstore.
const latestSchema = 2

// oldSchema is what hubs released before versioned migrations created, with
// the 64-bit integer type left to fill in.
const oldSchema = `
CREATE TABLE devices (id TEXT PRIMARY KEY, dkey TEXT NOT NULL, tags TEXT NOT NULL,
	enabled INT64 NOT NULL, version INT64 NOT NULL, created_at INT64 NOT NULL,
	last_seen INT64 NOT NULL DEFAULT 0, desired_version INT64 NOT NULL,
	reported TEXT NOT NULL DEFAULT '{}');
CREATE TABLE objects (device_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
	version INT64 NOT NULL, data TEXT NOT NULL, PRIMARY KEY (device_id, kind, name));
CREATE TABLE twins (device_id TEXT NOT NULL, module TEXT NOT NULL, desired TEXT NOT NULL,
	desired_version INT64 NOT NULL, reported TEXT NOT NULL, reported_version INT64 NOT NULL,
	PRIMARY KEY (device_id, module));
INSERT INTO devices (id, dkey, tags, enabled, version, created_at, desired_version)
	VALUES ('kept', 'k', '{"site":"old"}', 1, 3, 0, 5);`

// schemaBackends are the databases behind each store, reached directly.
var schemaBackends = []struct {
	name, bigint string
	kind         sqlstore.Engine
	new          func(t *testing.T) (raw *sql.DB, open func() (store.Store, error))
}{
	{"sqlite", "INTEGER", sqlstore.SQLite, func(t *testing.T) (*sql.DB, func() (store.Store, error)) {
		dir := t.TempDir()
		raw, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
		if err != nil {
			t.Fatal(err)
		}
		return raw, func() (store.Store, error) { return sqlite.Open(t.Context(), dir) }
	}},
	{"postgres", "BIGINT", sqlstore.Postgres, func(t *testing.T) (*sql.DB, func() (store.Store, error)) {
		dsn := pgtest.Database(t)
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		return raw, func() (store.Store, error) { return postgres.Open(t.Context(), dsn) }
	}},
}

// A new database gets the whole schema; a database of a hub from before
// versioned migrations keeps its data and is brought under them; a
// database that a newer hub migrated further is refused, untouched.
func TestSchemaMigrations(t *testing.T) {
	for _, b := range schemaBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("new database", func(t *testing.T) {
				raw, open := b.new(t)
				defer raw.Close()
				st, err := open()
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
				if v, err := sqlstore.SchemaVersion(t.Context(), raw, b.kind); err != nil || v != latestSchema {
					t.Fatalf("schema version %d, %v; want %d", v, err, latestSchema)
				}
			})

			t.Run("database of an older hub", func(t *testing.T) {
				raw, open := b.new(t)
				defer raw.Close()
				for _, stmt := range strings.Split(strings.ReplaceAll(oldSchema, "INT64", b.bigint), ";") {
					if strings.TrimSpace(stmt) == "" {
						continue
					}
					if _, err := raw.ExecContext(t.Context(), stmt); err != nil {
						t.Fatal(err)
					}
				}
				st, err := open()
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				d, err := st.GetDevice(t.Context(), "kept")
				if err != nil {
					t.Fatalf("the older hub's device: %v", err)
				}
				if d.Version != 3 || d.Tags["site"] != "old" {
					t.Errorf("the older hub's device came back as %+v", d)
				}
				if v, err := sqlstore.SchemaVersion(t.Context(), raw, b.kind); err != nil || v != latestSchema {
					t.Fatalf("schema version %d, %v; want %d", v, err, latestSchema)
				}
				if _, _, err := st.PutDevice(t.Context(), api.Device{ID: "added", Enabled: true}, store.Precondition{}); err != nil {
					t.Fatalf("writing after the migration: %v", err)
				}
			})

			t.Run("database of a newer hub", func(t *testing.T) {
				raw, open := b.new(t)
				defer raw.Close()
				st, err := open()
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
				if _, err := raw.ExecContext(t.Context(),
					`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, true)`); err != nil {
					t.Fatal(err)
				}
				st, err = open()
				if err == nil {
					st.Close()
					t.Fatal("opened a database at schema version 99, want it refused")
				}
				if !errors.Is(err, sqlstore.ErrSchemaTooNew) || !strings.Contains(err.Error(), "version 99") {
					t.Errorf("error %q: want ErrSchemaTooNew naming version 99", err)
				}
			})
		})
	}
}
