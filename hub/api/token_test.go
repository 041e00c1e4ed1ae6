package api

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestDeviceToken(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	now := time.Unix(1_800_000_000, 0)
	good := SignDeviceToken("gw.site-1", key, now.Add(30*time.Minute))

	tests := []struct {
		name    string
		token   string
		key     []byte
		wantErr error
	}{
		{"valid", good, key, nil},
		{"wrong key", good, other, ErrTokenSignature},
		{"expired", SignDeviceToken("gw", key, now.Add(-time.Second)), key, ErrTokenExpired},
		{"too long lived", SignDeviceToken("gw", key, now.Add(3*time.Hour)), key, ErrTokenExpired},
		{"tampered id", "gw.site-2" + good[len("gw.site-1"):], key, ErrTokenSignature},
		{"no dots", "garbage", key, ErrTokenMalformed},
		{"bad expiry", "gw.soon.sig", key, ErrTokenMalformed},
		{"bad id", "-gw.1.sig", key, ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := VerifyDeviceToken(tt.token, tt.key, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if err == nil && id != "gw.site-1" {
				t.Fatalf("got device %q, want %q", id, "gw.site-1")
			}
		})
	}
}
