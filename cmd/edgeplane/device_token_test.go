package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
)

func TestDeviceToken(t *testing.T) {
	key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"valid", []string{"--device", "gw.1", "--key", key}, ""},
		{"short key", []string{"--device", "gw", "--key", "c2hvcnQ="}, "at least 32"},
		{"bad id", []string{"--device", "-gw", "--key", key}, "not a valid device id"},
		{"long ttl", []string{"--device", "gw", "--key", key, "--ttl", "2h"}, "at most 1h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deviceTokenFlags.ttl = time.Hour
			var out bytes.Buffer
			rootCmd.SetOut(&out)
			rootCmd.SetArgs(append([]string{"device", "token"}, tt.args...))
			err := rootCmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			k, _ := api.DecodeKey(key)
			id, err := api.VerifyDeviceToken(strings.TrimSpace(out.String()), k, time.Now())
			if err != nil || id != "gw.1" {
				t.Fatalf("got device %q, error %v; want gw.1 and a valid token", id, err)
			}
		})
	}
}
