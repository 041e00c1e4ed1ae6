package route

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    *Message
		wantErr string
	}{
		{"json body defaults", `{"module": "m", "output": "o", "properties": {"a": "1"}, "body": {"x": [1]}}`,
			&Message{Module: "m", Output: "o", ContentType: "application/json", ContentEncoding: "utf-8",
				Properties: map[string]string{"a": "1"}, Body: []byte(`{"x": [1]}`)}, ""},
		{"json body keeps set type", `{"systemProperties": {"contentType": "text/plain"}, "body": 12}`,
			&Message{ContentType: "text/plain", ContentEncoding: "utf-8", Body: []byte(`12`)}, ""},
		{"string body", `{"systemProperties": {"contentType": "text/plain"}, "body": "hi\n"}`,
			&Message{ContentType: "text/plain", Body: []byte("hi\n")}, ""},
		{"base64 body", `{"bodyBase64": "AAE="}`, &Message{Body: []byte{0, 1}}, ""},
		{"all system properties", `{"systemProperties": {"contentType": "a", "contentEncoding": "b",
			"messageId": "c", "correlationId": "d", "userId": "e", "connectionDeviceId": "f",
			"connectionModuleId": "g"}}`,
			&Message{ContentType: "a", ContentEncoding: "b", MessageID: "c", CorrelationID: "d", UserID: "e",
				ConnectionDeviceID: "f", ConnectionModuleID: "g"}, ""},
		{"twin change", `{"module": "m", "twinChangeNotification": true}`,
			&Message{Module: "m", TwinChange: true}, ""},
		{"null body", `{"body": null}`, &Message{Body: []byte("null"), ContentType: "application/json",
			ContentEncoding: "utf-8"}, ""},
		{"unknown field", `{"modul": "m"}`, nil, `unknown field "modul"`},
		{"output without module", `{"output": "o"}`, nil, "output is set but module is not"},
		{"both bodies", `{"body": {}, "bodyBase64": "AA=="}`, nil, "not both"},
		{"bad base64", `{"bodyBase64": "!"}`, nil, "bodyBase64"},
		{"trailing data", `{} {}`, nil, "data after the message object"},
		{"not json", `module: m`, nil, "decoding message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMessage([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
