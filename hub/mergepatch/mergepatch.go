// Package mergepatch applies JSON merge patches as RFC 7396 defines them:
// an object patch merges key by key, a null value deletes the key, and any
// other value replaces the target. It works on encoded JSON and knows
// nothing of twins or HTTP.
package mergepatch

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Apply returns target with patch applied. An empty target counts as null.
// Both must be valid JSON; the result is compact JSON with sorted keys.
func Apply(target, patch json.RawMessage) (json.RawMessage, error) {
	var t, p any
	if len(bytes.TrimSpace(target)) > 0 {
		if err := decode(target, &t); err != nil {
			return nil, fmt.Errorf("decoding merge target: %w", err)
		}
	}
	if err := decode(patch, &p); err != nil {
		return nil, fmt.Errorf("decoding merge patch: %w", err)
	}
	out, err := json.Marshal(merge(t, p))
	if err != nil {
		return nil, fmt.Errorf("encoding merge result: %w", err)
	}
	return out, nil
}

// Canonical returns doc as compact JSON with sorted object keys, numbers
// kept exactly as written.
func Canonical(doc json.RawMessage) (json.RawMessage, error) {
	var v any
	if err := decode(doc, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// decode keeps numbers as json.Number so that large integers survive.
func decode(b []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after JSON value at byte %d", dec.InputOffset())
	}
	return nil
}

func merge(target, patch any) any {
	po, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	to, ok := target.(map[string]any)
	if !ok {
		to = map[string]any{}
	}
	for k, v := range po {
		if v == nil {
			delete(to, k)
			continue
		}
		to[k] = merge(to[k], v)
	}
	return to
}
