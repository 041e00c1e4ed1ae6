// Package sqlstore implements store.Store over database/sql for any SQL
// database that the Dialect describes. hub/store/sqlite and
// hub/store/postgres open their database, create the schema and wrap this
// package; it holds the queries and the versioning rules so that both stores
// behave the same.
//
// Every write to an object of a device first locks the device's row, so
// writes to one device are serialised and the device's desired-state
// version grows inside the same transaction as the change it counts.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/store"
)

// Dialect is what differs between databases.
type Dialect struct {
	// Numbered turns "?" placeholders into "$1", "$2", ... .
	Numbered bool
	// LockSuffix is appended to the query that locks a device's row
	// (" FOR UPDATE" where row locks exist).
	LockSuffix string
	// Snapshot are the options of a read transaction that must see one
	// consistent snapshot.
	Snapshot *sql.TxOptions
	// Notify, when set, is run inside each transaction that changes a
	// device's desired state; the database delivers the notification on
	// commit (PostgreSQL NOTIFY).
	Notify func(ctx context.Context, tx *sql.Tx, device string) error
	// LocalNotify calls the Watch callbacks directly after commit, for
	// databases that only one process uses.
	LocalNotify bool
	// HasTags is a condition on a row of devices with one placeholder, a
	// JSON object of tags, that holds when the device has every one of
	// them with the same value.
	HasTags string
}

// Conditions for Dialect.HasTags.
const (
	// SQLiteHasTags finds no wanted tag that the device lacks, with the
	// JSON1 functions built into SQLite. It reads every row: SQLite has no
	// index for it.
	SQLiteHasTags = `NOT EXISTS (SELECT 1 FROM json_each(?) AS w WHERE NOT EXISTS (
		SELECT 1 FROM json_each(devices.tags) AS h WHERE h.key = w.key AND h.value = w.value))`
	// PostgresHasTags is JSON containment, which the GIN index of migration
	// 2 serves.
	PostgresHasTags = `(devices.tags::jsonb) @> ?::jsonb`
)

// Store is a store.Store over database/sql.
type Store struct {
	w, r *sql.DB
	d    Dialect

	mu       sync.Mutex
	watchers []func(string)
}

var _ store.Store = (*Store)(nil)

// New returns a store that writes through w and reads through r (the same
// pool where the database needs no split). The schema must exist.
func New(w, r *sql.DB, d Dialect) *Store {
	return &Store{w: w, r: r, d: d}
}

