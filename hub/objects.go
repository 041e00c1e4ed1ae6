package hub

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/mergepatch"
	"github.com/edgeplane/edgeplane/hub/store"
)

// objectPath reads {device} and, when name is not "", that parameter too.
func objectPath(r *http.Request, name string) (device, obj string, err error) {
	if device, err = pathID(r, "device"); err != nil {
		return "", "", err
	}
	if name != "" {
		if obj, err = pathID(r, name); err != nil {
			return "", "", err
		}
	}
	return device, obj, nil
}

// checkBodyName makes a name in the body agree with the path.
func checkBodyName(field, body, path string) error {
	if body != "" && body != path {
		return errInvalid(field, "%s %q in the body differs from %q in the path; omit it or make them equal",
			field, body, path)
	}
	return nil
}

// notFound is storeError that, when the whole device is missing, says so
// rather than naming the object under it.
func (s *Server) notFound(r *http.Request, err error, device, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) {
		if _, derr := s.cfg.Store.GetDevice(r.Context(), device); errors.Is(derr, store.ErrNotFound) {
			return storeError(err, "device "+device)
		}
	}
	return storeError(err, what)
}

// Modules.

func (s *Server) putModule(w http.ResponseWriter, r *http.Request) error {
	device, name, err := objectPath(r, "module")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	var m api.Module
	if err := decodeBody(w, r, &m); err != nil {
		return err
	}
	if err := checkBodyName("name", m.Name, name); err != nil {
		return err
	}
	m.Name = name
	if err := validateModule(&m); err != nil {
		return err
	}
	out, created, err := s.cfg.Store.PutModule(r.Context(), device, m, pre)
	if err != nil {
		return s.notFound(r, err, device, "module "+name)
	}
	writeJSON(w, putStatus(created), out, out.Version)
	return nil
}

func (s *Server) getModule(w http.ResponseWriter, r *http.Request) error {
	device, name, err := objectPath(r, "module")
	if err != nil {
		return err
	}
	m, err := s.cfg.Store.GetModule(r.Context(), device, name)
	if err != nil {
		return s.notFound(r, err, device, "module "+name)
	}
	writeJSON(w, http.StatusOK, m, m.Version)
	return nil
}

func (s *Server) listModules(w http.ResponseWriter, r *http.Request) error {
	device, _, err := objectPath(r, "")
	if err != nil {
		return err
	}
	ms, err := s.cfg.Store.ListModules(r.Context(), device)
	if err != nil {
		return storeError(err, "device "+device)
	}
	writeJSON(w, http.StatusOK, api.ModuleList{Modules: ms}, 0)
	return nil
}

