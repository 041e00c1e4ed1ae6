package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/internal/pgtest"
)

// buildEdgeplane builds this command into a temporary directory.
func buildEdgeplane(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "edgeplane")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building edgeplane: %v\n%s", err, out)
	}
	return bin
}

// waitForFile waits until path holds a line, as the hub writes its address.
func waitForFile(t *testing.T, path string, exited <-chan struct{}) string {
	t.Helper()
	for {
		if b, err := os.ReadFile(path); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			return strings.TrimSpace(string(b))
		}
		select {
		case <-exited:
			t.Fatal("the hub exited before writing its address")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestHubBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildEdgeplane(t)
	dir := t.TempDir()

	t.Run("refuses to start without a token", func(t *testing.T) {
		cmd := exec.Command(bin, "hub", "--listen", "127.0.0.1:0", "--data-dir", dir)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatal("got a hub that started without tokens, want an error exit")
		}
		if !strings.Contains(string(out), "no operator token configured") {
			t.Fatalf("got output %q, want it to say no operator token is configured", out)
		}
	})

	t.Run("serves and stops on SIGTERM", func(t *testing.T) {
		tokens := filepath.Join(dir, "tokens")
		if err := os.WriteFile(tokens, []byte("# operators\nfile-token\n\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		addrFile := filepath.Join(dir, "addr")
		var logs syncBuffer
		cmd := exec.Command(bin, "hub", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
			"--token-file", tokens, "--addr-file", addrFile, "--long-poll-max", "60s")
		cmd.Env = append(os.Environ(), "EDGEPLANE_HUB_TOKENS=env-token-1, env-token-2")
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		addr := waitForFile(t, addrFile, exited)
		base := "http://" + addr

		// Every configured token works; another does not.
		for _, tc := range []struct {
			token string
			want  int
		}{
			{"file-token", http.StatusCreated},
			{"env-token-2", http.StatusOK},
			{"wrong", http.StatusUnauthorized},
		} {
			req, _ := http.NewRequest("PUT", base+"/v1/devices/gw", strings.NewReader(`{}`))
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("token %q: got status %d, want %d", tc.token, resp.StatusCode, tc.want)
			}
		}

		// A long-poll is waiting when the signal comes; it is answered.
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		poll := make(chan int, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/device/desired?after=1&wait=60s", nil)
			req.Header.Set("Authorization", "Device "+deviceToken(t, base, "gw"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				poll <- 0
				return
			}
			resp.Body.Close()
			poll <- resp.StatusCode
		}()
		waitForLog(t, &logs, "hub starting")
		waitSeen(t, base, "gw")
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if got := <-poll; got != http.StatusNotModified {
			t.Fatalf("got long-poll status %d on shutdown, want 304", got)
		}
		<-exited
		if waitErr != nil {
			t.Fatalf("got exit %v, want a clean exit; log:\n%s", waitErr, logs.String())
		}
		log := logs.String()
		for _, want := range []string{"hub starting", "version=", "addr=" + addr, "store=sqlite:", "hub stopped"} {
			if !strings.Contains(log, want) {
				t.Fatalf("got log %q, want it to contain %q", log, want)
			}
		}
	})
}

// syncBuffer is a bytes.Buffer that a process and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// operatorGet GETs path with the file token and decodes the answer.
func operatorGet(t *testing.T, base, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer file-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Error(err)
	}
}

// deviceToken signs a token with the device's key as the hub stores it.
func deviceToken(t *testing.T, base, id string) string {
	var d api.Device
	operatorGet(t, base, "/v1/devices/"+id, &d)
	key, err := api.DecodeKey(d.Key)
	if err != nil {
		t.Error(err)
		return ""
	}
	return api.SignDeviceToken(id, key, time.Now().Add(time.Hour))
}

// waitSeen waits until the hub has recorded a call of the device, which
// happens before its long-poll starts waiting.
func waitSeen(t *testing.T, base, id string) {
	t.Helper()
	for range 1000 {
		var st api.DeviceStatus
		operatorGet(t, base, "/v1/devices/"+id+"/status", &st)
		if !st.LastSeen.IsZero() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the hub never saw device %s", id)
}

// TestHubBinaryPostgres starts the binary on a PostgreSQL database that
// the test starts itself.
func TestHubBinaryPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts PostgreSQL")
	}
	pg, err := pgtest.Start()
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	t.Cleanup(pg.Stop)
	dsn, err := pg.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	bin := buildEdgeplane(t)
	addrFile := filepath.Join(t.TempDir(), "addr")
	var logs syncBuffer
	cmd := exec.Command(bin, "hub", "--listen", "127.0.0.1:0", "--database", dsn, "--addr-file", addrFile)
	cmd.Env = append(os.Environ(), "EDGEPLANE_HUB_TOKENS=file-token")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // exit checked through the log
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	base := "http://" + waitForFile(t, addrFile, exited)

	req, _ := http.NewRequest("PUT", base+"/v1/devices/gw", strings.NewReader(`{"tags":{"db":"pg"}}`))
	req.Header.Set("Authorization", "Bearer file-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("got status %d creating a device, want 201", resp.StatusCode)
	}
	var d api.Device
	operatorGet(t, base, "/v1/devices/gw", &d)
	if d.Tags["db"] != "pg" {
		t.Fatalf("got device %+v, want tag db=pg", d)
	}
	if !strings.Contains(logs.String(), "store=postgres") {
		t.Fatalf("got log %q, want store=postgres", logs.String())
	}
}

func waitForLog(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	for range 500 {
		if strings.Contains(logs.String(), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("log never said %q", want)
}
