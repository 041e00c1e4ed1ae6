package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/queue"
)

// Defaults for the fields of api.Upstream that are left zero.
const (
	DefaultTopicPrefix = "edgeplane"
	DefaultTTL         = 7200 * time.Second
	DefaultMaxBytes    = queue.DefaultMaxBytes
)

// config is an api.Upstream checked and turned into what the client needs.
type config struct {
	broker      string // tcp://host:port or ssl://host:port
	tls         *tls.Config
	clientID    string
	username    string
	password    string
	topicPrefix string
	ttl         time.Duration
	maxBytes    int64
}

// ConfigError is a malformed api.Upstream. Field is the JSON name of the
// field at fault.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return "upstream." + e.Field + ": " + e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

func fieldErr(field, format string, a ...any) error {
	return &ConfigError{Field: field, Err: fmt.Errorf(format, a...)}
}

// parseConfig checks up. Its errors are *ConfigError and never quote a
// password or a key.
func parseConfig(up *api.Upstream, device string) (*config, error) {
	c := &config{
		clientID:    up.ClientID,
		username:    up.Username,
		password:    up.Password,
		topicPrefix: up.TopicPrefix,
		ttl:         time.Duration(up.DefaultTimeToLiveSeconds) * time.Second,
		maxBytes:    up.MaxQueueBytes,
	}

	// Step 1: the URL and its scheme.
	u, err := url.Parse(up.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return nil, fieldErr("url", "not a URL: %v", err)
	}
	if u.User != nil {
		return nil, fieldErr("url", "holds user information; set username and password instead")
	}
	secure := false
	switch strings.ToLower(u.Scheme) {
	case "mqtt", "tcp":
	case "mqtts", "ssl", "tls":
		secure = true
	case "":
		return nil, fieldErr("url", "missing scheme in %q (want mqtt://, mqtts://, tcp://, ssl:// or tls://)", redactURL(u))
	default:
		return nil, fieldErr("url", "unsupported scheme %q (want mqtt, mqtts, tcp, ssl or tls)", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fieldErr("url", "missing host in %q", redactURL(u))
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fieldErr("url", "unexpected path %q (want scheme://host:port)", u.Path)
	}
	port := u.Port()
	if port == "" {
		port = "1883"
		if secure {
			port = "8883"
		}
	}
	if secure {
		c.broker = "ssl://" + net.JoinHostPort(u.Hostname(), port)
	} else {
		c.broker = "tcp://" + net.JoinHostPort(u.Hostname(), port)
	}

	// Step 2: TLS material, only meaningful with a TLS scheme.
	if !secure {
		for _, f := range []struct{ name, v string }{
			{"ca_certificate", up.CACertificate},
			{"client_certificate", up.ClientCertificate},
			{"client_key", up.ClientKey},
		} {
			if f.v != "" {
				return nil, fieldErr(f.name, "set, but url %q is not TLS (use mqtts://)", u.Scheme+"://"+u.Host)
			}
		}
	} else {
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
		if up.CACertificate != "" {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM([]byte(up.CACertificate)) {
				return nil, fieldErr("ca_certificate", "no PEM certificate found")
			}
			c.tls.RootCAs = pool
		}
		switch {
		case up.ClientCertificate != "" && up.ClientKey == "":
			return nil, fieldErr("client_key", "missing while client_certificate is set")
		case up.ClientCertificate == "" && up.ClientKey != "":
			return nil, fieldErr("client_certificate", "missing while client_key is set")
		case up.ClientCertificate != "":
			cert, err := tls.X509KeyPair([]byte(up.ClientCertificate), []byte(up.ClientKey))
			if err != nil {
				// The error of X509KeyPair does not quote the key.
				return nil, fieldErr("client_certificate", "unusable with client_key: %v", err)
			}
			c.tls.Certificates = []tls.Certificate{cert}
		}
	}

	// Step 3: the rest, with defaults.
	if c.password != "" && c.username == "" {
		return nil, fieldErr("username", "missing while password is set")
	}
	if c.clientID == "" {
		c.clientID = "edgeplane-" + device
	}
	if len(c.clientID) > 65535 {
		return nil, fieldErr("client_id", "longer than 65535 bytes")
	}
	if c.topicPrefix == "" {
		c.topicPrefix = DefaultTopicPrefix
	}
	if strings.ContainsAny(c.topicPrefix, "+#\x00") || strings.HasPrefix(c.topicPrefix, "/") ||
		strings.HasSuffix(c.topicPrefix, "/") || strings.Contains(c.topicPrefix, "//") {
		return nil, fieldErr("topic_prefix", "%q must be topic levels without wildcards or empty levels", c.topicPrefix)
	}
	switch {
	case up.DefaultTimeToLiveSeconds < 0:
		return nil, fieldErr("default_time_to_live_seconds", "negative (%d)", up.DefaultTimeToLiveSeconds)
	case up.DefaultTimeToLiveSeconds == 0:
		c.ttl = DefaultTTL
	}
	switch {
	case up.MaxQueueBytes < 0:
		return nil, fieldErr("max_queue_bytes", "negative (%d)", up.MaxQueueBytes)
	case up.MaxQueueBytes == 0:
		c.maxBytes = DefaultMaxBytes
	case up.MaxQueueBytes < queue.MinMaxBytes:
		return nil, fieldErr("max_queue_bytes", "%d is below the minimum of %d", up.MaxQueueBytes, queue.MinMaxBytes)
	}
	return c, nil
}

// redactURL drops user information, which may hold a password.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
