// Package pgtest starts a throwaway PostgreSQL server for tests and
// benchmarks: initdb into a temporary directory, then the postgres binary on
// a free loopback port with its socket in that directory. As root it runs
// PostgreSQL as the postgres user, which PostgreSQL insists on. It finds
// Debian's binaries (package postgresql) under /usr/lib/postgresql.
//
// A test binary shares one server: wrap TestMain with Main, and call
// Database for a fresh, empty database per test.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running PostgreSQL.
type Server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	seq  atomic.Int64
}

// ErrNoPostgres is returned when the PostgreSQL binaries are missing.
var ErrNoPostgres = errors.New("PostgreSQL binaries (initdb, postgres) not found: " +
	"install Debian's postgresql package (make deps)")

// binDir finds the directory of initdb and postgres, newest version first.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrNoPostgres
}

// Start initialises and starts a server. Stop it with Stop.
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "edgeplane-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, done: make(chan struct{})}
	fail := func(err error) (*Server, error) {
		os.RemoveAll(dir)
		return nil, err
	}

	// PostgreSQL refuses to run as root: drop to the postgres user.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fail(fmt.Errorf("running PostgreSQL as root needs the postgres user: %w", err))
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return fail(err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %w\n%s", err, out))
	}

	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	s.port = port
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
		"-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return fail(fmt.Errorf("starting postgres: %w", err))
	}
	go func() { s.cmd.Wait(); close(s.done) }() //nolint:errcheck // exit seen through done

	// Wait until it accepts connections.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return s, nil
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return fail(fmt.Errorf("postgres exited at start:\n%s", log))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("postgres did not accept connections in 60s: %w", err)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN is the URL of database db on the server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d", s.seq.Add(1))
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database: %w", err)
	}
	return s.DSN(name), nil
}

// Stop stops the server (immediate shutdown) and removes its files.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGQUIT) //nolint:errcheck // may have exited
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
}

var (
	shared struct {
		sync.Mutex
		srv *Server
		err error
	}
	mainActive atomic.Bool
)

// Main runs the tests of m and then stops the shared server, if one was
// started. Use it as TestMain: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	mainActive.Store(true)
	code := m.Run()
	shared.Lock()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	shared.Unlock()
	return code
}

// Database returns the URL of a fresh database on the test binary's shared
// server, starting it on first use. Under -short it skips the test; a
// missing PostgreSQL fails it, naming the package to install.
func Database(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("PostgreSQL tests do not run with -short")
	}
	if !mainActive.Load() {
		tb.Fatal("pgtest.Database needs TestMain to call pgtest.Main")
	}
	shared.Lock()
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = Start()
	}
	srv, err := shared.srv, shared.err
	shared.Unlock()
	if err != nil {
		tb.Fatalf("starting PostgreSQL: %v", err)
	}
	dsn, err := srv.NewDatabase(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return dsn
}
