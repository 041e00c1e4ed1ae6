package gateway_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/client"
	"github.com/edgeplane/edgeplane/runtime/podmantest"
)

// Shared by the package's integration tests: the rootless Podman set-up,
// the built binaries and one hub.
var (
	env    *podmantest.Env
	binDir string
	theHub *hub
)

const goTags = "remote exclude_graphdriver_btrfs btrfs_noversion exclude_graphdriver_devicemapper containers_image_openpgp"

func repoRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..")
}

// setup starts what the integration tests share; the returned func stops it.
func setup(ctx context.Context) (func(), error) {
	// edgeplaned runs the bus extension, which runs Mosquitto.
	if _, err := os.Stat("/usr/sbin/mosquitto"); err != nil {
		return nil, fmt.Errorf("missing /usr/sbin/mosquitto (package mosquitto); run `sudo make deps`")
	}
	var err error
	env, err = podmantest.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("setting up rootless podman: %w", err)
	}
	stop := func() {
		if theHub != nil {
			theHub.stop()
		}
		env.Close()
		if binDir != "" {
			os.RemoveAll(binDir)
		}
	}

	// The binaries, readable by the test user.
	binDir, err = os.MkdirTemp("", "ep-runtime-bin-")
	if err == nil {
		err = os.Chmod(binDir, 0o755)
	}
	for _, p := range []string{"edgeplaned", "edgeplane"} {
		if err != nil {
			break
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", goTags, "-o", filepath.Join(binDir, p), "./cmd/"+p)
		cmd.Dir = repoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
		if out, berr := cmd.CombinedOutput(); berr != nil {
			err = fmt.Errorf("building %s: %v: %s", p, berr, out)
		}
	}
	if err == nil {
		theHub, err = startHub(ctx)
	}
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// hub is a real hub process.
type hub struct {
	cmd    *exec.Cmd
	URL    string
	client *client.Client
	dir    string
}

func startHub(ctx context.Context) (*hub, error) {
	dir, err := os.MkdirTemp("", "ep-runtime-hub-")
	if err != nil {
		return nil, err
	}
	addrFile := filepath.Join(dir, "addr")
	token := randomKey()
	cmd := exec.Command(filepath.Join(binDir, "edgeplane"), "hub", "--listen", "127.0.0.1:0",
		"--data-dir", filepath.Join(dir, "data"), "--addr-file", addrFile)
	cmd.Env = append(os.Environ(), "EDGEPLANE_HUB_TOKENS="+token)
	logf, err := os.Create(filepath.Join(dir, "hub.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting hub: %w", err)
	}
	h := &hub{cmd: cmd, dir: dir}
	go cmd.Wait() //nolint:errcheck // stop kills it

	var addr string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b, err := os.ReadFile(addrFile)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			addr = strings.TrimSpace(string(b))
			break
		}
	}
	if addr == "" {
		h.stop()
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("hub did not write its address: %s", log)
	}
	h.URL = "http://" + addr
	h.client, err = client.New(client.Config{Endpoint: h.URL, Token: token})
	if err != nil {
		h.stop()
		return nil, err
	}
	return h, nil
}

