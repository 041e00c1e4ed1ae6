// Package podmantest sets up a rootless Podman for integration tests and
// benchmarks: an unprivileged user, a private Podman configuration and
// storage in a temporary directory, the Podman API service running as that
// user, the systemd journal, a local image registry with htpasswd auth, and
// a test module image.
//
// It must run as root (CI does); it never touches another user's Podman and
// keeps every file of a run under one temporary directory, so that several
// areas' tests can share a machine. It is test support only: nothing in the
// daemon imports it.
package podmantest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// User is the unprivileged user the runtime's tests run Podman as. Other
// areas use other names.
const User = "ep-runtime"

// Registry credentials of the test registry.
const (
	RegistryUser     = "edgeplane"
	RegistryPassword = "s3cret-for-tests"
)

// ModuleImage is the locally built test module (see testdata/module).
const ModuleImage = "localhost/ep-test-module:1"

// Env is a running rootless Podman set-up.
type Env struct {
	// User is the unprivileged user Podman runs as: User, or the name
	// given to StartAs.
	User     string
	Dir      string // everything of this run; owned by the user
	UID, GID int
	Home     string
	Socket   string // unix:// URI of the Podman API
	// Registry is host:port of the local registry; RegistryImage is the test
	// module pushed there.
	Registry      string
	RegistryImage string

	service  *exec.Cmd
	registry *exec.Cmd
	env      []string
}

// missing names the Debian package of each binary the set-up needs.
var needed = map[string]string{
	"podman":          "podman",
	"runc":            "runc",
	"newuidmap":       "uidmap",
	"slirp4netns":     "slirp4netns",
	"docker-registry": "docker-registry",
	"htpasswd":        "apache2-utils",
	"journalctl":      "systemd",
	"useradd":         "passwd",
}

// Check returns an error naming the packages to install when a binary the
// set-up needs is missing.
func Check() error {
	var miss []string
	for bin, pkg := range needed {
		if _, err := exec.LookPath(bin); err != nil {
			miss = append(miss, fmt.Sprintf("%s (package %s)", bin, pkg))
		}
	}
	if _, err := os.Stat("/lib/systemd/systemd-journald"); err != nil {
		miss = append(miss, "/lib/systemd/systemd-journald (package systemd)")
	}
	if len(miss) > 0 {
		return fmt.Errorf("missing %s; run `sudo make deps`", strings.Join(miss, ", "))
	}
	if os.Geteuid() != 0 {
		return errors.New("the rootless Podman tests must start as root to run Podman as user " + User +
			" (CI does: sudo make test-all); use -short to skip them")
	}
	return nil
}

// Start sets everything up for User. Call Close when done, also on
// failure.
func Start(ctx context.Context) (*Env, error) { return StartAs(ctx, User) }

