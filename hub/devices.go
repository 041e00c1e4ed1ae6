package hub

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/store"
)

// Device list paging.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// idRule says which names are allowed, for error messages.
const idRule = "use 1 to 128 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit"

// pathID returns the path parameter name, checked against api.IDPattern.
func pathID(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if !api.IDPattern.MatchString(v) {
		return "", errInvalid(name, "%s %q is not a valid name: %s", name, v, idRule)
	}
	return v, nil
}

// deviceRequest is the body of PUT /v1/devices/{device}. Enabled is a
// pointer so that an absent flag means true; the read-only fields a GET
// returns are accepted and ignored so that a read object can be sent back.
type deviceRequest struct {
	ID        string            `json:"id"`
	Tags      map[string]string `json:"tags"`
	Enabled   *bool             `json:"enabled"`
	Key       string            `json:"key"`
	Version   int64             `json:"version"`
	CreatedAt *time.Time        `json:"created_at"`
	LastSeen  *time.Time        `json:"last_seen"`
	// Status is what a list with include=status adds.
	Status json.RawMessage `json:"status"`
}

func (s *Server) putDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "device")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	var req deviceRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.ID != "" && req.ID != id {
		return errInvalid("id", "id %q in the body differs from %q in the path; omit it or make them equal", req.ID, id)
	}
	for k := range req.Tags {
		if k == "" {
			return errInvalid("tags", "tag names must not be empty")
		}
	}
	if req.Key != "" {
		if _, err := api.DecodeKey(req.Key); err != nil {
			return errInvalid("key", "key must be standard base64 of at least 32 bytes: %v", err)
		}
	}
	d := api.Device{ID: id, Tags: req.Tags, Enabled: req.Enabled == nil || *req.Enabled, Key: req.Key}

	out, created, err := s.cfg.Store.PutDevice(r.Context(), d, pre)
	if err != nil {
		return storeError(err, "device "+id)
	}
	writeJSON(w, putStatus(created), out, out.Version)
	return nil
}

func putStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "device")
	if err != nil {
		return err
	}
	d, err := s.cfg.Store.GetDevice(r.Context(), id)
	if err != nil {
		return storeError(err, "device "+id)
	}
	writeJSON(w, http.StatusOK, d, d.Version)
	return nil
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "device")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteDevice(r.Context(), id, pre); err != nil {
		return storeError(err, "device "+id)
	}
	s.seen.Delete(id)
	s.waits.notify(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	query := store.DeviceQuery{Limit: defaultPageSize, Tags: map[string]string{}}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return errInvalid("limit", "limit must be an integer from 1 to %d, got %q", maxPageSize, v)
		}
		query.Limit = n
	}
	if v := q.Get("page_token"); v != "" {
		after, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || !api.IDPattern.Match(after) {
			return errInvalid("page_token", "page_token is not one this hub returned; start without it")
		}
		query.After = string(after)
	}
	for _, v := range q["include"] {
		if v != "status" {
			return errInvalid("include", "include %q is not allowed; use include=status or leave it out", v)
		}
		query.Status = true
	}
	for _, t := range q["tag"] {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return errInvalid("tag", "tag filter %q must be name=value", t)
		}
		query.Tags[k] = v
	}

	// Ask for one more than the page to know whether another page exists.
	want := query.Limit
	query.Limit++
	devs, err := s.cfg.Store.ListDevices(r.Context(), query)
	if err != nil {
		return err
	}
	list := api.DeviceList{Devices: devs}
	if len(devs) > want {
		list.Devices = devs[:want]
		list.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(devs[want-1].ID))
	}
	now := time.Now()
	for i := range list.Devices {
		list.Devices[i].Key = ""
		if st := list.Devices[i].Status; st != nil {
			st.Online = online(st.LastSeen, now)
		}
	}
	writeJSON(w, http.StatusOK, list, 0)
	return nil
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "device")
	if err != nil {
		return err
	}
	st, err := s.cfg.Store.Status(r.Context(), id)
	if err != nil {
		return storeError(err, "device "+id)
	}
	st.Online = online(st.LastSeen, time.Now())
	writeJSON(w, http.StatusOK, st, 0)
	return nil
}

// online reports whether a device last seen at lastSeen counts as online
// at now.
func online(lastSeen, now time.Time) bool {
	return !lastSeen.IsZero() && now.Sub(lastSeen) < api.OnlineWindow
}
