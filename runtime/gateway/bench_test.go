package gateway_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/runtime/podmantest"
)

const benchModules = 10

// BenchmarkColdDeploy prints, side by side, how long edgeplaned takes from
// start to 10 running modules and how long a shell script takes to run the
// same 10 with `podman run -d` one after another (same image, same user,
// same log driver), and edgeplaned's idle resident memory after the deploy.
func BenchmarkColdDeploy(b *testing.B) {
	if testing.Short() {
		b.Skip("needs rootless Podman and a hub")
	}
	// Warm up: the first container of a fresh storage pays for mounting
	// the image's layer and setting up networking, whoever runs it.
	if _, err := env.Podman(b.Context(), "run", "--rm", "-e", "MODE=exit0", podmantest.ModuleImage); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		ours, rss := benchEdgeplaned(b)
		script := benchScript(b)
		b.ReportMetric(ours.Seconds(), "edgeplaned-s")
		b.ReportMetric(script.Seconds(), "script-s")
		b.ReportMetric(float64(rss)/1024, "idle-rss-MiB")
		fmt.Printf("cold deploy of %d modules: edgeplaned %.2fs, podman run -d script %.2fs; "+
			"edgeplaned idle RSS %.1f MiB (goal < 30)\n",
			benchModules, ours.Seconds(), script.Seconds(), float64(rss)/1024)
	}
}

// benchEdgeplaned returns the time from starting edgeplaned to all modules
// running, and its idle RSS in KiB afterwards.
func benchEdgeplaned(b *testing.B) (time.Duration, int) {
	dev, key := newDevice(b)
	for i := range benchModules {
		putModule(b, dev, testModule(fmt.Sprintf("m%02d", i), nil))
	}
	d := newDaemon(b, dev, key)

	start := time.Now()
	d.start()
	waitRunning(b, d.prefix, benchModules)
	elapsed := time.Since(start)

	// Idle: modules up, nothing changing, a few heartbeats.
	time.Sleep(5 * time.Second)
	rss := rssKiB(b, d.cmd.Process.Pid)
	return elapsed, rss
}

// benchScript runs the same modules with a shell script of podman run -d.
func benchScript(b *testing.B) time.Duration {
	prefix := fmt.Sprintf("s%d-", time.Now().UnixNano()%1e9)
	var sb strings.Builder
	sb.WriteString("set -e\n")
	for i := range benchModules {
		n := fmt.Sprintf("m%02d", i)
		fmt.Fprintf(&sb, "podman run -d --name %s%s --log-driver journald --log-opt tag=%s -e MODULE_NAME=%s %s >/dev/null\n",
			prefix, n, n, n, podmantest.ModuleImage)
	}
	b.Cleanup(func() {
		out, _ := env.Podman(b.Context(), "ps", "-aq", "--filter", "name=^"+prefix)
		for _, id := range strings.Fields(out) {
			_, _ = env.Podman(b.Context(), "rm", "-f", "-t", "0", id)
		}
	})
	start := time.Now()
	cmd := env.Command(b.Context(), "sh", "-c", sb.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("baseline script: %v: %s", err, out)
	}
	elapsed := time.Since(start)
	waitRunning(b, prefix, benchModules)
	return elapsed
}

// waitRunning polls Podman until n containers named prefix* run.
func waitRunning(b *testing.B, prefix string, n int) {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := env.Podman(b.Context(), "ps", "-q", "--filter", "name=^"+prefix, "--filter", "status=running")
		if err == nil && len(strings.Fields(out)) == n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("fewer than %d containers %s* running after 3 minutes", n, prefix)
}

func rssKiB(b *testing.B, pid int) int {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(s), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}
