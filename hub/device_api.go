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
	for woken := false; ; woken = true {
		// Take the wake-up channel before reading, so no change slips by.
		changed := s.waits.wait(dev.ID)
		ds, err := s.newerState(r, dev.ID, after, woken)
		if err != nil {
			return err
		}
		if ds != nil {
			writeDesired(w, *ds)
			return nil
		}
		if done := s.sleep(changed, timer.C, r); done {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
}

// newerState returns the device's desired state when its version differs
// from after, or nil. After a wake-up the document is most likely new, so
// it is read whole at once rather than its version first.
func (s *Server) newerState(r *http.Request, device string, after int64, woken bool) (*api.DesiredState, error) {
	if !woken {
		v, err := s.cfg.Store.DesiredVersion(r.Context(), device)
		if err != nil {
			return nil, storeError(err, "device "+device)
		}
		if v == after {
			return nil, nil
		}
	}
	ds, err := s.cfg.Store.DesiredState(r.Context(), device)
	if err != nil {
		return nil, storeError(err, "device "+device)
	}
	if ds.Version == after {
		return nil, nil
	}
	return &ds, nil
}

// sleep waits for a change, the end of the wait, shutdown or the client
// leaving. It reports true when the poll is over (answer 304; a client
// that left reads nothing) and false on a change.
func (s *Server) sleep(changed <-chan struct{}, timeout <-chan time.Time, r *http.Request) bool {
	s.waits.waiting.Add(1)
	defer s.waits.waiting.Add(-1)
	select {
	case <-changed:
		return false
	case <-timeout:
	case <-s.closed:
	case <-r.Context().Done():
	}
	return true
}

func writeDesired(w http.ResponseWriter, ds api.DesiredState) {
	for i := range ds.Modules {
		withModuleDefaults(&ds.Modules[i])
	}
	writeJSON(w, http.StatusOK, ds, ds.Version)
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