func (s *Server) deleteModule(w http.ResponseWriter, r *http.Request) error {
	device, name, err := objectPath(r, "module")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteModule(r.Context(), device, name, pre); err != nil {
		return s.notFound(r, err, device, "module "+name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Twins.

func (s *Server) getTwin(w http.ResponseWriter, r *http.Request) error {
	device, module, err := objectPath(r, "module")
	if err != nil {
		return err
	}
	t, err := s.cfg.Store.GetTwin(r.Context(), device, module)
	if err != nil {
		return s.notFound(r, err, device, "module "+module)
	}
	writeJSON(w, http.StatusOK, t, t.DesiredVersion)
	return nil
}

func (s *Server) putTwin(w http.ResponseWriter, r *http.Request) error {
	return s.updateTwin(w, r, func(cur, doc json.RawMessage) (json.RawMessage, error) {
		return mergepatch.Canonical(doc)
	})
}

func (s *Server) patchTwin(w http.ResponseWriter, r *http.Request) error {
	return s.updateTwin(w, r, func(cur, patch json.RawMessage) (json.RawMessage, error) {
		return mergepatch.Apply(cur, patch)
	})
}

// updateTwin decodes a TwinDesiredUpdate and stores what apply makes of
// the current desired properties and the body's document.
func (s *Server) updateTwin(w http.ResponseWriter, r *http.Request,
	apply func(cur, doc json.RawMessage) (json.RawMessage, error)) error {
	device, module, err := objectPath(r, "module")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	var req api.TwinDesiredUpdate
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if err := validateProperties("desired", req.Desired); err != nil {
		return err
	}
	t, err := s.cfg.Store.UpdateTwinDesired(r.Context(), device, module, pre,
		func(cur json.RawMessage) (json.RawMessage, error) {
			next, err := apply(cur, req.Desired)
			if err != nil {
				return nil, errInvalid("desired", "desired properties: %v", err)
			}
			return next, validateProperties("desired", next)
		})
	if err != nil {
		return s.notFound(r, err, device, "twin of module "+module)
	}
	writeJSON(w, http.StatusOK, t, t.DesiredVersion)
	return nil
}

// Routes.

func (s *Server) putRoute(w http.ResponseWriter, r *http.Request) error {
	device, name, err := objectPath(r, "route")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	var rt api.Route
	if err := decodeBody(w, r, &rt); err != nil {
		return err
	}
	if err := checkBodyName("name", rt.Name, name); err != nil {
		return err
	}
	rt.Name = name
	if err := validateRoute(&rt); err != nil {
		return err
	}
	out, created, err := s.cfg.Store.PutRoute(r.Context(), device, rt, pre)
	if err != nil {
		return s.notFound(r, err, device, "route "+name)
	}
	writeJSON(w, putStatus(created), out, out.Version)
	return nil
}

func (s *Server) getRoute(w http.ResponseWriter, r *http.Request) error {
	device, name, err := objectPath(r, "route")
	if err != nil {
		return err
	}
	rt, err := s.cfg.Store.GetRoute(r.Context(), device, name)
	if err != nil {
		return s.notFound(r, err, device, "route "+name)
	}
	writeJSON(w, http.StatusOK, rt, rt.Version)
	return nil
}

func (s *Server) listRoutes(w http.ResponseWriter, r *http.Request) error {
	device, _, err := objectPath(r, "")
	if err != nil {
		return err
	}
	rs, err := s.cfg.Store.ListRoutes(r.Context(), device)
	if err != nil {
		return storeError(err, "device "+device)
	}
	writeJSON(w, http.StatusOK, api.RouteList{Routes: rs}, 0)
	return nil
}

func (s *Server) deleteRoute(w http.ResponseWriter, r *http.Request) error {
	device, name, err := objectPath(r, "route")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteRoute(r.Context(), device, name, pre); err != nil {
		return s.notFound(r, err, device, "route "+name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Registries. Passwords are write-only: reads say only whether one is set.

func redactRegistry(r api.Registry) api.Registry {
	r.PasswordSet = r.Password != ""
	r.Password = ""
	return r
}

func (s *Server) putRegistry(w http.ResponseWriter, r *http.Request) error {
	device, name, err := objectPath(r, "name")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	var reg api.Registry
	if err := decodeBody(w, r, &reg); err != nil {
		return err
	}
	if err := checkBodyName("name", reg.Name, name); err != nil {
		return err
	}
	reg.Name, reg.PasswordSet = name, false
	if err := validateRegistry(&reg); err != nil {
		return err
	}
	out, created, err := s.cfg.Store.PutRegistry(r.Context(), device, reg, pre)
	if err != nil {
		return s.notFound(r, err, device, "registry "+name)
	}
	writeJSON(w, putStatus(created), redactRegistry(out), out.Version)
	return nil
}

func (s *Server) getRegistry(w http.ResponseWriter, r *http.Request) error {
	device, name, err := objectPath(r, "name")
	if err != nil {
		return err
	}
	reg, err := s.cfg.Store.GetRegistry(r.Context(), device, name)
	if err != nil {
		return s.notFound(r, err, device, "registry "+name)
	}
	writeJSON(w, http.StatusOK, redactRegistry(reg), reg.Version)
	return nil
}

func (s *Server) listRegistries(w http.ResponseWriter, r *http.Request) error {
	device, _, err := objectPath(r, "")
	if err != nil {
		return err
	}
	regs, err := s.cfg.Store.ListRegistries(r.Context(), device)
	if err != nil {
		return storeError(err, "device "+device)
	}
	for i := range regs {
		regs[i] = redactRegistry(regs[i])
	}
	writeJSON(w, http.StatusOK, api.RegistryList{Registries: regs}, 0)
	return nil
}

func (s *Server) deleteRegistry(w http.ResponseWriter, r *http.Request) error {
	device, name, err := objectPath(r, "name")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteRegistry(r.Context(), device, name, pre); err != nil {
		return s.notFound(r, err, device, "registry "+name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Upstream. Password and ClientKey are write-only.

func redactUpstream(u api.Upstream) api.Upstream {
	u.PasswordSet, u.ClientKeySet = u.Password != "", u.ClientKey != ""
	u.Password, u.ClientKey = "", ""
	return u
}

func (s *Server) putUpstream(w http.ResponseWriter, r *http.Request) error {
	device, _, err := objectPath(r, "")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	var u api.Upstream
	if err := decodeBody(w, r, &u); err != nil {
		return err
	}
	u.PasswordSet, u.ClientKeySet = false, false
	if err := validateUpstream(&u); err != nil {
		return err
	}
	out, created, err := s.cfg.Store.PutUpstream(r.Context(), device, u, pre)
	if err != nil {
		return s.notFound(r, err, device, "upstream of device "+device)
	}
	writeJSON(w, putStatus(created), redactUpstream(out), out.Version)
	return nil
}

func (s *Server) getUpstream(w http.ResponseWriter, r *http.Request) error {
	device, _, err := objectPath(r, "")
	if err != nil {
		return err
	}
	u, err := s.cfg.Store.GetUpstream(r.Context(), device)
	if err != nil {
		return s.notFound(r, err, device, "upstream of device "+device)
	}
	writeJSON(w, http.StatusOK, redactUpstream(u), u.Version)
	return nil
}

func (s *Server) deleteUpstream(w http.ResponseWriter, r *http.Request) error {
	device, _, err := objectPath(r, "")
	if err != nil {
		return err
	}
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteUpstream(r.Context(), device, pre); err != nil {
		return s.notFound(r, err, device, "upstream of device "+device)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
