package upstream

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/hub/api"
)

// This file starts a real Mosquitto for the tests: a plain listener, a TLS
// listener that requires a client certificate, and a TLS listener with a
// password file, all on free loopback ports, with its files in t.TempDir().

// requireMosquitto skips under -short and fails when Mosquitto is missing.
func requireMosquitto(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: needs Mosquitto (run without -short)")
	}
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			tb.Fatal("mosquitto not found: install the Debian package mosquitto (sudo make deps)")
		}
	}
	return bin
}

// pki is a test CA with a server and a client certificate, PEM encoded.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey []byte
}

func newPKI(tb testing.TB) *pki {
	tb.Helper()
	caKey, caCert, caPEM := makeCert(tb, "edgeplane test CA", nil, nil, func(c *x509.Certificate) {
		c.IsCA = true
		c.BasicConstraintsValid = true
		c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	})
	_ = caKey
	p := &pki{ca: caPEM}
	var sk, ck *ecdsa.PrivateKey
	sk, _, p.serverCert = makeCert(tb, "localhost", caCert, caKey, func(c *x509.Certificate) {
		c.DNSNames = []string{"localhost"}
		c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	ck, _, p.clientCert = makeCert(tb, "gw1", caCert, caKey, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	p.serverKey, p.clientKey = keyPEM(tb, sk), keyPEM(tb, ck)
	return p
}

var serial int64

func makeCert(tb testing.TB, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey,
	edit func(*x509.Certificate),
) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	edit(tmpl)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(tb testing.TB, k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// broker is a Mosquitto process that can be stopped and started again
// with the same ports and persistent state.
type broker struct {
	tb                       testing.TB
	bin, dir, conf           string
	port, certPort, passPort int
	pki                      *pki
	user, pass               string

	mu  sync.Mutex
	cmd *exec.Cmd
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startBroker starts a broker; extra lines go into its global settings.
func startBroker(tb testing.TB, extra ...string) *broker {
	tb.Helper()
	b := &broker{
		tb:   tb,
		bin:  requireMosquitto(tb),
		dir:  tb.TempDir(),
		pki:  newPKI(tb),
		user: "gw1",
		pass: "s3cret-Upstream-pw",
	}
	b.port, b.certPort, b.passPort = freePort(tb), freePort(tb), freePort(tb)
	files := map[string][]byte{
		"ca.pem": b.pki.ca, "server.pem": b.pki.serverCert, "server.key": b.pki.serverKey,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(b.dir, name), data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	passwd := filepath.Join(b.dir, "passwd")
	pw, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		pw = "/usr/bin/mosquitto_passwd"
	}
	if out, err := exec.Command(pw, "-b", "-c", passwd, b.user, b.pass).CombinedOutput(); err != nil {
		tb.Fatalf("mosquitto_passwd (package mosquitto): %v: %s", err, out)
	}

	// Started as root, Mosquitto switches to the user named here; keep
	// the current one so that it can read the files above.
	u, err := user.Current()
	if err != nil {
		tb.Fatal(err)
	}
	tlsFiles := fmt.Sprintf("cafile %[1]s/ca.pem\ncertfile %[1]s/server.pem\nkeyfile %[1]s/server.key\n", b.dir)
	conf := fmt.Sprintf(`user %s
per_listener_settings true
persistence true
persistence_location %s/
autosave_interval 0
max_queued_messages 1000000
max_inflight_messages 0
set_tcp_nodelay true
%s
log_type error
log_type warning
log_type notice

listener %d 127.0.0.1
allow_anonymous true

listener %d 127.0.0.1
allow_anonymous true
require_certificate true
use_identity_as_username true
%s
listener %d 127.0.0.1
allow_anonymous false
password_file %s
%s`, u.Username, b.dir, strings.Join(extra, "\n"), b.port, b.certPort, tlsFiles, b.passPort, passwd, tlsFiles)
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	if err := os.WriteFile(b.conf, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	b.start()
	tb.Cleanup(b.stop)
	return b
}

// start runs Mosquitto and waits until every listener accepts.
func (b *broker) start() {
	b.tb.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	logf, err := os.OpenFile(filepath.Join(b.dir, "mosquitto.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		b.tb.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.tb.Fatalf("starting mosquitto: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.cmd = cmd

	deadline := time.Now().Add(30 * time.Second)
	for _, port := range []int{b.port, b.certPort, b.passPort} {
		for {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				log, _ := os.ReadFile(filepath.Join(b.dir, "mosquitto.log"))
				b.tb.Fatalf("mosquitto exited at start: %s", log)
			default:
			}
			if time.Now().After(deadline) {
				b.tb.Fatalf("mosquitto does not listen on %d", port)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// stop ends Mosquitto with SIGTERM, which saves its persistent state.
func (b *broker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { b.cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.cmd.Process.Kill()
	}
	b.cmd = nil
}

func (b *broker) url() string { return fmt.Sprintf("mqtt://127.0.0.1:%d", b.port) }

// upstream returns the plain-TCP endpoint of the broker.
func (b *broker) upstream() *api.Upstream { return &api.Upstream{URL: b.url()} }

// received is one message a collector got.
type received struct {
	topic string
	body  []byte
	dup   bool
}

// collector subscribes to everything under edgeplane/ at QoS 1.
type collector struct {
	mu   sync.Mutex
	msgs []received
	byID map[string]int
}

// subscribe connects a collector. A persistent one keeps its session in
// the broker across broker restarts, so nothing published while it is
// away is lost.
func (b *broker) subscribe(tb testing.TB, clientID string, persistent bool) *collector {
	tb.Helper()
	c := &collector{byID: map[string]int{}}
	opts := mqtt.NewClientOptions().AddBroker(strings.Replace(b.url(), "mqtt://", "tcp://", 1)).
		SetClientID(clientID).SetCleanSession(!persistent).
		SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(200 * time.Millisecond).
		SetOnConnectHandler(func(cl mqtt.Client) {
			cl.Subscribe("edgeplane/#", 1, nil)
		}).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			_, msg, err := ParseTopic(DefaultTopicPrefix, m.Topic())
			c.mu.Lock()
			defer c.mu.Unlock()
			c.msgs = append(c.msgs, received{m.Topic(), m.Payload(), m.Duplicate()})
			if err == nil {
				c.byID[msg.MessageID]++
			}
		})
	cl := mqtt.NewClient(opts)
	tok := cl.Connect()
	if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		tb.Fatalf("collector connect: %v", tok.Error())
	}
	// The subscription is made in the connect handler; wait for it.
	st := cl.Subscribe("edgeplane/#", 1, nil)
	if !st.WaitTimeout(30*time.Second) || st.Error() != nil {
		tb.Fatalf("collector subscribe: %v", st.Error())
	}
	tb.Cleanup(func() { cl.Disconnect(100) })
	return c
}

// count returns the messages received and the distinct message ids.
func (c *collector) count() (total, distinct int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs), len(c.byID)
}

func (c *collector) has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byID[id] > 0
}

func (c *collector) snapshot() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.msgs...)
}

// eventually polls cond until it holds, failing after a generous deadline.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logBuffer is a logger that writes to the test output and keeps a copy
// to check for secrets.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	return l.out.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func testLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	lb := &logBuffer{out: t.Output()}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}
