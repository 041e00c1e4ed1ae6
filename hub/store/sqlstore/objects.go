package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/store"
)

// kind describes one type of object kept in the objects table. Objects are
// stored as JSON with their version zeroed, so that an idempotent PUT is a
// byte comparison.
type kind[T any] struct {
	name       string
	setVersion func(*T, int64)
	// keep copies write-only fields that the new object leaves empty from
	// the stored one.
	keep func(old, cur *T)
	// created and deleted run in the transaction of a create or delete.
	created func(ctx context.Context, s *Store, tx *sql.Tx, device, name string) error
	deleted func(ctx context.Context, s *Store, tx *sql.Tx, device, name string) error
}

var (
	moduleKind = kind[api.Module]{
		name:       "module",
		setVersion: func(m *api.Module, v int64) { m.Version = v },
		created: func(ctx context.Context, s *Store, tx *sql.Tx, device, name string) error {
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO twins
				(device_id, module, desired, desired_version, reported, reported_version)
				VALUES (?, ?, '{}', 1, '{}', 1) ON CONFLICT (device_id, module) DO NOTHING`),
				device, name)
			return err
		},
		deleted: func(ctx context.Context, s *Store, tx *sql.Tx, device, name string) error {
			_, err := tx.ExecContext(ctx,
				s.q(`DELETE FROM twins WHERE device_id = ? AND module = ?`), device, name)
			return err
		},
	}
	routeKind = kind[api.Route]{
		name:       "route",
		setVersion: func(r *api.Route, v int64) { r.Version = v },
	}
	registryKind = kind[api.Registry]{
		name:       "registry",
		setVersion: func(r *api.Registry, v int64) { r.Version = v },
		keep: func(old, cur *api.Registry) {
			if cur.Password == "" {
				cur.Password = old.Password
			}
		},
	}
	upstreamKind = kind[api.Upstream]{
		name:       "upstream",
		setVersion: func(u *api.Upstream, v int64) { u.Version = v },
		keep: func(old, cur *api.Upstream) {
			if cur.Password == "" {
				cur.Password = old.Password
			}
			if cur.ClientKey == "" {
				cur.ClientKey = old.ClientKey
			}
		},
	}
)

func putObject[T any](ctx context.Context, s *Store, k kind[T], device, name string, v T,
	pre store.Precondition) (T, bool, error) {
	var (
		out     T
		created bool
	)
	err := s.write(ctx, device, func(tx *sql.Tx) (bool, error) {
		if err := s.lockDevice(ctx, tx, device); err != nil {
			return false, err
		}
		var (
			data string
			ver  int64
		)
		err := tx.QueryRowContext(ctx, s.q(`SELECT data, version FROM objects
			WHERE device_id = ? AND kind = ? AND name = ?`), device, k.name, name).Scan(&data, &ver)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("reading %s: %w", k.name, err)
		}
		if !pre.Check(exists, ver) {
			return false, store.ErrVersionMismatch
		}

		if exists && k.keep != nil {
			var old T
			if err := json.Unmarshal([]byte(data), &old); err != nil {
				return false, fmt.Errorf("decoding stored %s: %w", k.name, err)
			}
			k.keep(&old, &v)
		}
		k.setVersion(&v, 0)
		b, err := json.Marshal(v)
		if err != nil {
			return false, fmt.Errorf("encoding %s: %w", k.name, err)
		}
		if exists && string(b) == data {
			out = v
			k.setVersion(&out, ver)
			return false, nil
		}

		if exists {
			ver++
			_, err = tx.ExecContext(ctx, s.q(`UPDATE objects SET data = ?, version = ?
				WHERE device_id = ? AND kind = ? AND name = ?`), string(b), ver, device, k.name, name)
		} else {
			ver, created = 1, true
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO objects (device_id, kind, name, version, data)
				VALUES (?, ?, ?, 1, ?)`), device, k.name, name, string(b))
			if err == nil && k.created != nil {
				err = k.created(ctx, s, tx, device, name)
			}
		}
		if err != nil {
			return false, fmt.Errorf("writing %s: %w", k.name, err)
		}
		out = v
		k.setVersion(&out, ver)
		return true, nil
	})
	return out, created, err
}

func getObject[T any](ctx context.Context, s *Store, k kind[T], device, name string) (T, error) {
	var (
		out  T
		data string
		ver  int64
	)
	err := s.r.QueryRowContext(ctx, s.q(`SELECT data, version FROM objects
		WHERE device_id = ? AND kind = ? AND name = ?`), device, k.name, name).Scan(&data, &ver)
	if errors.Is(err, sql.ErrNoRows) {
		return out, store.ErrNotFound
	}
	if err != nil {
		return out, fmt.Errorf("reading %s: %w", k.name, err)
	}
	if err := json.Unmarshal([]byte(data), &out); err != nil {
		return out, fmt.Errorf("decoding %s: %w", k.name, err)
	}
	k.setVersion(&out, ver)
	return out, nil
}