// Watch implements store.Store.
func (s *Store) Watch(fn func(device string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers = append(s.watchers, fn)
}

// Fire calls the Watch callbacks for device; stores that receive change
// notifications from elsewhere call it.
func (s *Store) Fire(device string) {
	s.mu.Lock()
	ws := s.watchers
	s.mu.Unlock()
	for _, fn := range ws {
		fn(device)
	}
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging database: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// q rewrites placeholders for the dialect.
func (s *Store) q(query string) string {
	if !s.d.Numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// write runs fn in a write transaction. When fn reports that the device's
// desired state changed, the version is bumped and watchers are told.
func (s *Store) write(ctx context.Context, device string, fn func(tx *sql.Tx) (bool, error)) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	changed, err := fn(tx)
	if err != nil {
		return err
	}
	if changed {
		if _, err := tx.ExecContext(ctx,
			s.q(`UPDATE devices SET desired_version = desired_version + 1 WHERE id = ?`),
			device); err != nil {
			return fmt.Errorf("bumping desired version: %w", err)
		}
		if s.d.Notify != nil {
			if err := s.d.Notify(ctx, tx, device); err != nil {
				return fmt.Errorf("notifying change: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	if changed && s.d.LocalNotify {
		s.Fire(device)
	}
	return nil
}

// lockDevice locks the device's row for the transaction, or returns
// store.ErrNotFound.
func (s *Store) lockDevice(ctx context.Context, tx *sql.Tx, id string) error {
	var v int64
	err := tx.QueryRowContext(ctx,
		s.q(`SELECT desired_version FROM devices WHERE id = ?`+s.d.LockSuffix), id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("locking device: %w", err)
	}
	return nil
}

// Devices.

const deviceCols = `id, dkey, tags, enabled, version, created_at, last_seen`

type scanner interface{ Scan(dest ...any) error }

// scanDevice scans deviceCols and then, into extra, any further columns.
func scanDevice(row scanner, extra ...any) (api.Device, error) {
	var (
		d                 api.Device
		tags              string
		enabled           int64
		created, lastSeen int64
	)
	dest := append([]any{&d.ID, &d.Key, &tags, &enabled, &d.Version, &created, &lastSeen}, extra...)
	if err := row.Scan(dest...); err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		return d, fmt.Errorf("decoding tags of device %q: %w", d.ID, err)
	}
	d.Enabled = enabled != 0
	d.CreatedAt = time.Unix(0, created).UTC()
	if lastSeen != 0 {
		d.LastSeen = time.Unix(0, lastSeen).UTC()
	}
	return d, nil
}

func tagsJSON(tags map[string]string) string {
	if tags == nil {
		tags = map[string]string{}
	}
	b, _ := json.Marshal(tags) // a map of strings always encodes
	return string(b)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// PutDevice implements store.Store.
func (s *Store) PutDevice(ctx context.Context, d api.Device, pre store.Precondition) (api.Device, bool, error) {
	// Two creates of one id may race past the existence check (there is
	// no row to lock yet); the loser's insert does nothing and it tries
	// again, now as an update.
	for range 3 {
		out, created, err := s.putDevice(ctx, d, pre)
		if !errors.Is(err, errRaced) {
			return out, created, err
		}
	}
	return api.Device{}, false, fmt.Errorf("writing device %q: %w", d.ID, errRaced)
}

// errRaced reports a lost race with a concurrent create.
var errRaced = errors.New("concurrent create of the same device")

func (s *Store) putDevice(ctx context.Context, d api.Device, pre store.Precondition) (api.Device, bool, error) {
	var (
		out     api.Device
		created bool
	)
	err := s.write(ctx, d.ID, func(tx *sql.Tx) (bool, error) {
		cur, err := scanDevice(tx.QueryRowContext(ctx,
			s.q(`SELECT `+deviceCols+` FROM devices WHERE id = ?`+s.d.LockSuffix), d.ID))
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("reading device: %w", err)
		}
		if !pre.Check(exists, cur.Version) {
			return false, store.ErrVersionMismatch
		}

		if !exists {
			if d.Key == "" {
				key, err := NewKey()
				if err != nil {
					return false, err
				}
				d.Key = key
			}
			now := time.Now().UTC()
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO devices
				(id, dkey, tags, enabled, version, created_at, last_seen, desired_version, reported)
				VALUES (?, ?, ?, ?, 1, ?, 0, 1, '{}') ON CONFLICT (id) DO NOTHING`),
				d.ID, d.Key, tagsJSON(d.Tags), boolInt(d.Enabled), now.UnixNano())
			if err != nil {
				return false, fmt.Errorf("inserting device: %w", err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 0 {
				return false, errRaced
			}
			out = api.Device{ID: d.ID, Tags: d.Tags, Enabled: d.Enabled, Key: d.Key,
				Version: 1, CreatedAt: time.Unix(0, now.UnixNano()).UTC()}
			if len(out.Tags) == 0 {
				out.Tags = nil
			}
			created = true
			return false, nil
		}

		if d.Key == "" {
			d.Key = cur.Key
		}
		out = cur
		if tagsJSON(cur.Tags) == tagsJSON(d.Tags) && cur.Enabled == d.Enabled && cur.Key == d.Key {
			return false, nil
		}
		out.Tags, out.Enabled, out.Key, out.Version = d.Tags, d.Enabled, d.Key, cur.Version+1
		if len(out.Tags) == 0 {
			out.Tags = nil
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE devices
			SET dkey = ?, tags = ?, enabled = ?, version = ? WHERE id = ?`),
			d.Key, tagsJSON(d.Tags), boolInt(d.Enabled), out.Version, d.ID); err != nil {
			return false, fmt.Errorf("updating device: %w", err)
		}
		return false, nil
	})
	return out, created, err
}

// GetDevice implements store.Store.
func (s *Store) GetDevice(ctx context.Context, id string) (api.Device, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx,
		s.q(`SELECT `+deviceCols+` FROM devices WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("reading device: %w", err)
	}
	if len(d.Tags) == 0 {
		d.Tags = nil
	}
	return d, nil
}

// ListDevices implements store.Store. The database applies the tag filter
// (Dialect.HasTags), so a page costs one query whatever the fleet's size.
// With q.Status the reported state comes from the same rows.
func (s *Store) ListDevices(ctx context.Context, q store.DeviceQuery) ([]api.Device, error) {
	cols := deviceCols
	if q.Status {
		cols += `, desired_version, reported`
	}
	query := `SELECT ` + cols + ` FROM devices WHERE id > ?`
	args := []any{q.After}
	if len(q.Tags) > 0 {
		want, err := json.Marshal(q.Tags)
		if err != nil {
			return nil, fmt.Errorf("encoding the tag filter: %w", err)
		}
		query += ` AND ` + s.d.HasTags
		args = append(args, string(want))
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, q.Limit)

	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	defer rows.Close()
	out := []api.Device{}
	for rows.Next() {
		var (
			desired int64
			report  string
			extra   []any
		)
		if q.Status {
			extra = []any{&desired, &report}
		}
		d, err := scanDevice(rows, extra...)
		if err != nil {
			return nil, fmt.Errorf("listing devices: %w", err)
		}
		if len(d.Tags) == 0 {
			d.Tags = nil
		}
		if q.Status {
			st, err := decodeStatus(d.ID, d.LastSeen, desired, report)
			if err != nil {
				return nil, err
			}
			d.Status = &st
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	return out, nil
}

// DeleteDevice implements store.Store.
func (s *Store) DeleteDevice(ctx context.Context, id string, pre store.Precondition) error {
	return s.write(ctx, id, func(tx *sql.Tx) (bool, error) {
		var v int64
		err := tx.QueryRowContext(ctx,
			s.q(`SELECT version FROM devices WHERE id = ?`+s.d.LockSuffix), id).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return false, store.ErrNotFound
		}
		if err != nil {
			return false, fmt.Errorf("reading device: %w", err)
		}
		if !pre.Check(true, v) {
			return false, store.ErrVersionMismatch
		}
		for _, stmt := range []string{
			`DELETE FROM twins WHERE device_id = ?`,
			`DELETE FROM objects WHERE device_id = ?`,
			`DELETE FROM devices WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, s.q(stmt), id); err != nil {
				return false, fmt.Errorf("deleting device: %w", err)
			}
		}
		return false, nil
	})
}

// NewKey returns a fresh device key: 32 random bytes, base64 encoded.
func NewKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating device key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Touch implements store.Store.
func (s *Store) Touch(ctx context.Context, device string, t time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE devices SET last_seen = ? WHERE id = ?`),
		t.UnixNano(), device)
	if err != nil {
		return fmt.Errorf("recording last seen: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}
