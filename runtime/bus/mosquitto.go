package bus

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/crypto/pbkdf2"

	"github.com/edgeplane/edgeplane/runtime/bus/topic"
)

// Users of the runtime's own bus clients. Module names cannot start with
// '_', so these never clash with a module.
const (
	RouterUser = "_edgeplane-router"
	TwinUser   = "_edgeplane-twin"
	// SyncUser connects only to wait for a reload of the broker
	// (Bus.reloadBroker); the ACL lets it do nothing.
	SyncUser = "_edgeplane-sync"
)

// Limits are the broker's queue and memory bounds. Mosquitto's default
// max_queued_messages of 1000 drops messages for a slow or briefly
// disconnected client without a word, so each bound is set on purpose.
type Limits struct {
	// MaxQueuedMessages bounds the messages the broker holds for one
	// client (the router while it restarts, a module that is down).
	MaxQueuedMessages int
	// MaxQueuedBytes bounds the same queue in bytes.
	MaxQueuedBytes int64
	// MaxInflightMessages is how many QoS 1 messages the broker sends to
	// one client before it waits for acknowledgements. The router
	// acknowledges in batches, so this is also its largest batch.
	MaxInflightMessages int
	// MemoryLimit bounds the broker's heap; beyond it publishes are
	// refused instead of the broker being killed for lack of memory.
	MemoryLimit int64
}

// DefaultLimits holds 100,000 messages (up to 256 MiB) per client, which
// covers minutes of a busy device while the router restarts, inside a
// 1 GiB broker heap.
var DefaultLimits = Limits{
	MaxQueuedMessages:   100_000,
	MaxQueuedBytes:      256 << 20,
	MaxInflightMessages: 1000,
	MemoryLimit:         1 << 30,
}

// brokerFiles are the paths of the broker's files inside the bus directory.
type brokerFiles struct {
	dir, conf, passwd, acl, sockDir, sock, persist, secrets, sessions, fastRoutes, pid string
}

func newBrokerFiles(dir string) brokerFiles {
	return brokerFiles{
		dir:     dir,
		conf:    filepath.Join(dir, "mosquitto.conf"),
		passwd:  filepath.Join(dir, "passwd"),
		acl:     filepath.Join(dir, "acl"),
		sockDir: filepath.Join(dir, "sock"),
		sock:    filepath.Join(dir, "sock", "broker.sock"),
		persist: filepath.Join(dir, "persist") + "/",
		secrets: filepath.Join(dir, "secrets"),
		// sessions holds a marker per module whose broker session the
		// bus opened (sessions.go).
		sessions: filepath.Join(dir, "sessions"),
		// fastRoutes is the table of the fast-route plugin (fastroute.go).
		fastRoutes: filepath.Join(dir, "fastroutes"),
		pid:        filepath.Join(dir, "mosquitto.pid"),
	}
}

// writeConfig writes mosquitto.conf. It only changes when the bus
// directory or the limits change, which needs a restart of the broker.
func (f brokerFiles) writeConfig(l Limits, plugin string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by edgeplaned; changes are overwritten. See docs/bus.md.\n")
	if os.Geteuid() == 0 {
		// As root Mosquitto would drop to the "mosquitto" user, which
		// cannot read these 0600 files. edgeplaned normally runs
		// unprivileged and Mosquitto stays that user.
		b.WriteString("user root\n")
	}
	fmt.Fprintf(&b, "pid_file %s\n", f.pid)
	fmt.Fprintf(&b, "per_listener_settings false\n")
	fmt.Fprintf(&b, "listener 0 %s\n", f.sock)
	fmt.Fprintf(&b, "allow_anonymous false\n")
	fmt.Fprintf(&b, "password_file %s\n", f.passwd)
	fmt.Fprintf(&b, "acl_file %s\n", f.acl)
	// One connection per credential: a module cannot take over the
	// router's or another module's session by choosing its client id.
	fmt.Fprintf(&b, "use_username_as_clientid true\n")
	fmt.Fprintf(&b, "persistence true\n")
	fmt.Fprintf(&b, "persistence_location %s\n", f.persist)
	fmt.Fprintf(&b, "autosave_interval 30\n")
	fmt.Fprintf(&b, "persistent_client_expiration 14d\n")
	fmt.Fprintf(&b, "message_size_limit %d\n", topic.MaxPayload)
	fmt.Fprintf(&b, "max_queued_messages %d\n", l.MaxQueuedMessages)
	fmt.Fprintf(&b, "max_queued_bytes %d\n", l.MaxQueuedBytes)
	fmt.Fprintf(&b, "max_inflight_messages %d\n", l.MaxInflightMessages)
	fmt.Fprintf(&b, "memory_limit %d\n", l.MemoryLimit)
	fmt.Fprintf(&b, "queue_qos0_messages false\n")
	fmt.Fprintf(&b, "retain_available false\n")
	fmt.Fprintf(&b, "log_dest stderr\n")
	fmt.Fprintf(&b, "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
	fmt.Fprintf(&b, "log_timestamp false\n")
	fmt.Fprintf(&b, "connection_messages true\n")
	if plugin != "" {
		fmt.Fprintf(&b, "plugin %s\n", plugin)
		fmt.Fprintf(&b, "plugin_opt_table %s\n", f.fastRoutes)
	}
	return writeFileAtomic(f.conf, []byte(b.String()), 0o600)
}

// aclText is the broker's ACL: what each user may publish (write) and
// subscribe to (read). Patterns apply to every user with %u replaced by
// the user name, which is the module name.
func aclText() string {
	return `# Written by edgeplaned; changes are overwritten. See docs/bus.md.
# Every module: publish to its outputs and twin requests, subscribe to its
# inputs and twin answers. Nothing else.
pattern write modules/%u/outputs/+/+
pattern write modules/%u/outputs/+
pattern write modules/%u/twin/get/+
pattern write modules/%u/twin/reported
pattern read modules/%u/inputs/#
pattern read modules/%u/twin/res/+
pattern read modules/%u/twin/desired

user ` + RouterUser + `
topic read modules/+/outputs/#
topic write modules/+/inputs/#

user ` + TwinUser + `
topic read modules/+/twin/get/+
topic read modules/+/twin/reported
topic write modules/+/twin/res/+
topic write modules/+/twin/desired
`
}

// passwdLine returns user's line of a Mosquitto 2.0 password file:
// PBKDF2-SHA512 with 101 iterations and a 12-byte salt, the format
// mosquitto_passwd writes ("$7$iterations$salt$hash").
func passwdLine(user, secret string) (string, error) {
	salt := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading random salt: %w", err)
	}
	const iter = 101
	hash := pbkdf2.Key([]byte(secret), salt, iter, sha512.Size, sha512.New)
	return fmt.Sprintf("%s:$7$%d$%s$%s", user, iter,
		base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(hash)), nil
}

