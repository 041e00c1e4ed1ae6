package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func countsAgent(t *testing.T, file string, log *bytes.Buffer) *Agent {
	t.Helper()
	return &Agent{
		cfg:  Config{CountsFile: file},
		log:  slog.New(slog.NewTextHandler(log, nil)),
		mods: map[string]*moduleState{},
	}
}

// The counts file round-trips, only modules with restarts are kept, and a
// write happens only when something changed.
func TestCountsRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "counts.json")
	var log bytes.Buffer
	a := countsAgent(t, file, &log)
	a.mods["crasher"] = &moduleState{id: "c1", restarts: 3}
	a.mods["steady"] = &moduleState{id: "s1"}
	a.saveCounts()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("counts not written: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("counts file mode %v, want 0600", fi.Mode().Perm())
	}

	b := countsAgent(t, file, &log)
	b.loadCounts()
	if st := b.mods["crasher"]; st == nil || st.id != "c1" || st.restarts != 3 {
		t.Fatalf("loaded crasher = %+v, want container c1 with 3 restarts", st)
	}
	if _, ok := b.mods["steady"]; ok {
		t.Error("a module without restarts was stored")
	}

	// Unchanged counts are not written again.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	b.saveCounts()
	if _, err := os.Stat(file); err == nil {
		t.Error("unchanged counts were written again")
	}
	b.mods["crasher"].restarts = 4
	b.saveCounts()
	c := countsAgent(t, file, &log)
	c.loadCounts()
	if st := c.mods["crasher"]; st == nil || st.restarts != 4 {
		t.Fatalf("after a change, loaded crasher = %+v, want 4 restarts", st)
	}
}

// A damaged or foreign counts file is reported and ignored: losing it only
// shortens a back-off, so it never stops the gateway.
func TestCountsDamagedFileIgnored(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":      "{\"version\":1,\"modules\":",
		"wrong version": `{"version":7,"modules":{"m":{"container":"c","restarts":2}}}`,
		"wrong types":   `{"version":1,"modules":{"m":{"container":5,"restarts":"x"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "counts.json")
			if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			a := countsAgent(t, file, &log)
			a.loadCounts()
			if len(a.mods) != 0 {
				t.Errorf("loaded %v from a damaged file", a.mods)
			}
			if !strings.Contains(log.String(), "ignoring stored restart counts") || !strings.Contains(log.String(), file) {
				t.Errorf("log %q does not say the file %s was ignored", log.String(), file)
			}
		})
	}
}
