package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// The schema is a list of numbered migrations in migrations/, applied in
// order by goose, which records the version reached in the table
// goose_db_version. A release that changes the schema adds a file and never
// edits one that has shipped. See docs/hub.md, "Upgrades".
//
//go:embed migrations/*.sql
var migrations embed.FS

// Engine is the database engine behind a store, for Migrate.
type Engine = goose.Dialect

// The engines the hub runs on.
const (
	SQLite   Engine = goose.DialectSQLite3
	Postgres Engine = goose.DialectPostgres
)

// ErrSchemaTooNew is returned by Migrate when the database was migrated by
// a newer hub than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this hub")

// Migrate brings db's schema to the newest version this hub knows, and
// refuses a database that a newer hub has migrated further: running an
// older hub against it could misread what it does not know. On PostgreSQL
// the migration holds an advisory lock, so replicas that start together
// migrate once.
func Migrate(ctx context.Context, db *sql.DB, kind Engine, log *slog.Logger) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(goMigrations(kind)...)}
	if kind == Postgres {
		l, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	p, err := goose.NewProvider(kind, db, sub, opts...)
	if err != nil {
		return fmt.Errorf("reading the schema migrations: %w", err)
	}
	current, known, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if current > known {
		return fmt.Errorf("%w: it is at version %d and this hub knows up to %d; run the newer hub, or restore a backup taken before the upgrade",
			ErrSchemaTooNew, current, known)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrating the schema from version %d: %w", current, err)
	}
	if log != nil {
		for _, r := range results {
			log.Info("schema migrated", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
		}
	}
	return nil
}

// SchemaVersion returns the schema version db is at (0 for an empty
// database).
func SchemaVersion(ctx context.Context, db *sql.DB, kind Engine) (int64, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	p, err := goose.NewProvider(kind, db, sub, goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(goMigrations(kind)...))
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// goMigrations are the migrations whose SQL differs between engines; their
// numbers come between those of the files in migrations/.
func goMigrations(kind Engine) []*goose.Migration {
	return []*goose.Migration{
		// 2: an index for the tag filter of device lists. PostgreSQL
		// answers JSON containment (PostgresHasTags) from a GIN index;
		// SQLite has no index for it and records the version only.
		goose.NewGoMigration(2, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if kind != Postgres {
				return nil
			}
			_, err := tx.ExecContext(ctx,
				`CREATE INDEX IF NOT EXISTS devices_tags ON devices USING gin ((tags::jsonb) jsonb_path_ops)`)
			return err
		}}, nil),
	}
}
