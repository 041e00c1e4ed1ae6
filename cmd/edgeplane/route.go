package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgeplane/edgeplane/runtime/route"
)

func init() {
	rootCmd.AddCommand(newRouteCmd())
}

// newRouteCmd builds `edgeplane route`; tests build a fresh one per run so
// that flag values do not leak between runs.
func newRouteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "route",
		Short: "Test and check IoT Edge routes (see docs/routes.md)",
	}
	cmd.AddCommand(newRouteTestCmd(), newRouteCheckCmd())
	return cmd
}

func newRouteTestCmd() *cobra.Command {
	var text, messageFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "test --route '<route>' --message <file.json>",
		Short: "Print the sinks a message goes to under a route",
		Long: `Evaluate one route against a message and print the sinks the message goes
to, one per line; print nothing when the route does not match. With --json,
print them as a JSON array. The message file is JSON:

  {
    "module": "sensor", "output": "temperature",
    "systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8",
                         "messageId": "1", "correlationId": "", "userId": "",
                         "connectionDeviceId": "gw", "connectionModuleId": "sensor"},
    "properties": {"alert": "high"},
    "body": {"temperature": 31.5}
  }

A body given as a JSON string is the body's text; any other JSON value is a
JSON body, with contentType application/json and contentEncoding utf-8
unless set. "bodyBase64" gives a binary body. Leave out module and output
for leaf-device telemetry; "twinChangeNotification": true makes it a twin
change notification. "-" reads the message from standard input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := route.Parse(text)
			if err != nil {
				return fmt.Errorf("parsing --route: %w", err)
			}
			data, err := readRouteInput(cmd, messageFile)
			if err != nil {
				return err
			}
			m, err := route.DecodeMessage(data)
			if err != nil {
				return fmt.Errorf("%s: %w", messageFile, err)
			}
			ds := route.NewTable([]route.Entry{{Name: "route", Route: r}}).Deliveries(m, nil)
			return printRouteDeliveries(cmd.OutOrStdout(), ds, asJSON)
		},
	}
	cmd.Flags().StringVar(&text, "route", "", "the route to evaluate (required)")
	cmd.Flags().StringVar(&messageFile, "message", "", "the message as a JSON file, - for standard input (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the sinks as a JSON array")
	_ = cmd.MarkFlagRequired("route")
	_ = cmd.MarkFlagRequired("message")
	return cmd
}

// routeSinkJSON is one sink in `route test --json` output.
type routeSinkJSON struct {
	Sink   string `json:"sink"`
	Kind   string `json:"kind"` // "upstream" or "moduleInput"
	Module string `json:"module,omitempty"`
	Input  string `json:"input,omitempty"`
}

func printRouteDeliveries(w io.Writer, ds []route.Delivery, asJSON bool) error {
	if !asJSON {
		for _, d := range ds {
			if _, err := fmt.Fprintln(w, d.Sink); err != nil {
				return err
			}
		}
		return nil
	}
	out := make([]routeSinkJSON, 0, len(ds))
	for _, d := range ds {
		s := routeSinkJSON{Sink: d.Sink.String(), Kind: "upstream"}
		if d.Sink.Kind == route.SinkModuleInput {
			s.Kind, s.Module, s.Input = "moduleInput", d.Sink.Module, d.Sink.Input
		}
		out = append(out, s)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func readRouteInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading file: %w", err)
	}
	return data, nil
}

func newRouteCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check <file>",
		Short: "Check many routes and report every error",
		Long: `Check the routes in a file and report every error with its place, not only
the first. The file holds either one route per line (blank lines and lines
starting with # are skipped) or a JSON object of route name to route:

  {"hot": "FROM /messages/* WHERE temp > 30 INTO $upstream", ...}

Errors read "file:line:column: message" for a file of lines and
"file: route \"name\": line L, column C: message" for a JSON file. The
command fails when any route has an error. "-" reads standard input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readRouteInput(cmd, args[0])
			if err != nil {
				return err
			}
			name := args[0]
			if name == "-" {
				name = "<stdin>"
			}
			var problems []string
			var total int
			if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
				total, problems, err = checkJSONRoutes(name, data)
				if err != nil {
					return err
				}
			} else {
				total, problems = checkLineRoutes(name, string(data))
			}
			w := cmd.OutOrStdout()
			for _, p := range problems {
				fmt.Fprintln(w, p)
			}
			if len(problems) > 0 {
				return fmt.Errorf("%s: %d of %d routes have errors", name, len(problems), total)
			}
			fmt.Fprintf(w, "%s: %d routes OK\n", name, total)
			return nil
		},
	}
}

// checkLineRoutes checks one route per line and returns the number of
// routes and one "file:line:column: message" per error.
func checkLineRoutes(name, text string) (int, []string) {
	var problems []string
	total := 0
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		total++
		if _, err := route.Parse(line); err != nil {
			var e *route.Error
			if !errors.As(err, &e) {
				problems = append(problems, fmt.Sprintf("%s:%d: %v", name, i+1, err))
				continue
			}
			problems = append(problems, fmt.Sprintf("%s:%d:%d: %s", name, i+e.Line, e.Column, e.Detail()))
		}
	}
	return total, problems
}

// checkJSONRoutes checks a JSON object of name to route, in file order.
func checkJSONRoutes(name string, data []byte) (int, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	bad := func(err error) (int, []string, error) {
		return 0, nil, fmt.Errorf("%s: decoding the JSON object of routes: %w", name, err)
	}
	if _, err := dec.Token(); err != nil { // {
		return bad(err)
	}
	var problems []string
	seen := map[string]bool{}
	total := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		routeName := tok.(string)
		var text string
		if err := dec.Decode(&text); err != nil {
			return bad(fmt.Errorf("route %q: %w", routeName, err))
		}
		total++
		switch _, err := route.Parse(text); {
		case seen[routeName]:
			problems = append(problems, fmt.Sprintf("%s: route %q: defined more than once", name, routeName))
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: route %q: %v", name, routeName, err))
		}
		seen[routeName] = true
	}
	if _, err := dec.Token(); err != nil { // }
		return bad(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad(errors.New("data after the object"))
	}
	return total, problems, nil
}
