package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"

	"github.com/google/renameio/v2"
)

// The restart counts are kept in Config.CountsFile so that restarting
// edgeplaned does not reset a crash-looping module's back-off to its first
// step: the count goes back to zero only after ResetAfter of healthy
// running, or with a new container, as IoT Edge does. The file also
// remembers which containers are stopped on request, so that a module set
// running again after a restart of edgeplaned starts whatever its policy.

// countsFile is the JSON form of Config.CountsFile.
type countsFile struct {
	Version int                     `json:"version"`
	Modules map[string]moduleCounts `json:"modules"`
}

// moduleCounts is what survives a restart of the agent for one module: the
// container the count belongs to, the count, and whether the container is
// stopped because the module's desired status is stopped (moduleState.held).
type moduleCounts struct {
	Container string `json:"container"`
	Restarts  int    `json:"restarts"`
	Held      bool   `json:"held,omitempty"`
}

const countsVersion = 1

// loadCounts reads the counts file into a.mods. A missing file is a first
// start; an unreadable or malformed one is logged and ignored, since the
// worst outcome of losing it is a shorter back-off.
func (a *Agent) loadCounts() {
	if a.cfg.CountsFile == "" {
		return
	}
	b, err := os.ReadFile(a.cfg.CountsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var f countsFile
	if err == nil {
		err = json.Unmarshal(b, &f)
		if err == nil && f.Version != countsVersion {
			err = fmt.Errorf("version %d, want %d", f.Version, countsVersion)
		}
	}
	if err != nil {
		a.log.Warn("ignoring stored restart counts", "file", a.cfg.CountsFile, "err", err)
		return
	}
	for name, c := range f.Modules {
		if c.Container == "" || (c.Restarts <= 0 && !c.Held) {
			continue
		}
		a.mods[name] = &moduleState{id: c.Container, restarts: max(c.Restarts, 0), held: c.Held}
	}
	a.saved = f.Modules
}

// saveCounts writes the counts when they changed since the last write.
func (a *Agent) saveCounts() {
	if a.cfg.CountsFile == "" {
		return
	}
	now := map[string]moduleCounts{}
	a.mu.Lock()
	for name, st := range a.mods {
		if st.id != "" && (st.restarts > 0 || st.held) {
			now[name] = moduleCounts{Container: st.id, Restarts: st.restarts, Held: st.held}
		}
	}
	a.mu.Unlock()
	if maps.Equal(now, a.saved) {
		return
	}
	b, err := json.Marshal(countsFile{Version: countsVersion, Modules: now})
	if err == nil {
		err = renameio.WriteFile(a.cfg.CountsFile, b, 0o600)
	}
	if err != nil {
		a.log.Warn("storing restart counts", "file", a.cfg.CountsFile, "err", err)
		return
	}
	a.saved = now
}