// writePasswd writes the password file for users (name → secret).
func (f brokerFiles) writePasswd(users map[string]string) error {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)

	var b strings.Builder
	for _, n := range names {
		line, err := passwdLine(n, users[n])
		if err != nil {
			return err
		}
		b.WriteString(line + "\n")
	}
	return writeFileAtomic(f.passwd, []byte(b.String()), 0o600)
}

// writeFileAtomic replaces path with data so that a reader (Mosquitto on
// SIGHUP) sees the old or the new file, never half of one. The file gets
// perm even when an older one had other permissions.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := renameio.NewPendingFile(path, renameio.WithStaticPermissions(perm))
	if err == nil {
		defer f.Cleanup() //nolint:errcheck // a no-op after the replace
		if _, err = f.Write(data); err == nil {
			err = f.CloseAtomicallyReplace()
		}
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// broker is a running Mosquitto child process.
type broker struct {
	path string
	conf string
	log  *slog.Logger

	mu   sync.Mutex
	proc *os.Process // nil while not running
	// handlers is closed once the running broker has said it runs: it
	// then handles SIGHUP, which kills it before that.
	handlers chan struct{}
}

// errBrokerNotRunning is returned by reload when no broker runs; the next
// start reads the files anyway.
var errBrokerNotRunning = errors.New("broker not running")

// run starts Mosquitto and waits for it to exit or for ctx to end, when it
// is stopped with SIGTERM so that it saves its persistence file.
//
// The child gets SIGTERM from the kernel when edgeplaned dies, even by
// SIGKILL (Pdeathsig), so that Mosquitto saves the queued messages rather
// than living on or being lost. Pdeathsig follows the thread that started
// the child, so this goroutine keeps its thread until the child is gone.
func (b *broker) run(ctx context.Context, ready chan<- struct{}) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cmd := exec.Command(b.path, "-c", b.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("starting mosquitto: %w", err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("starting mosquitto %s: %w (install the Debian package mosquitto)", b.path, err)
		}
		return fmt.Errorf("starting mosquitto: %w", err)
	}
	handlers := make(chan struct{})
	b.mu.Lock()
	b.proc = cmd.Process
	b.handlers = handlers
	b.mu.Unlock()
	b.log.Info("broker started", "pid", cmd.Process.Pid)

	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		b.copyLog(stderr, ready, handlers)
	}()

	waitDone := make(chan error, 1)
	go func() {
		<-logDone
		waitDone <- cmd.Wait()
	}()
	select {
	case err = <-waitDone:
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		err = <-waitDone
	}

	b.mu.Lock()
	b.proc = nil
	b.mu.Unlock()
	if ctx.Err() != nil {
		b.log.Info("broker stopped")
		return nil
	}
	return fmt.Errorf("mosquitto exited: %v", err)
}

// copyLog sends Mosquitto's log lines to slog and closes ready when the
// broker says it is listening.
func (b *broker) copyLog(r io.Reader, ready, handlers chan<- struct{}) {
	sc := bufio.NewScanner(r)
	readyClosed, handlersClosed := false, false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "Error"):
			b.log.Error("mosquitto", "line", line)
		case strings.Contains(line, "Warning"):
			b.log.Warn("mosquitto", "line", line)
		default:
			b.log.Debug("mosquitto", "line", line)
		}
		if !handlersClosed && strings.HasSuffix(line, " running") {
			close(handlers)
			handlersClosed = true
		}
		if !readyClosed && strings.Contains(line, "Opening unix listen socket") {
			// The socket is bound right after this line; the client side
			// retries connecting in any case.
			close(ready)
			readyClosed = true
		}
	}
	if !readyClosed {
		close(ready)
	}
	if !handlersClosed { // it is exiting: reload need not wait
		close(handlers)
	}
}

// reload makes Mosquitto read its password and ACL files again (SIGHUP),
// keeping every connection and queued message. A broker that is still
// starting is waited for (up to handlersTimeout): SIGHUP would kill it.
func (b *broker) reload() error {
	b.mu.Lock()
	proc, handlers := b.proc, b.handlers
	b.mu.Unlock()
	if proc == nil {
		return errBrokerNotRunning
	}
	select {
	case <-handlers:
	case <-time.After(handlersTimeout):
		return fmt.Errorf("reloading mosquitto: it did not finish starting within %v", handlersTimeout)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc != proc {
		return errBrokerNotRunning // it exited meanwhile; the next one reads the files anew
	}
	if err := proc.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("reloading mosquitto: %w", err)
	}
	return nil
}

// handlersTimeout bounds how long reload waits for a starting broker.
const handlersTimeout = 10 * time.Second

func (b *broker) running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.proc != nil
}
