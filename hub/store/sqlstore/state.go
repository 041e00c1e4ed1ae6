package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/mergepatch"
	"github.com/edgeplane/edgeplane/hub/store"
)

// reported is the device's reported state as stored in devices.reported.
type reported struct {
	Agent          *api.AgentInfo              `json:"agent,omitempty"`
	AppliedVersion int64                       `json:"applied_version,omitempty"`
	LastError      string                      `json:"last_error,omitempty"`
	Modules        map[string]api.ModuleStatus `json:"modules,omitempty"`
}

// GetTwin implements store.Store.
func (s *Store) GetTwin(ctx context.Context, device, module string) (api.Twin, error) {
	var (
		t                 api.Twin
		desired, reported string
	)
	err := s.r.QueryRowContext(ctx, s.q(`SELECT desired, desired_version, reported, reported_version
		FROM twins WHERE device_id = ? AND module = ?`), device, module).
		Scan(&desired, &t.DesiredVersion, &reported, &t.ReportedVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("reading twin: %w", err)
	}
	t.Desired, t.Reported = json.RawMessage(desired), json.RawMessage(reported)
	return t, nil
}

// UpdateTwinDesired implements store.Store.
func (s *Store) UpdateTwinDesired(ctx context.Context, device, module string, pre store.Precondition,
	update func(cur json.RawMessage) (json.RawMessage, error)) (api.Twin, error) {
	var t api.Twin
	err := s.write(ctx, device, func(tx *sql.Tx) (bool, error) {
		if err := s.lockDevice(ctx, tx, device); err != nil {
			return false, err
		}
		var desired, reported string
		err := tx.QueryRowContext(ctx, s.q(`SELECT desired, desired_version, reported, reported_version
			FROM twins WHERE device_id = ? AND module = ?`), device, module).
			Scan(&desired, &t.DesiredVersion, &reported, &t.ReportedVersion)
		if errors.Is(err, sql.ErrNoRows) {
			return false, store.ErrNotFound
		}
		if err != nil {
			return false, fmt.Errorf("reading twin: %w", err)
		}
		if !pre.Check(true, t.DesiredVersion) {
			return false, store.ErrVersionMismatch
		}

		next, err := update(json.RawMessage(desired))
		if err != nil {
			return false, err
		}
		t.Reported = json.RawMessage(reported)
		if bytes.Equal(next, []byte(desired)) {
			t.Desired = json.RawMessage(desired)
			return false, nil
		}
		t.Desired = next
		t.DesiredVersion++
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE twins SET desired = ?, desired_version = ?
			WHERE device_id = ? AND module = ?`), string(next), t.DesiredVersion, device, module); err != nil {
			return false, fmt.Errorf("writing twin: %w", err)
		}
		return true, nil
	})
	return t, err
}

// DesiredVersion implements store.Store.
func (s *Store) DesiredVersion(ctx context.Context, device string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT desired_version FROM devices WHERE id = ?`), device).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("reading desired version: %w", err)
	}
	return v, nil
}