func (h *hub) stop() {
	if h.cmd != nil && h.cmd.Process != nil {
		_ = h.cmd.Process.Kill()
	}
	os.RemoveAll(h.dir)
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// device registers a new device at the hub and returns its id and key.
func newDevice(t testing.TB) (string, string) {
	t.Helper()
	id := fmt.Sprintf("gw-%d", time.Now().UnixNano()%1e9)
	key := randomKey()
	if _, err := theHub.client.PutDevice(t.Context(), api.Device{ID: id, Enabled: true, Key: key}, 0); err != nil {
		t.Fatalf("creating device: %v", err)
	}
	return id, key
}

func putModule(t testing.TB, device string, m api.Module) {
	t.Helper()
	if _, err := theHub.client.PutModule(t.Context(), device, m, 0); err != nil {
		t.Fatalf("putting module %s: %v", m.Name, err)
	}
}

func testModule(name string, env map[string]string) api.Module {
	e := map[string]string{"MODULE_NAME": name}
	for k, v := range env {
		e[k] = v
	}
	return api.Module{Name: name, Image: podmantest.ModuleImage, Env: e, ImagePullPolicy: api.PullNever}
}

// daemon is an edgeplaned process run as the test user.
type daemon struct {
	t      testing.TB
	dir    string // config, data, logs; owned by the test user
	prefix string
	device string
	key    string
	hubURL string
	// journal connects edgeplaned's stderr to the journal as systemd does,
	// with JOURNAL_STREAM set, instead of to a log file.
	journal bool
	// podmanSocket replaces the shared Podman API; extraEnv is added to
	// edgeplaned's environment.
	podmanSocket string
	extraEnv     []string

	cmd    *exec.Cmd
	done   chan struct{}
	notify *net.UnixConn

	mu       sync.Mutex
	messages []string
}

// testTiming keeps everything short so that the tests see changes within
// seconds; the back-off reset is long enough never to happen in a test.
const testTiming = "tick=300ms,heartbeat=2s,wait=5s,backoff=1s,backoff-max=2s,reset=1h,stop=2s"

func newDaemon(t testing.TB, device, key string) *daemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "ep-runtime-gw-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, env.UID, env.GID); err != nil {
		t.Fatal(err)
	}
	d := &daemon{
		t: t, dir: dir, device: device, key: key, hubURL: theHub.URL,
		prefix: fmt.Sprintf("g%d-", time.Now().UnixNano()%1e9),
	}
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "edgeplaned.log"))
			t.Logf("edgeplaned log:\n%s", tail(string(log), 60))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := env.Podman(ctx, "ps", "-aq", "--filter", "name=^"+d.prefix); err == nil {
			for _, id := range strings.Fields(out) {
				_, _ = env.Podman(ctx, "rm", "-f", "-t", "0", id)
			}
		}
		os.RemoveAll(dir)
	})
	return d
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// start runs edgeplaned with a fresh config naming hubURL.
func (d *daemon) start() {
	t := d.t
	t.Helper()
	socket := env.Socket
	if d.podmanSocket != "" {
		socket = d.podmanSocket
	}
	cfg := fmt.Sprintf(`hub_url: %s
device_id: %s
device_key: %s
data_dir: %s
podman_socket: %s
container_prefix: %s
log_level: debug
`, d.hubURL, d.device, d.key, filepath.Join(d.dir, "data"), socket, d.prefix)
	cfgPath := filepath.Join(d.dir, "edgeplaned.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(cfgPath, env.UID, env.GID); err != nil {
		t.Fatal(err)
	}

	// A notify socket like systemd's, to see READY and STATUS.
	sock := filepath.Join(d.dir, "notify.sock")
	os.Remove(sock)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(sock, 0o666)
	d.notify = conn
	go d.readNotify(conn)

	logf, err := os.OpenFile(filepath.Join(d.dir, "edgeplaned.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := env.Command(context.Background(), filepath.Join(binDir, "edgeplaned"),
		"--config", cfgPath, "--testing-timing", testTiming)
	cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+sock)
	cmd.Env = append(cmd.Env, d.extraEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if d.journal {
		stream, id := journalStream(t, "edgeplaned-test")
		defer stream.Close()
		cmd.Stderr = stream
		cmd.Env = append(cmd.Env, "JOURNAL_STREAM="+id)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting edgeplaned: %v", err)
	}
	d.cmd = cmd
	d.done = make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(d.done)
}

// journalStream opens a stream to journald the way systemd connects a
// service's stderr, and returns it with its JOURNAL_STREAM value.
func journalStream(t testing.TB, identifier string) (*os.File, string) {
	t.Helper()
	conn, err := net.Dial("unix", "/run/systemd/journal/stdout")
	if err != nil {
		t.Fatalf("connecting to the journal: %v", err)
	}
	defer conn.Close()
	// identifier, unit id, priority, level prefix, forward to syslog, kmsg, console
	if _, err := fmt.Fprintf(conn, "%s\n\n6\n0\n0\n0\n0\n", identifier); err != nil {
		t.Fatal(err)
	}
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return f, fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

func (d *daemon) readNotify(conn *net.UnixConn) {
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		sc := bufio.NewScanner(strings.NewReader(string(buf[:n])))
		d.mu.Lock()
		for sc.Scan() {
			d.messages = append(d.messages, sc.Text())
		}
		d.mu.Unlock()
	}
}

// waitNotify waits until edgeplaned sent a notify line equal to want, or
// starting with it when prefix is true, and returns the last such line.
func (d *daemon) waitNotify(want string, prefix bool) (string, bool) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		d.mu.Lock()
		var got string
		for i := len(d.messages) - 1; i >= 0; i-- {
			if strings.HasPrefix(d.messages[i], want) {
				got = d.messages[i]
				break
			}
		}
		d.mu.Unlock()
		if got != "" && (prefix || got == want) {
			return got, true
		}
		if time.Now().After(deadline) {
			return got, false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countNotify returns how many notify lines equal line.
func (d *daemon) countNotify(line string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, m := range d.messages {
		if m == line {
			n++
		}
	}
	return n
}

// waitStatus waits until the latest STATUS= line contains sub.
func (d *daemon) waitStatus(sub string) (string, bool) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, _ := d.waitNotify("STATUS=", true)
		if strings.Contains(got, sub) {
			return got, true
		}
		if time.Now().After(deadline) {
			return got, false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill sends sig and waits for the process to end.
func (d *daemon) kill(sig syscall.Signal) {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	d.cmd = nil
	if d.notify != nil {
		d.notify.Close()
		d.notify = nil
	}
}

func (d *daemon) stop() { d.kill(syscall.SIGTERM) }

// eventually polls the hub's status of the device until cond holds.
func eventually(t testing.TB, device, what string, cond func(*api.DeviceStatus) bool) *api.DeviceStatus {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	var last *api.DeviceStatus
	for time.Now().Before(deadline) {
		st, err := theHub.client.GetDeviceStatus(t.Context(), device)
		if err == nil {
			last = st
			if cond(st) {
				return st
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	b, _ := json.MarshalIndent(last, "", "  ")
	t.Fatalf("got device status %s, want %s", b, what)
	return nil
}

func modulesRunning(names ...string) func(*api.DeviceStatus) bool {
	return func(st *api.DeviceStatus) bool {
		for _, n := range names {
			if st.Modules[n].Status != api.RuntimeRunning {
				return false
			}
		}
		return true
	}
}

type container struct {
	ID, Started, State string
}

// inspect returns a container's id, start time and state; ok=false when it
// does not exist.
func inspect(t testing.TB, name string) (container, bool) {
	t.Helper()
	out, err := env.Podman(t.Context(), "container", "inspect", "--format",
		"{{.ID}}|{{.State.StartedAt}}|{{.State.Status}}", name)
	if err != nil {
		if strings.Contains(err.Error(), "no such container") {
			return container{}, false
		}
		t.Fatal(err)
	}
	p := strings.SplitN(strings.TrimSpace(out), "|", 3)
	if len(p) != 3 {
		t.Fatalf("unexpected inspect output %q", out)
	}
	return container{ID: p[0], Started: p[1], State: p[2]}, true
}
