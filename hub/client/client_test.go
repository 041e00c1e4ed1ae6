package client

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/hub/api"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no scheme", Config{Endpoint: "hub:8080", Token: "t"}, "not an http"},
		{"ftp", Config{Endpoint: "ftp://hub", Token: "t"}, "not an http"},
		{"no token", Config{Endpoint: "http://hub"}, "token is empty"},
		{"bad ca", Config{Endpoint: "https://hub", Token: "t", CACertificate: []byte("x")}, "no PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestErrorsMatchSentinels(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   error
		text   string
	}{
		{"not found", 404, `{"code":"not_found","message":"no device \"x\""}`, ErrNotFound,
			`GET /v1/devices/x: 404 not_found: no device "x"`},
		{"mismatch", 412, `{"code":"version_mismatch","message":"stored version is 3"}`,
			ErrVersionMismatch, "412 version_mismatch: stored version is 3"},
		{"field", 400, `{"code":"invalid","message":"bad tag","field":"tags.a"}`, ErrInvalid,
			"400 invalid: bad tag (field tags.a)"},
		{"proxy 404 without json", 404, `<html>nope</html>`, ErrNotFound, "404 not_found: <html>nope</html>"},
		{"proxy 502", 502, `bad gateway`, nil, "502 http_502: bad gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, err := New(Config{Endpoint: srv.URL, Token: "t"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetDevice(t.Context(), "x")
			var he *Error
			if !errors.As(err, &he) {
				t.Fatalf("got %T %v, want *Error", err, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false, want true", err, tt.want)
			}
			if errors.Is(err, ErrInternal) {
				t.Errorf("errors.Is(%v, ErrInternal) = true, want false", err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("got %q, want it to contain %q", err.Error(), tt.text)
			}
		})
	}
}

func TestRequestHeadersAndBody(t *testing.T) {
	var got *http.Request
	var gotBody api.Module
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_ = json.NewDecoder(r.Body).Decode(&gotBody)
		gotBody.Version = 8
		w.Header().Set("ETag", `"8"`)
		_ = json.NewEncoder(w).Encode(gotBody)
	}))
	defer srv.Close()
	c, err := New(Config{Endpoint: srv.URL + "/prefix/", Token: "secret", UserAgent: "ua/1"})
	if err != nil {
		t.Fatal(err)
	}

	m, err := c.PutModule(t.Context(), "gw 1", api.Module{Name: "sensor", Image: "img"}, 7)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"method", got.Method, "PUT"},
		{"path", got.URL.EscapedPath(), "/prefix/v1/devices/gw%201/modules/sensor"},
		{"authorization", got.Header.Get("Authorization"), "Bearer secret"},
		{"if-match", got.Header.Get("If-Match"), `"7"`},
		{"user agent", got.Header.Get("User-Agent"), "ua/1"},
		{"content type", got.Header.Get("Content-Type"), "application/json"},
		{"body image", gotBody.Image, "img"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if m.Version != 8 {
		t.Errorf("version: got %d, want 8", m.Version)
	}

	// No If-Match when the caller passes 0.
	if _, err := c.PutModule(t.Context(), "gw", api.Module{Name: "m"}, 0); err != nil {
		t.Fatal(err)
	}
	if h := got.Header.Get("If-Match"); h != "" {
		t.Errorf("if-match with version 0: got %q, want none", h)
	}
}

func TestListDevicesFollowsPages(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		page := api.DeviceList{Devices: []api.Device{{ID: "a"}}, NextPageToken: "p2"}
		if r.URL.Query().Get("page_token") == "p2" {
			page = api.DeviceList{Devices: []api.Device{{ID: "b"}}}
		}
		_ = json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	c, err := New(Config{Endpoint: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}

	ds, err := c.AllDevices(t.Context(), map[string]string{"site": "berlin", "env": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].ID != "a" || ds[1].ID != "b" {
		t.Errorf("got devices %+v, want a and b", ds)
	}
	want := []string{"tag=env%3Dprod&tag=site%3Dberlin", "page_token=p2&tag=env%3Dprod&tag=site%3Dberlin"}
	if strings.Join(queries, " ") != strings.Join(want, " ") {
		t.Errorf("got queries %q, want %q", queries, want)
	}

	queries = nil
	if _, err := c.AllDevicesWithStatus(t.Context(), map[string]string{"site": "berlin"}); err != nil {
		t.Fatal(err)
	}
	want = []string{"include=status&tag=site%3Dberlin", "include=status&page_token=p2&tag=site%3Dberlin"}
	if strings.Join(queries, " ") != strings.Join(want, " ") {
		t.Errorf("with status: got queries %q, want %q", queries, want)
	}
}

func TestCACertificateIsTrusted(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(api.Device{ID: "gw"})
	}))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	t.Run("with ca", func(t *testing.T) {
		c, err := New(Config{Endpoint: srv.URL, Token: "t", CACertificate: caPEM})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetDevice(t.Context(), "gw"); err != nil {
			t.Fatalf("got %v, want success", err)
		}
	})
	t.Run("without ca", func(t *testing.T) {
		c, err := New(Config{Endpoint: srv.URL, Token: "t"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetDevice(t.Context(), "gw")
		var ue x509.UnknownAuthorityError
		if !errors.As(err, &ue) {
			t.Fatalf("got %v, want an unknown authority error", err)
		}
	})
}
