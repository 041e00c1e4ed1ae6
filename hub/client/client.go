// Package client is the Go client of the hub's operator API (hub/api): the
// Terraform provider and the edgeplane CLI use it to manage devices, modules,
// routes, module twins, upstreams and registry credentials.
//
// Every call takes a context and authenticates with an operator bearer
// token. Errors the hub returns are *Error values carrying the hub's code,
// message and field; they match the sentinel errors of this package with
// errors.Is, so a caller writes errors.Is(err, client.ErrNotFound) or
// errors.Is(err, client.ErrVersionMismatch) without looking at status codes.
//
// The package does not speak the device API (/v1/device); gateways use the
// runtime's own client for that.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/internal/version"
)

// DefaultTimeout bounds one request when Config.HTTPClient is nil.
const DefaultTimeout = 60 * time.Second

// Config says how to reach a hub.
type Config struct {
	// Endpoint is the hub's base URL, such as "https://hub.example.com:8443".
	// A path prefix is kept: "https://x/edge" calls "https://x/edge/v1/...".
	Endpoint string
	// Token is an operator token, sent as "Authorization: Bearer <token>".
	Token string
	// CACertificate is an optional PEM bundle that replaces the system roots
	// when verifying the hub's certificate.
	CACertificate []byte
	// UserAgent is sent as the User-Agent header; empty means
	// "edgeplane-client/<version>".
	UserAgent string
	// HTTPClient replaces the default client (whose timeout is
	// DefaultTimeout). When set, CACertificate is ignored.
	HTTPClient *http.Client
}

// Client calls the hub's operator API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	userAgent string
	http      *http.Client
}

// New returns a client for cfg. It fails when the endpoint is not an
// absolute http or https URL, the token is empty or the CA bundle holds no
// certificate; it does not contact the hub.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("parsing endpoint %q: %w", cfg.Endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http:// or https:// URL", cfg.Endpoint)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if cfg.Token == "" {
		return nil, errors.New("operator token is empty")
	}

	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Terraform runs many resources in parallel against one hub.
		tr.MaxIdleConnsPerHost = 32
		if len(cfg.CACertificate) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(cfg.CACertificate) {
				return nil, errors.New("CA certificate holds no PEM certificate")
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		hc = &http.Client{Transport: tr, Timeout: DefaultTimeout}
	}

	ua := cfg.UserAgent
	if ua == "" {
		ua = "edgeplane-client/" + version.Version
	}
	return &Client{base: u, token: cfg.Token, userAgent: ua, http: hc}, nil
}

// Endpoint returns the hub's base URL as configured.
func (c *Client) Endpoint() string { return c.base.String() }

// Sentinel errors that *Error values match with errors.Is, one per hub error
// code (see the api.Code* constants).
var (
	ErrBadRequest      = errors.New("bad request")
	ErrInvalid         = errors.New("invalid value")
	ErrUnauthorized    = errors.New("unauthorized")
	ErrForbidden       = errors.New("forbidden")
	ErrNotFound        = errors.New("not found")
	ErrVersionMismatch = errors.New("version mismatch")
	ErrTooLarge        = errors.New("request too large")
	ErrUnavailable     = errors.New("hub unavailable")
	ErrInternal        = errors.New("hub internal error")
)

var codeErrors = map[string]error{
	api.CodeBadRequest:      ErrBadRequest,
	api.CodeInvalid:         ErrInvalid,
	api.CodeUnauthorized:    ErrUnauthorized,
	api.CodeForbidden:       ErrForbidden,
	api.CodeNotFound:        ErrNotFound,
	api.CodeVersionMismatch: ErrVersionMismatch,
	api.CodeTooLarge:        ErrTooLarge,
	api.CodeUnavailable:     ErrUnavailable,
	api.CodeInternal:        ErrInternal,
}

// statusCodes is the fallback when a response has no JSON error body, for
// example from a proxy in front of the hub.
var statusCodes = map[int]string{
	http.StatusBadRequest:            api.CodeBadRequest,
	http.StatusUnauthorized:          api.CodeUnauthorized,
	http.StatusForbidden:             api.CodeForbidden,
	http.StatusNotFound:              api.CodeNotFound,
	http.StatusPreconditionFailed:    api.CodeVersionMismatch,
	http.StatusRequestEntityTooLarge: api.CodeTooLarge,
	http.StatusUnprocessableEntity:   api.CodeInvalid,
	http.StatusServiceUnavailable:    api.CodeUnavailable,
	http.StatusInternalServerError:   api.CodeInternal,
}

// Error is a non-2xx answer of the hub.
type Error struct {
	Method     string // HTTP method of the request
	Path       string // request path, without the endpoint
	StatusCode int
	// Code, Message and Field are the hub's api.Error. Code is one of the
	// api.Code* constants, or "http_<status>" when the answer had no JSON
	// error body.
	Code    string
	Message string
	Field   string
}

// Error returns "PUT /v1/devices/gw-1: 400 invalid: <message> (field tags)".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.StatusCode, e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " (field %s)", e.Field)
	}
	return b.String()
}

// Is reports whether target is the sentinel error of e's code.
func (e *Error) Is(target error) bool {
	s, ok := codeErrors[e.Code]
	return ok && s == target
}

// do sends one request. body, when not nil, is encoded as JSON; out, when not
// nil, receives the decoded 2xx response. ifMatch > 0 adds If-Match.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, ifMatch int64,
	body, out any,
) error {
	// path is already escaped segment by segment (see seg).
	u := c.base.String() + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}

	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding %s %s request: %w", method, path, err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("building %s %s request: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch > 0 {
		req.Header.Set("If-Match", strconv.Quote(strconv.FormatInt(ifMatch, 10)))
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("calling hub %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(method, path, resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding hub answer to %s %s: %w", method, path, err)
	}
	return nil
}

// decodeError turns a non-2xx response into an *Error, keeping the hub's
// JSON error when there is one.
func decodeError(method, path string, resp *http.Response) error {
	e := &Error{Method: method, Path: path, StatusCode: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ae api.Error
	if json.Unmarshal(raw, &ae) == nil && ae.Code != "" {
		e.Code, e.Message, e.Field = ae.Code, ae.Message, ae.Field
	} else {
		e.Code = statusCodes[resp.StatusCode]
		if e.Code == "" {
			e.Code = "http_" + strconv.Itoa(resp.StatusCode)
		}
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }
