package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runRoute runs `edgeplane route args...` in-process and returns its
// output and error.
func runRoute(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRouteCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.Execute()
	return out.String(), err
}

func writeRouteTestFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRouteTest(t *testing.T) {
	jsonMsg := writeRouteTestFile(t, "msg.json", `{
  "module": "sensor", "output": "temperature",
  "systemProperties": {"messageId": "m1", "connectionModuleId": "sensor"},
  "properties": {"alert": "high"},
  "body": {"machine": {"temperature": 71.5, "sensors": [{"ok": true}]}}
}`)
	textMsg := writeRouteTestFile(t, "text.json", `{
  "module": "sensor",
  "systemProperties": {"contentType": "text/plain"},
  "body": "{\"machine\": {\"temperature\": 99}}"
}`)
	utf8Msg := writeRouteTestFile(t, "str.json", `{
  "systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8"},
  "body": "{\"machine\": {\"temperature\": 99}}"
}`)
	b64Msg := writeRouteTestFile(t, "b64.json", `{
  "systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8"},
  "bodyBase64": "eyJ4IjogMX0="
}`)
	badMsg := writeRouteTestFile(t, "bad.json", `{"modul": "x"}`)
	const up = "$upstream\n"
	const toFilter = `BrokeredEndpoint("/modules/filter/inputs/in")` + "\n"
	tests := []struct {
		name    string
		route   string
		message string
		json    bool
		want    string
		wantErr string
	}{
		{"no where", "FROM /messages/* INTO $upstream", jsonMsg, false, up, ""},
		{"body match", "FROM /messages/modules/sensor/* WHERE $body.machine.temperature > 70 INTO $upstream",
			jsonMsg, false, up, ""},
		{"nested body", "FROM /* WHERE $body.machine.sensors[0].ok INTO $upstream", jsonMsg, false, up, ""},
		{"no match prints nothing", "FROM /* WHERE $body.machine.temperature > 80 INTO $upstream",
			jsonMsg, false, "", ""},
		{"other source", "FROM /messages/modules/other/* INTO $upstream", jsonMsg, false, "", ""},
		{"properties", `FROM /* WHERE alert = 'high' AND $messageId = 'm1' AND $outputName = 'temperature' ` +
			`INTO BrokeredEndpoint("/modules/filter/inputs/in")`, jsonMsg, false, toFilter, ""},
		{"json", `FROM /* INTO BrokeredEndpoint("/modules/filter/inputs/in")`, jsonMsg, true,
			`[{"sink":"BrokeredEndpoint(\"/modules/filter/inputs/in\")","kind":"moduleInput",` +
				`"module":"filter","input":"in"}]` + "\n", ""},
		{"json upstream", "FROM /* INTO $upstream", jsonMsg, true, `[{"sink":"$upstream","kind":"upstream"}]` + "\n", ""},
		{"json no match", "FROM /* WHERE false INTO $upstream", jsonMsg, true, "[]\n", ""},
		{"text body is not queried", "FROM /* WHERE IS_DEFINED($body) INTO $upstream", textMsg, false, "", ""},
		{"string body with json type", "FROM /* WHERE $body.machine.temperature = 99 INTO $upstream",
			utf8Msg, false, up, ""},
		{"base64 body", "FROM /* WHERE $body.x = 1 INTO $upstream", b64Msg, false, up, ""},
		{"leaf telemetry", "FROM /messages/modules/* INTO $upstream", utf8Msg, false, "", ""},
		{"bad route", "FROM /* WHERE a = 1 INT0 $upstream", jsonMsg, false, "",
			`parsing --route: line 1, column 21: expected INTO, found "INT0"`},
		{"bad message", "FROM /* INTO $upstream", badMsg, false, "", `json: unknown field "modul"`},
		{"missing message", "FROM /* INTO $upstream", filepath.Join(t.TempDir(), "nope.json"), false, "",
			"no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"test", "--route", tt.route, "--message", tt.message}
			if tt.json {
				args = append(args, "--json")
			}
			out, err := runRoute(t, "", args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if out != tt.want {
				t.Errorf("got output %q, want %q", out, tt.want)
			}
		})
	}

	t.Run("stdin", func(t *testing.T) {
		out, err := runRoute(t, `{"module": "m", "output": "o"}`,
			"test", "--route", "FROM /messages/modules/m/outputs/o INTO $upstream", "--message", "-")
		if err != nil || out != up {
			t.Errorf("got %q, %v; want %q, nil", out, err, up)
		}
	})
	t.Run("flags required", func(t *testing.T) {
		if _, err := runRoute(t, "", "test", "--route", "FROM /* INTO $upstream"); err == nil ||
			!strings.Contains(err.Error(), "message") {
			t.Errorf("got %v, want an error about --message", err)
		}
	})
}

func TestRouteCheck(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    string // the output, with FILE for the file's path
		wantErr string
	}{
		{"lines ok", "FROM /* INTO $upstream\n\n# a comment\n  # indented comment\r\n" +
			"FROM /messages/* WHERE a = 'b' INTO BrokeredEndpoint(\"/modules/m/inputs/i\")\r\n",
			"FILE: 2 routes OK\n", ""},
		{"lines with errors", "FROM /* INTO $upstream\n" +
			"FROM /* WHERE a = 1 INT0 $upstream\n" +
			"# FROM nothing\n" +
			"  FROM /x INTO $upstream\n" +
			"FROM /* WHERE UPER(a) = 'A' INTO $upstream\n",
			"FILE:2:21: expected INTO, found \"INT0\"\n" +
				"FILE:4:8: expected a source: /*, /messages/*, /messages/modules/*, /messages/modules/<m>/*, " +
				"/messages/modules/<m>/outputs/*, /messages/modules/<m>/outputs/<o> or /twinChangeNotifications, " +
				"found \"/x\"\n" +
				"FILE:5:15: unknown function UPER (did you mean UPPER?)\n",
			"3 of 4 routes have errors"},
		{"json ok", `{"a": "FROM /* INTO $upstream", "b": "FROM /messages/* WHERE x > 1 INTO $upstream"}`,
			"FILE: 2 routes OK\n", ""},
		{"json with errors", `{
  "z": "FROM /* WHERE ABS() = 1 INTO $upstream",
  "a": "FROM /* INTO $upstream",
  "m": "FROM /*\nWHERE a = 1\nINT0 $upstream",
  "a": "FROM /* INTO $upstream"
}`,
			"FILE: route \"z\": line 1, column 15: ABS takes 1 argument, found 0\n" +
				"FILE: route \"m\": line 3, column 1: expected INTO, found \"INT0\"\n" +
				"FILE: route \"a\": defined more than once\n",
			"3 of 4 routes have errors"},
		{"json malformed", `{"a": 1}`, "", "decoding the JSON object of routes"},
		{"json trailing", `{"a": "FROM /* INTO $upstream"} {}`, "", "data after the object"},
		{"empty", "", "FILE: 0 routes OK\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeRouteTestFile(t, "routes", tt.file)
			out, err := runRoute(t, "", "check", p)
			if want := strings.ReplaceAll(tt.want, "FILE", p); out != want {
				t.Errorf("got output\n%s\nwant\n%s", out, want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRouteRegistered(t *testing.T) {
	cmd, _, err := rootCmd.Find([]string{"route", "check"})
	if err != nil || cmd.Name() != "check" {
		t.Errorf("rootCmd.Find(route check) = %v, %v; want the check command", cmd, err)
	}
}
