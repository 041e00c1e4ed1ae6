package podmantest

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// A journal socket file whose process has gone must count as dead: that is
// the state a machine is left in when journald dies, and Podman's journald
// log driver then refuses to create any container.
func TestJournalAlive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "socket")
	if JournalAlive(path) {
		t.Fatalf("JournalAlive(%s) with no file = true, want false", path)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	if !JournalAlive(path) {
		t.Fatalf("JournalAlive(%s) with a listener = false, want true", path)
	}
	c.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("closing a datagram socket removed its file (%v); this test needs it left behind", err)
	}
	if JournalAlive(path) {
		t.Fatalf("JournalAlive(%s) with a stale socket file = true, want false", path)
	}
}
