package podmantest

import (
	"strings"
	"testing"
)

// TestStart checks the set-up itself: the module image runs rootless with
// the journald log driver, and the registry holds the pushed image.
func TestStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rootless Podman and a registry")
	}
	e, err := Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)

	out, err := e.Podman(t.Context(), "run", "--rm", "--log-driver", "journald", "-e", "MODE=exit0",
		"-e", "MODULE_NAME=smoke", ModuleImage)
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello from smoke"; !strings.Contains(out, want) {
		t.Errorf("got output %q, want it to contain %q", out, want)
	}

	// A pull with the credentials works.
	if _, err := e.Podman(t.Context(), "pull", "-q", "--creds", RegistryUser+":"+RegistryPassword,
		e.RegistryImage); err != nil {
		t.Errorf("got %v pulling from the test registry, want success", err)
	}
}

// TestPrivateStorage checks that a run's Podman keeps its images and
// containers under the run's directory, never in the user's home, so that
// concurrent runs cannot see each other's containers.
func TestPrivateStorage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rootless Podman")
	}
	e, err := Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	out, err := e.Podman(t.Context(), "info", "--format", "{{.Store.GraphRoot}}")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); !strings.HasPrefix(got, e.Dir) {
		t.Errorf("got graph root %q, want one under %q", got, e.Dir)
	}
}
