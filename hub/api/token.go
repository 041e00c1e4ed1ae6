package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Device tokens.
//
// A device never sends its key. It sends, in "Authorization: Device <token>",
// a token signed with the key:
//
//	token     = device-id "." expiry "." signature
//	expiry    = decimal Unix seconds
//	signature = base64url-nopad( HMAC-SHA256( key, "edgeplane-device-v1\n" device-id "\n" expiry ) )
//
// where key is the base64-decoded device key. The hub rejects a token whose
// expiry has passed or lies more than MaxTokenLifetime ahead, so a leaked
// token is useful for an hour at most. Gateways sign a fresh token well
// before the old one expires.

// MaxTokenLifetime is the longest validity the hub accepts for a token.
const MaxTokenLifetime = time.Hour

// ErrTokenMalformed, ErrTokenExpired and ErrTokenSignature are returned by
// ParseDeviceToken and VerifyDeviceToken.
var (
	ErrTokenMalformed = errors.New("device token is malformed")
	ErrTokenExpired   = errors.New("device token has expired or lives too long")
	ErrTokenSignature = errors.New("device token signature does not match")
)

const tokenContext = "edgeplane-device-v1"

// DecodeKey decodes a device key as stored and transmitted (standard base64).
func DecodeKey(key string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, fmt.Errorf("decoding device key: %w", err)
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("device key is %d bytes, want at least 32", len(b))
	}
	return b, nil
}

// SignDeviceToken returns a token for deviceID that expires at expiry.
func SignDeviceToken(deviceID string, key []byte, expiry time.Time) string {
	exp := strconv.FormatInt(expiry.Unix(), 10)
	return deviceID + "." + exp + "." + tokenSignature(deviceID, exp, key)
}

// ParseDeviceToken splits a token into its device id and expiry without
// checking the signature; the hub uses it to find which key to check with.
func ParseDeviceToken(token string) (deviceID string, expiry time.Time, err error) {
	// The device id may itself contain dots, so split from the right.
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", time.Time{}, ErrTokenMalformed
	}
	j := strings.LastIndexByte(token[:i], '.')
	if j <= 0 {
		return "", time.Time{}, ErrTokenMalformed
	}
	deviceID, exp := token[:j], token[j+1:i]
	if !IDPattern.MatchString(deviceID) {
		return "", time.Time{}, ErrTokenMalformed
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", time.Time{}, ErrTokenMalformed
	}
	return deviceID, time.Unix(secs, 0), nil
}

// VerifyDeviceToken checks token against key at time now and returns the
// device id it was issued for.
func VerifyDeviceToken(token string, key []byte, now time.Time) (string, error) {
	deviceID, expiry, err := ParseDeviceToken(token)
	if err != nil {
		return "", err
	}
	if !now.Before(expiry) || expiry.Sub(now) > MaxTokenLifetime+time.Minute {
		return "", ErrTokenExpired
	}
	sig := token[strings.LastIndexByte(token, '.')+1:]
	want := tokenSignature(deviceID, strconv.FormatInt(expiry.Unix(), 10), key)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "", ErrTokenSignature
	}
	return deviceID, nil
}

func tokenSignature(deviceID, expiry string, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenContext + "\n" + deviceID + "\n" + expiry))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
