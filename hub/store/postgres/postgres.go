// Package postgres is the hub's store for several replicas: PostgreSQL
// through pgx. Each hub process opens a pool for queries and one extra
// connection that LISTENs for desired-state changes, so that a long-poll
// waiting on one replica wakes when an operator writes through another.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/edgeplane/edgeplane/hub/store/sqlstore"
)

// Channel is the NOTIFY channel; the payload is a device id.
const Channel = "edgeplane_desired"

// Store is the PostgreSQL store.
type Store struct {
	*sqlstore.Store
	dsn    string
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Open connects to the database at dsn (a postgres:// URL) and creates the
// schema when it is missing.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlstore.Migrate(ctx, db, sqlstore.Postgres, slog.Default()); err != nil {
		db.Close()
		return nil, err
	}

	s := &Store{dsn: dsn, done: make(chan struct{})}
	s.Store = sqlstore.New(db, db, sqlstore.Dialect{
		Numbered:   true,
		LockSuffix: " FOR UPDATE",
		HasTags:    sqlstore.PostgresHasTags,
		Snapshot:   &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		Notify: func(ctx context.Context, tx *sql.Tx, device string) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, device)
			return err
		},
	})

	// The listener runs for the store's life; it must be up before Open
	// returns so that no change after Open is missed.
	lctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	conn, err := listen(ctx, dsn)
	if err != nil {
		cancel()
		db.Close()
		return nil, err
	}
	go s.listenLoop(lctx, conn)
	return s, nil
}

func listen(ctx context.Context, dsn string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting listener: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("listening on %s: %w", Channel, err)
	}
	return conn, nil
}

// listenLoop hands notifications to the watchers. When the connection is
// lost it reconnects and wakes every waiter, since changes may have been
// missed meanwhile.
func (s *Store) listenLoop(ctx context.Context, conn *pgx.Conn) {
	defer close(s.done)
	backoff := 100 * time.Millisecond
	for {
		for conn != nil {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				conn.Close(context.Background())
				conn = nil
				if ctx.Err() != nil {
					return
				}
				slog.Warn("database listener lost", "err", err)
				break
			}
			backoff = 100 * time.Millisecond
			s.Fire(n.Payload)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
		c, err := listen(ctx, s.dsn)
		if err != nil {
			slog.Warn("database listener reconnect failed", "err", err)
			continue
		}
		conn = c
		s.Fire("")
	}
}

// Close stops the listener and closes the pool.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		<-s.done
		err = s.Store.Close()
	})
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