// DesiredState implements store.Store. It reads in one snapshot so that
// the version matches the content.
func (s *Store) DesiredState(ctx context.Context, device string) (api.DesiredState, error) {
	ds := api.DesiredState{
		DeviceID:   device,
		Modules:    []api.Module{},
		Routes:     []api.Route{},
		Twins:      map[string]api.DesiredTwin{},
		Registries: []api.Registry{},
	}
	tx, err := s.r.BeginTx(ctx, s.d.Snapshot)
	if err != nil {
		return ds, fmt.Errorf("beginning read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only

	err = tx.QueryRowContext(ctx, s.q(`SELECT desired_version FROM devices WHERE id = ?`), device).
		Scan(&ds.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return ds, store.ErrNotFound
	}
	if err != nil {
		return ds, fmt.Errorf("reading desired version: %w", err)
	}

	if err := s.readObjects(ctx, tx, device, &ds); err != nil {
		return ds, err
	}

	rows, err := tx.QueryContext(ctx, s.q(`SELECT module, desired, desired_version
		FROM twins WHERE device_id = ? ORDER BY module`), device)
	if err != nil {
		return ds, fmt.Errorf("reading twins: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			module, desired string
			dt              api.DesiredTwin
		)
		if err := rows.Scan(&module, &desired, &dt.Version); err != nil {
			return ds, fmt.Errorf("reading twins: %w", err)
		}
		dt.Properties = json.RawMessage(desired)
		ds.Twins[module] = dt
	}
	if err := rows.Err(); err != nil {
		return ds, fmt.Errorf("reading twins: %w", err)
	}
	return ds, nil
}

func (s *Store) readObjects(ctx context.Context, tx *sql.Tx, device string, ds *api.DesiredState) error {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT kind, data, version FROM objects
		WHERE device_id = ? ORDER BY kind, name`), device)
	if err != nil {
		return fmt.Errorf("reading desired state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k, data string
			ver     int64
		)
		if err := rows.Scan(&k, &data, &ver); err != nil {
			return fmt.Errorf("reading desired state: %w", err)
		}
		switch k {
		case moduleKind.name:
			var m api.Module
			err = json.Unmarshal([]byte(data), &m)
			m.Version = ver
			ds.Modules = append(ds.Modules, m)
		case routeKind.name:
			var r api.Route
			err = json.Unmarshal([]byte(data), &r)
			r.Version = ver
			ds.Routes = append(ds.Routes, r)
		case registryKind.name:
			var r api.Registry
			err = json.Unmarshal([]byte(data), &r)
			r.Version = ver
			ds.Registries = append(ds.Registries, r)
		case upstreamKind.name:
			var u api.Upstream
			err = json.Unmarshal([]byte(data), &u)
			u.Version = ver
			ds.Upstream = &u
		}
		if err != nil {
			return fmt.Errorf("decoding stored %s: %w", k, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading desired state: %w", err)
	}
	return nil
}

// ApplyReported implements store.Store.
func (s *Store) ApplyReported(ctx context.Context, device string, p api.ReportedPatch) error {
	return s.write(ctx, device, func(tx *sql.Tx) (bool, error) {
		var data string
		err := tx.QueryRowContext(ctx,
			s.q(`SELECT reported FROM devices WHERE id = ?`+s.d.LockSuffix), device).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return false, store.ErrNotFound
		}
		if err != nil {
			return false, fmt.Errorf("reading reported state: %w", err)
		}
		var rep reported
		if err := json.Unmarshal([]byte(data), &rep); err != nil {
			return false, fmt.Errorf("decoding reported state: %w", err)
		}

		// Merge the device-wide parts.
		if p.Agent != nil {
			rep.Agent = p.Agent
		}
		if p.AppliedVersion != nil {
			rep.AppliedVersion = *p.AppliedVersion
		}
		if p.LastError != nil {
			rep.LastError = *p.LastError
		}
		for name, st := range p.Modules {
			if st == nil {
				delete(rep.Modules, name)
				continue
			}
			if rep.Modules == nil {
				rep.Modules = map[string]api.ModuleStatus{}
			}
			rep.Modules[name] = *st
		}
		b, err := json.Marshal(rep)
		if err != nil {
			return false, fmt.Errorf("encoding reported state: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE devices SET reported = ? WHERE id = ?`),
			string(b), device); err != nil {
			return false, fmt.Errorf("writing reported state: %w", err)
		}

		// Merge each twin's reported properties.
		for module, patch := range p.Twins {
			if err := s.patchReportedTwin(ctx, tx, device, module, patch); err != nil {
				return false, err
			}
		}
		return false, nil
	})
}

func (s *Store) patchReportedTwin(ctx context.Context, tx *sql.Tx, device, module string,
	patch json.RawMessage) error {
	var (
		cur string
		ver int64
	)
	err := tx.QueryRowContext(ctx, s.q(`SELECT reported, reported_version FROM twins
		WHERE device_id = ? AND module = ?`), device, module).Scan(&cur, &ver)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the module is gone; its report no longer matters
	}
	if err != nil {
		return fmt.Errorf("reading twin: %w", err)
	}
	next, err := mergepatch.Apply(json.RawMessage(cur), patch)
	if err != nil {
		return fmt.Errorf("patching reported twin of %q: %w", module, err)
	}
	if bytes.Equal(next, []byte(cur)) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE twins SET reported = ?, reported_version = ?
		WHERE device_id = ? AND module = ?`), string(next), ver+1, device, module); err != nil {
		return fmt.Errorf("writing twin: %w", err)
	}
	return nil
}

// Status implements store.Store.
func (s *Store) Status(ctx context.Context, device string) (api.DeviceStatus, error) {
	var (
		lastSeen, desired int64
		data              string
	)
	err := s.r.QueryRowContext(ctx, s.q(`SELECT last_seen, desired_version, reported
		FROM devices WHERE id = ?`), device).Scan(&lastSeen, &desired, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return api.DeviceStatus{}, store.ErrNotFound
	}
	if err != nil {
		return api.DeviceStatus{}, fmt.Errorf("reading status: %w", err)
	}
	var seen time.Time
	if lastSeen != 0 {
		seen = time.Unix(0, lastSeen).UTC()
	}
	return decodeStatus(device, seen, desired, data)
}

// decodeStatus builds a device's status from its row: the last-seen time,
// the desired version and the stored reported document. Status and
// ListDevices share it so that both answer the same.
func decodeStatus(device string, lastSeen time.Time, desired int64, data string) (api.DeviceStatus, error) {
	st := api.DeviceStatus{DeviceID: device, LastSeen: lastSeen, DesiredVersion: desired,
		Modules: map[string]api.ModuleStatus{}}
	var rep reported
	if err := json.Unmarshal([]byte(data), &rep); err != nil {
		return st, fmt.Errorf("decoding reported state of device %q: %w", device, err)
	}
	st.Agent, st.AppliedVersion, st.LastError = rep.Agent, rep.AppliedVersion, rep.LastError
	for k, v := range rep.Modules {
		st.Modules[k] = v
	}
	return st, nil
}
