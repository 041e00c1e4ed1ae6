package hub

import (
	"net/http"
	"strconv"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
)

// DefaultWait is how long a long-poll waits when it names no wait.
const DefaultWait = 30 * time.Second

// deviceDesired answers GET /v1/device/desired?after=V&wait=D: the device's
// DesiredState at once when its version differs from V (or V is absent),
// else when it changes within the wait, else 304 Not Modified.
func (s *Server) deviceDesired(w http.ResponseWriter, r *http.Request, dev api.Device) error {
	q := r.URL.Query()
	after := int64(-1)
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errInvalid("after", "after must be a version (an integer of 0 or more), got %q", v)
		}
		after = n
	}
	wait := DefaultWait
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errInvalid("wait", "wait must be a duration such as \"30s\", got %q", v)
		}
		wait = d
	}
	wait = min(wait, s.cfg.LongPollMax)

	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		// Take the wake-up channel before reading, so no change slips by.
		changed := s.waits.wait(dev.ID)
		v, err := s.cfg.Store.DesiredVersion(r.Context(), dev.ID)
		if err != nil {
			return storeError(err, "device "+dev.ID)
		}
		if v != after {
			return s.writeDesired(w, r, dev.ID)
		}
		s.waits.waiting.Add(1)
		select {
		case <-changed:
		case <-timer.C:
			s.waits.waiting.Add(-1)
			w.WriteHeader(http.StatusNotModified)
			return nil
		case <-s.closed:
			s.waits.waiting.Add(-1)
			w.WriteHeader(http.StatusNotModified)
			return nil
		case <-r.Context().Done():
		}
		s.waits.waiting.Add(-1)
		if r.Context().Err() != nil {
			return nil
		}
	}
}

func (s *Server) writeDesired(w http.ResponseWriter, r *http.Request, device string) error {
	ds, err := s.cfg.Store.DesiredState(r.Context(), device)
	if err != nil {
		return storeError(err, "device "+device)
	}
	for i := range ds.Modules {
		withModuleDefaults(&ds.Modules[i])
	}
	writeJSON(w, http.StatusOK, ds, ds.Version)
	return nil
}

// withModuleDefaults spells out the defaults the operator left empty, so
// that the device need not know them.
func withModuleDefaults(m *api.Module) {
	if m.RestartPolicy == "" {
		m.RestartPolicy = api.RestartAlways
	}
	if m.DesiredStatus == "" {
		m.DesiredStatus = api.StatusRunning
	}
	if m.ImagePullPolicy == "" {
		m.ImagePullPolicy = api.PullOnCreate
	}
}

// deviceReported answers PATCH /v1/device/reported with 204.
func (s *Server) deviceReported(w http.ResponseWriter, r *http.Request, dev api.Device) error {
	var p api.ReportedPatch
	if err := decodeBody(w, r, &p); err != nil {
		return err
	}
	if p.AppliedVersion != nil && *p.AppliedVersion < 0 {
		return errInvalid("applied_version", "applied_version must be 0 or more")
	}
	for name, st := range p.Modules {
		if !api.IDPattern.MatchString(name) {
			return errInvalid("modules", "module name %q is not valid: %s", name, idRule)
		}
		if st == nil {
			continue
		}
		if err := oneOf("modules."+name+".status", st.Status, api.RuntimeRunning, api.RuntimeStopped,
			api.RuntimeBackoff, api.RuntimeUnhealthy, api.RuntimeFailed); err != nil || st.Status == "" {
			return errInvalid("modules."+name+".status",
				"status %q is not allowed; use running, stopped, backoff, unhealthy or failed", st.Status)
		}
	}
	for name, patch := range p.Twins {
		if !api.IDPattern.MatchString(name) {
			return errInvalid("twins", "module name %q is not valid: %s", name, idRule)
		}
		if err := validateProperties("twins."+name, patch); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.ApplyReported(r.Context(), dev.ID, p); err != nil {
		return storeError(err, "device "+dev.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
