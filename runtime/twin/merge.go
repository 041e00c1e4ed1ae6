package twin

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// object decodes a JSON object; null or empty input is the empty object.
func object(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding JSON object: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Merge applies a JSON merge patch (RFC 7396) to doc in place and returns
// it: null deletes a key, objects merge, anything else replaces.
func Merge(doc, patch map[string]any) map[string]any {
	if doc == nil {
		doc = map[string]any{}
	}
	for k, pv := range patch {
		if pv == nil {
			delete(doc, k)
			continue
		}
		po, pIsObj := pv.(map[string]any)
		if !pIsObj {
			doc[k] = pv
			continue
		}
		do, dIsObj := doc[k].(map[string]any)
		if !dIsObj {
			do = map[string]any{}
		}
		doc[k] = Merge(do, po)
	}
	return doc
}

// Diff returns the JSON merge patch that turns from into to. Values are
// compared after JSON decoding, so key order and spacing do not count.
func Diff(from, to map[string]any) map[string]any {
	p := map[string]any{}
	for k := range from {
		if _, ok := to[k]; !ok {
			p[k] = nil
		}
	}
	for k, tv := range to {
		fv, ok := from[k]
		if !ok {
			p[k] = tv
			continue
		}
		fo, fIsObj := fv.(map[string]any)
		to2, tIsObj := tv.(map[string]any)
		if fIsObj && tIsObj {
			if d := Diff(fo, to2); len(d) > 0 {
				p[k] = d
			}
			continue
		}
		if !jsonEqual(fv, tv) {
			p[k] = tv
		}
	}
	return p
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
