package state

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/hub/api"
)

func TestStore(t *testing.T) {
	tests := []struct {
		name  string
		saves []*api.DesiredState
		want  *api.DesiredState
	}{
		{name: "empty", want: nil},
		{
			name:  "one",
			saves: []*api.DesiredState{{DeviceID: "d", Version: 3}},
			want:  &api.DesiredState{DeviceID: "d", Version: 3},
		},
		{
			name: "last wins",
			saves: []*api.DesiredState{
				{DeviceID: "d", Version: 3},
				{DeviceID: "d", Version: 4, Modules: []api.Module{{Name: "m", Image: "i"}}},
			},
			want: &api.DesiredState{DeviceID: "d", Version: 4, Modules: []api.Module{{Name: "m", Image: "i"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, ds := range tt.saves {
				if err := s.Save(ds); err != nil {
					t.Fatal(err)
				}
			}

			// A fresh Store on the same directory sees what was saved.
			s2, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s2.Load()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}

			// No temporary files are left behind.
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("got leftover %s, want none", e.Name())
				}
			}
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("got dir mode %v (%v), want 0700", fi.Mode().Perm(), err)
			}
		})
	}
}

func TestLoadCorrupt(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); err == nil {
		t.Errorf("got nil error for a corrupt file, want one")
	}
}