// StartAs is Start for another area's user (such as "ep-bus"), so that
// areas testing on one machine do not share a Podman.
func StartAs(ctx context.Context, name string) (_ *Env, err error) {
	if err := Check(); err != nil {
		return nil, err
	}
	e := &Env{User: name}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()

	// Step 1: the user, with subordinate ids for the user namespace, and
	// the host's tun device and journal. Test packages of several areas run
	// in parallel, so machine-wide set-up takes a lock.
	unlock, err := lockSetup()
	if err != nil {
		return nil, err
	}
	err = ensureUser(name)
	if err == nil {
		err = prepareHost()
	}
	unlock()
	if err != nil {
		return nil, err
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	e.UID, _ = strconv.Atoi(u.Uid)
	e.GID, _ = strconv.Atoi(u.Gid)
	e.Home = u.HomeDir

	// Step 3: a private directory for this run.
	e.Dir, err = os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"", "run", "graph", "runroot", "tmp", "build", "conf"} {
		p := filepath.Join(e.Dir, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chown(p, e.UID, e.GID); err != nil {
			return nil, err
		}
	}

	// Step 4: the registry, first, because registries.conf names its port.
	if err := e.startRegistry(ctx); err != nil {
		return nil, err
	}

	// Step 5: Podman's configuration: runc (crun fails on this host's
	// hybrid cgroups), native overlay storage, the registry as insecure.
	if err := e.writeConfig(); err != nil {
		return nil, err
	}

	// Step 6: the API service as the user.
	if err := e.startService(ctx); err != nil {
		return nil, err
	}

	// Step 7: the module image, built locally and pushed to the registry.
	if err := e.buildImage(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// lockSetup serialises machine-wide set-up between test packages, which
// go test runs in parallel.
func lockSetup() (func(), error) {
	f, err := os.OpenFile("/run/edgeplane-podmantest.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// prepareHost makes the tun device usable for slirp4netns and starts the
// journal for the journald log driver.
func prepareHost() error {
	if fi, err := os.Stat("/dev/net/tun"); err == nil && fi.Mode().Perm()&0o006 != 0o006 {
		if err := os.Chmod("/dev/net/tun", 0o666); err != nil {
			return fmt.Errorf("making /dev/net/tun usable: %w", err)
		}
	}
	return EnsureJournald()
}

// retry runs cmd until it succeeds: useradd and usermod give up at once
// when another program holds the lock on /etc/passwd.
func retry(name string, args ...string) error {
	var out []byte
	var err error
	for range 40 {
		if out, err = exec.Command(name, args...).CombinedOutput(); err == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
}

func ensureUser(name string) error {
	if _, err := user.Lookup(name); err != nil {
		if err := retry("useradd", "-m", "-s", "/bin/sh", name); err != nil {
			// Someone else may have added it meanwhile.
			if _, lerr := user.Lookup(name); lerr != nil {
				return err
			}
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)

	// useradd gives subordinate ids on Debian; add them if it did not, in
	// a range of this user's own.
	ids := fmt.Sprintf("%d-%d", 1<<20+uid*65536, 1<<20+uid*65536+65535)
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, _ := os.ReadFile(f)
		if !bytes.Contains(b, []byte(name+":")) {
			flag := "--add-subuids"
			if strings.HasSuffix(f, "gid") {
				flag = "--add-subgids"
			}
			if err := retry("usermod", flag, ids, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// JournalSocket is where systemd-journald receives native log records.
const JournalSocket = "/run/systemd/journal/socket"

// EnsureJournald starts systemd-journald when nothing answers on its
// socket. A socket file alone proves nothing: a journald that died (or a
// machine whose /run survived a restart of the container it runs in) leaves
// the file behind and every write to it is refused, which Podman's journald
// log driver reports as "failed to initialize journal". The journal is
// shared by every test on the machine, so it is left running.
func EnsureJournald() error {
	if JournalAlive(JournalSocket) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(JournalSocket), 0o755); err != nil {
		return err
	}
	cmd := exec.Command("/lib/systemd/systemd-journald")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting systemd-journald: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for !JournalAlive(JournalSocket) {
		select {
		case err := <-exited:
			return fmt.Errorf("systemd-journald exited before it answered on %s: %v", JournalSocket, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("systemd-journald did not answer on %s within 10s", JournalSocket)
		}
	}
	return nil
}

// JournalAlive reports whether a process receives datagrams on the journal
// socket at path: connecting a datagram socket to a file nobody listens on
// fails with "connection refused".
func JournalAlive(path string) bool {
	c, err := net.Dial("unixgram", path)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (e *Env) writeConfig() error {
	conf := filepath.Join(e.Dir, "conf")
	files := map[string]string{
		"containers.conf": fmt.Sprintf(`[containers]
log_driver = "journald"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = %q
`, filepath.Join(e.Dir, "tmp")),
		// Rootless Podman ignores graphroot and takes
		// rootless_storage_path; without it every run would share the
		// user's ~/.local/share/containers, and one run's clean-up would
		// remove another's containers.
		"storage.conf": fmt.Sprintf(`[storage]
driver = "overlay"
runroot = %q
graphroot = %q
rootless_storage_path = %q
`, filepath.Join(e.Dir, "runroot"), filepath.Join(e.Dir, "graph"), filepath.Join(e.Dir, "graph")),
		"registries.conf": fmt.Sprintf(`unqualified-search-registries = []

[[registry]]
location = %q
insecure = true
`, e.Registry),
	}
	for name, text := range files {
		p := filepath.Join(conf, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return err
		}
		if err := os.Chown(p, e.UID, e.GID); err != nil {
			return err
		}
	}
	e.env = []string{
		"HOME=" + e.Home,
		"USER=" + e.User,
		"LOGNAME=" + e.User,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"XDG_RUNTIME_DIR=" + filepath.Join(e.Dir, "run"),
		"CONTAINERS_CONF=" + filepath.Join(conf, "containers.conf"),
		"CONTAINERS_STORAGE_CONF=" + filepath.Join(conf, "storage.conf"),
		"CONTAINERS_REGISTRIES_CONF=" + filepath.Join(conf, "registries.conf"),
	}
	return nil
}

// Environ returns the environment that programs run as User need to use
// this set-up's Podman.
func (e *Env) Environ() []string { return append([]string(nil), e.env...) }

// Command returns a command that runs as User with this set-up's
// environment.
func (e *Env) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = e.Environ()
	cmd.Dir = e.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(e.UID), Gid: uint32(e.GID)},
		Setpgid:    true,
	}
	return cmd
}

// Podman runs the podman command line as User and returns its standard
// output.
func (e *Env) Podman(ctx context.Context, args ...string) (string, error) {
	cmd := e.Command(ctx, "podman", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

func (e *Env) startService(ctx context.Context) error {
	sock := filepath.Join(e.Dir, "podman.sock")
	e.Socket = "unix://" + sock
	cmd, err := e.StartService(ctx, sock)
	if err != nil {
		return err
	}
	e.service = cmd
	return nil
}

// StartService starts another Podman API service of this set-up, on the
// Unix socket sock, and waits until it answers. The caller kills it
// (signal the process group: -cmd.Process.Pid).
func (e *Env) StartService(ctx context.Context, sock string) (*exec.Cmd, error) {
	cmd := e.Command(context.Background(), "podman", "system", "service", "--time=0", "unix://"+sock)
	logf, err := os.CreateTemp(e.Dir, "podman-service-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting podman system service: %w", err)
	}
	go cmd.Wait() //nolint:errcheck // the caller kills it
	err = waitFor(60*time.Second, func() bool {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	if err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("podman API socket did not come up: %s", log)
	}
	return cmd, nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (e *Env) startRegistry(ctx context.Context) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	e.Registry = fmt.Sprintf("127.0.0.1:%d", port)
	dir := filepath.Join(e.Dir, "registry")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return err
	}
	pw, err := exec.CommandContext(ctx, "htpasswd", "-Bbn", RegistryUser, RegistryPassword).Output()
	if err != nil {
		return fmt.Errorf("htpasswd: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), pw, 0o600); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
auth:
  htpasswd:
    realm: edgeplane-test
    path: %s
`, filepath.Join(dir, "data"), e.Registry, filepath.Join(dir, "htpasswd"))
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	cmd := exec.Command("docker-registry", "serve", cfgPath)
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting docker-registry: %w", err)
	}
	e.registry = cmd
	go cmd.Wait() //nolint:errcheck // Close kills it
	err = waitFor(30*time.Second, func() bool {
		c, err := net.Dial("tcp", e.Registry)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	if err != nil {
		log, _ := os.ReadFile(logf.Name())
		return fmt.Errorf("docker-registry did not come up: %s", log)
	}
	return nil
}

// buildImage builds the test module as a static binary, makes a FROM
// scratch image of it and pushes it to the registry.
func (e *Env) buildImage(ctx context.Context) error {
	build := filepath.Join(e.Dir, "build")
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "testdata", "module")
	gob := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w",
		"-o", filepath.Join(build, "module"), ".")
	gob.Dir = src
	gob.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := gob.CombinedOutput(); err != nil {
		return fmt.Errorf("building test module: %v: %s", err, out)
	}
	cf := "FROM scratch\nCOPY module /module\nENTRYPOINT [\"/module\"]\n"
	if err := os.WriteFile(filepath.Join(build, "Containerfile"), []byte(cf), 0o644); err != nil {
		return err
	}
	for _, f := range []string{"module", "Containerfile"} {
		if err := os.Chown(filepath.Join(build, f), e.UID, e.GID); err != nil {
			return err
		}
	}
	if _, err := e.Podman(ctx, "build", "-q", "-t", ModuleImage, build); err != nil {
		return err
	}
	e.RegistryImage = e.Registry + "/edgeplane/module:1"
	_, err := e.Podman(ctx, "push", "-q", "--tls-verify=false",
		"--creds", RegistryUser+":"+RegistryPassword, ModuleImage, e.RegistryImage)
	return err
}

// Close stops everything Start started and removes the run's directory.
// Module containers of the run are removed first.
func (e *Env) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if e.env != nil {
		_, _ = e.Podman(ctx, "rm", "-af", "-t", "0")
	}
	for _, c := range []*exec.Cmd{e.service, e.registry} {
		if c != nil && c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			_ = c.Process.Kill()
		}
	}
	if e.Dir == "" {
		return
	}
	// Whatever still runs with this set-up's environment (the rootless
	// pause process that holds the user namespace, a stray conmon) goes
	// too; then no mounts are left and the files can be removed.
	killEnvProcesses(e.UID, "XDG_RUNTIME_DIR="+filepath.Join(e.Dir, "run"))
	_ = os.RemoveAll(e.Dir)
}

// killEnvProcesses kills the processes of uid whose environment holds the
// entry mark.
func killEnvProcesses(uid int, mark string) {
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+ent.Name(), &st) != nil || int(st.Uid) != uid {
			continue
		}
		env, err := os.ReadFile("/proc/" + ent.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == mark {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}

func waitFor(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("still not ready after %s", d)
}