func listObjects[T any](ctx context.Context, s *Store, k kind[T], device string) ([]T, error) {
	if err := s.deviceExists(ctx, s.r, device); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT data, version FROM objects
		WHERE device_id = ? AND kind = ? ORDER BY name`), device, k.name)
	if err != nil {
		return nil, fmt.Errorf("listing %ss: %w", k.name, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var (
			data string
			ver  int64
			v    T
		)
		if err := rows.Scan(&data, &ver); err != nil {
			return nil, fmt.Errorf("listing %ss: %w", k.name, err)
		}
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", k.name, err)
		}
		k.setVersion(&v, ver)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing %ss: %w", k.name, err)
	}
	return out, nil
}

func deleteObject[T any](ctx context.Context, s *Store, k kind[T], device, name string,
	pre store.Precondition) error {
	return s.write(ctx, device, func(tx *sql.Tx) (bool, error) {
		if err := s.lockDevice(ctx, tx, device); err != nil {
			return false, err
		}
		var ver int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT version FROM objects
			WHERE device_id = ? AND kind = ? AND name = ?`), device, k.name, name).Scan(&ver)
		if errors.Is(err, sql.ErrNoRows) {
			return false, store.ErrNotFound
		}
		if err != nil {
			return false, fmt.Errorf("reading %s: %w", k.name, err)
		}
		if !pre.Check(true, ver) {
			return false, store.ErrVersionMismatch
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM objects
			WHERE device_id = ? AND kind = ? AND name = ?`), device, k.name, name); err != nil {
			return false, fmt.Errorf("deleting %s: %w", k.name, err)
		}
		if k.deleted != nil {
			if err := k.deleted(ctx, s, tx, device, name); err != nil {
				return false, fmt.Errorf("deleting %s: %w", k.name, err)
			}
		}
		return true, nil
	})
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) deviceExists(ctx context.Context, q querier, device string) error {
	var one int
	err := q.QueryRowContext(ctx, s.q(`SELECT 1 FROM devices WHERE id = ?`), device).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("reading device: %w", err)
	}
	return nil
}

// PutModule implements store.Store.
func (s *Store) PutModule(ctx context.Context, device string, m api.Module, pre store.Precondition) (api.Module, bool, error) {
	return putObject(ctx, s, moduleKind, device, m.Name, m, pre)
}

// GetModule implements store.Store.
func (s *Store) GetModule(ctx context.Context, device, name string) (api.Module, error) {
	return getObject(ctx, s, moduleKind, device, name)
}

// ListModules implements store.Store.
func (s *Store) ListModules(ctx context.Context, device string) ([]api.Module, error) {
	return listObjects(ctx, s, moduleKind, device)
}

// DeleteModule implements store.Store.
func (s *Store) DeleteModule(ctx context.Context, device, name string, pre store.Precondition) error {
	return deleteObject(ctx, s, moduleKind, device, name, pre)
}

// PutRoute implements store.Store.
func (s *Store) PutRoute(ctx context.Context, device string, r api.Route, pre store.Precondition) (api.Route, bool, error) {
	return putObject(ctx, s, routeKind, device, r.Name, r, pre)
}

// GetRoute implements store.Store.
func (s *Store) GetRoute(ctx context.Context, device, name string) (api.Route, error) {
	return getObject(ctx, s, routeKind, device, name)
}

// ListRoutes implements store.Store.
func (s *Store) ListRoutes(ctx context.Context, device string) ([]api.Route, error) {
	return listObjects(ctx, s, routeKind, device)
}

// DeleteRoute implements store.Store.
func (s *Store) DeleteRoute(ctx context.Context, device, name string, pre store.Precondition) error {
	return deleteObject(ctx, s, routeKind, device, name, pre)
}

// PutRegistry implements store.Store.
func (s *Store) PutRegistry(ctx context.Context, device string, r api.Registry, pre store.Precondition) (api.Registry, bool, error) {
	return putObject(ctx, s, registryKind, device, r.Name, r, pre)
}

// GetRegistry implements store.Store.
func (s *Store) GetRegistry(ctx context.Context, device, name string) (api.Registry, error) {
	return getObject(ctx, s, registryKind, device, name)
}

// ListRegistries implements store.Store.
func (s *Store) ListRegistries(ctx context.Context, device string) ([]api.Registry, error) {
	return listObjects(ctx, s, registryKind, device)
}

// DeleteRegistry implements store.Store.
func (s *Store) DeleteRegistry(ctx context.Context, device, name string, pre store.Precondition) error {
	return deleteObject(ctx, s, registryKind, device, name, pre)
}

// PutUpstream implements store.Store.
func (s *Store) PutUpstream(ctx context.Context, device string, u api.Upstream, pre store.Precondition) (api.Upstream, bool, error) {
	return putObject(ctx, s, upstreamKind, device, "", u, pre)
}

// GetUpstream implements store.Store.
func (s *Store) GetUpstream(ctx context.Context, device string) (api.Upstream, error) {
	return getObject(ctx, s, upstreamKind, device, "")
}

// DeleteUpstream implements store.Store.
func (s *Store) DeleteUpstream(ctx context.Context, device string, pre store.Precondition) error {
	return deleteObject(ctx, s, upstreamKind, device, "", pre)
}
