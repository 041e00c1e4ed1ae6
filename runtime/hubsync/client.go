// Package hubsync is the device side of the hub's device API: it signs
// device tokens, long-polls the device's desired state and delivers reported
// patches in order, queueing them while the hub cannot be reached.
//
// It knows the wire contract of hub/api and nothing about containers: it
// neither validates nor applies the documents it fetches.
package hubsync

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
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
)

// Config says which hub to talk to and as which device.
type Config struct {
	// URL is the hub's base URL, such as "https://hub.example.com".
	URL string
	// DeviceID and Key identify the device; Key is the decoded device key.
	DeviceID string
	Key      []byte
	// CAFile, when set, is a PEM bundle that replaces the system roots.
	CAFile string
	// Wait is how long the hub may hold a long-poll; default 30s.
	Wait time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// ErrMalformed wraps a desired state the hub sent that could not be
// decoded. The gateway reports it as a rejected state.
var ErrMalformed = errors.New("malformed desired state")

// StatusError is a non-2xx answer of the hub.
type StatusError struct {
	StatusCode int
	API        api.Error
}

func (e *StatusError) Error() string {
	if e.API.Message != "" {
		return fmt.Sprintf("hub answered %d %s: %s", e.StatusCode, e.API.Code, e.API.Message)
	}
	return fmt.Sprintf("hub answered %d", e.StatusCode)
}

// Client calls the device API. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client

	mu       sync.Mutex
	token    string
	tokenExp time.Time
	lastOK   time.Time
	lastErr  error
}

// tokenLifetime is how long the tokens we sign live; they are renewed once
// less than tokenRenew of it is left.
const (
	tokenLifetime = 30 * time.Minute
	tokenRenew    = 10 * time.Minute
)

// New returns a Client for cfg. It fails when the URL or CA file is unusable.
func New(cfg Config) (*Client, error) {
	if cfg.Wait <= 0 {
		cfg.Wait = 30 * time.Second
	}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("parsing hub URL %q: want http(s)://host[:port]", cfg.URL)
	}
	if !api.IDPattern.MatchString(cfg.DeviceID) {
		return nil, fmt.Errorf("device id %q is not a valid identifier", cfg.DeviceID)
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading hub CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading hub CA file %s: no PEM certificates", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}

	// The timeout covers the long-poll plus a generous margin for a slow
	// link; without one a dead connection would block the loop forever.
	hc := &http.Client{Transport: tr, Timeout: cfg.Wait + 30*time.Second}
	return &Client{cfg: cfg, base: base, http: hc}, nil
}

// Poll asks for a desired state newer than after. It returns the new state,
// or (nil, nil) when the hub had nothing newer within the wait. A document
// that does not decode is returned as an error wrapping ErrMalformed.
func (c *Client) Poll(ctx context.Context, after int64) (*api.DesiredState, error) {
	q := url.Values{}
	q.Set("after", strconv.FormatInt(after, 10))
	q.Set("wait", c.cfg.Wait.String())
	resp, err := c.do(ctx, http.MethodGet, "/v1/device/desired?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		io.Copy(io.Discard, resp.Body)
		return nil, nil
	}

	b, err := io.ReadAll(io.LimitReader(resp.Body, 16*api.MaxBodyBytes))
	if err != nil {
		return nil, c.fail(fmt.Errorf("reading desired state: %w", err))
	}
	var ds api.DesiredState
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &ds, nil
}

// Send delivers one reported patch.
func (c *Client) Send(ctx context.Context, p api.ReportedPatch) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding reported patch: %w", err)
	}
	resp, err := c.do(ctx, http.MethodPatch, "/v1/device/reported", b)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

// Connected reports whether the last request reached the hub and was
// accepted, and the error of the last failed one otherwise.
func (c *Client) Connected() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr == nil && !c.lastOK.IsZero(), c.lastErr
}

// do sends a request and returns a response with a 2xx or 304 status; any
// other status is turned into a *StatusError.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, r)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Authorization", "Device "+c.deviceToken())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.fail(fmt.Errorf("calling hub: %w", err))
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified {
		c.ok()
		return resp, nil
	}

	defer resp.Body.Close()
	se := &StatusError{StatusCode: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(b, &se.API)
	return nil, c.fail(se)
}

// deviceToken returns a signed token, renewing it well before it expires.
func (c *Client) deviceToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.token == "" || c.tokenExp.Sub(now) < tokenRenew {
		c.tokenExp = now.Add(tokenLifetime)
		c.token = api.SignDeviceToken(c.cfg.DeviceID, c.cfg.Key, c.tokenExp)
	}
	return c.token
}

func (c *Client) ok() {
	c.mu.Lock()
	c.lastOK, c.lastErr = time.Now(), nil
	c.mu.Unlock()
}

func (c *Client) fail(err error) error {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
	return err
}
