package hub

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/store"
)

// touchEvery is how often a device's last-seen time is written at most;
// devices call far more often than the online window needs.
const touchEvery = time.Second

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type deviceHandlerFunc func(w http.ResponseWriter, r *http.Request, dev api.Device) error

func errUnauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized, Message: msg}
}

func errForbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: api.CodeForbidden, Message: msg}
}

// authorization splits an Authorization header into scheme and credential.
func authorization(r *http.Request) (scheme, cred string) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, cred, _ = strings.Cut(h, " ")
	return strings.ToLower(scheme), strings.TrimSpace(cred)
}

// operator wraps an operator API handler: it requires a bearer token from
// the configured set.
func (s *Server) operator(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkOperator(r); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edgeplane"`)
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) checkOperator(r *http.Request) error {
	scheme, cred := authorization(r)
	switch scheme {
	case "bearer":
	case "device":
		return errForbidden("a device token cannot use the operator API; " +
			"send an operator token as Authorization: Bearer <token>")
	case "":
		return errUnauthorized("no credentials; send an operator token as Authorization: Bearer <token>")
	default:
		return errUnauthorized("unknown authorization scheme; send Authorization: Bearer <token>")
	}
	ok := 0
	for _, t := range s.cfg.Tokens {
		// Compare against every token so that timing says nothing.
		ok |= subtle.ConstantTimeCompare([]byte(cred), []byte(t))
	}
	if ok == 1 {
		return nil
	}
	if _, _, err := api.ParseDeviceToken(cred); err == nil {
		return errForbidden("this is a device token, which cannot use the operator API; " +
			"send an operator token")
	}
	return errUnauthorized("the operator token is not valid; check --token-file or EDGEPLANE_HUB_TOKENS")
}

// device wraps a device API handler: it requires a valid device token of
// an enabled device and records that the device was seen.
func (s *Server) device(h deviceHandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dev, err := s.checkDevice(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Device realm="edgeplane"`)
			s.writeError(w, r, err)
			return
		}
		s.touch(r, dev.ID)
		if err := h(w, r, dev); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) checkDevice(r *http.Request) (api.Device, error) {
	scheme, cred := authorization(r)
	switch scheme {
	case "device":
	case "bearer":
		return api.Device{}, errForbidden("an operator token cannot use the device API; " +
			"send a device token as Authorization: Device <token>")
	case "":
		return api.Device{}, errUnauthorized("no credentials; send Authorization: Device <token>")
	default:
		return api.Device{}, errUnauthorized("unknown authorization scheme; send Authorization: Device <token>")
	}

	id, _, err := api.ParseDeviceToken(cred)
	if err != nil {
		return api.Device{}, errUnauthorized("the device token is malformed; " +
			"it is <device-id>.<expiry>.<signature>, see docs/hub.md")
	}
	dev, err := s.cfg.Store.GetDevice(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return api.Device{}, errUnauthorized("the device token is not valid")
	}
	if err != nil {
		return api.Device{}, err
	}
	key, err := api.DecodeKey(dev.Key)
	if err != nil {
		return api.Device{}, err
	}
	if _, err := api.VerifyDeviceToken(cred, key, time.Now()); err != nil {
		if errors.Is(err, api.ErrTokenExpired) {
			return api.Device{}, errUnauthorized("the device token has expired or is valid " +
				"for more than an hour; sign a fresh one")
		}
		return api.Device{}, errUnauthorized("the device token is not valid")
	}
	if !dev.Enabled {
		return api.Device{}, errForbidden("device " + dev.ID + " is disabled")
	}
	return dev, nil
}

// touch records last-seen, at most every touchEvery per device and
// replica. A failure is logged, not returned: the call itself is fine.
func (s *Server) touch(r *http.Request, device string) {
	now := time.Now()
	if v, ok := s.seen.Load(device); ok && now.Sub(v.(time.Time)) < touchEvery {
		return
	}
	s.seen.Store(device, now)
	if err := s.cfg.Store.Touch(r.Context(), device, now); err != nil && r.Context().Err() == nil {
		s.log.Warn("recording last seen failed", "device", device, "err", err)
	}
}
