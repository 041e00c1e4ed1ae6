package route

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// messageFile is the JSON form of a message for tools and tests; see
// docs/routes.md, "Message files".
type messageFile struct {
	Module           string            `json:"module"`
	Output           string            `json:"output"`
	TwinChange       bool              `json:"twinChangeNotification"`
	SystemProperties systemProperties  `json:"systemProperties"`
	Properties       map[string]string `json:"properties"`
	Body             json.RawMessage   `json:"body"`
	BodyBase64       string            `json:"bodyBase64"`
}

type systemProperties struct {
	ContentType        string `json:"contentType"`
	ContentEncoding    string `json:"contentEncoding"`
	MessageID          string `json:"messageId"`
	CorrelationID      string `json:"correlationId"`
	UserID             string `json:"userId"`
	ConnectionDeviceID string `json:"connectionDeviceId"`
	ConnectionModuleID string `json:"connectionModuleId"`
}

// DecodeMessage reads a message from its JSON form:
//
//	{
//	  "module": "sensor", "output": "temperature",
//	  "systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8"},
//	  "properties": {"alert": "high"},
//	  "body": {"temperature": 31.5}
//	}
//
// A body that is a JSON string is the body's text as it is; any other JSON
// value is the body in JSON, and then contentType and contentEncoding
// default to application/json and utf-8. bodyBase64 gives a binary body
// instead. Unknown fields are errors, to catch misspellings.
func DecodeMessage(data []byte) (*Message, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f messageFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decoding message: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decoding message: data after the message object")
	}
	sp := f.SystemProperties
	m := &Message{
		Module: f.Module, Output: f.Output, TwinChange: f.TwinChange,
		ContentType: sp.ContentType, ContentEncoding: sp.ContentEncoding,
		MessageID: sp.MessageID, CorrelationID: sp.CorrelationID, UserID: sp.UserID,
		ConnectionDeviceID: sp.ConnectionDeviceID, ConnectionModuleID: sp.ConnectionModuleID,
		Properties: f.Properties,
	}
	if m.Output != "" && m.Module == "" {
		return nil, errors.New("decoding message: output is set but module is not; " +
			"leaf-device telemetry has neither")
	}
	body := bytes.TrimSpace(f.Body)
	switch {
	case f.BodyBase64 != "" && len(body) > 0 && !bytes.Equal(body, []byte("null")):
		return nil, errors.New("decoding message: give body or bodyBase64, not both")
	case f.BodyBase64 != "":
		b, err := base64.StdEncoding.DecodeString(f.BodyBase64)
		if err != nil {
			return nil, fmt.Errorf("decoding message: bodyBase64: %w", err)
		}
		m.Body = b
	case len(body) > 0 && body[0] == '"':
		var s string
		if err := json.Unmarshal(body, &s); err != nil {
			return nil, fmt.Errorf("decoding message: body: %w", err)
		}
		m.Body = []byte(s)
	case len(body) > 0:
		m.Body = append([]byte(nil), body...)
		if m.ContentType == "" {
			m.ContentType = "application/json"
		}
		if m.ContentEncoding == "" {
			m.ContentEncoding = "utf-8"
		}
	}
	return m, nil
}
