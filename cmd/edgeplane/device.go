package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/client"
)

// deviceCmd groups the operator's device commands. Subcommands that talk to
// the hub share the connection flags defined here.
var deviceCmd = &cobra.Command{
	Use:   "device",
	Short: "Inspect the devices a hub manages",
}

// connFlags are the connection settings of commands that call the operator
// API; the environment supplies what the flags leave out, as for Terraform.
type connFlags struct {
	endpoint string
	token    string
	caFile   string
}

func (f *connFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.endpoint, "endpoint", "", "hub URL (default $EDGEPLANE_ENDPOINT)")
	cmd.Flags().StringVar(&f.token, "token", "", "operator token (default $EDGEPLANE_TOKEN)")
	cmd.Flags().StringVar(&f.caFile, "ca-file", "", "PEM bundle to verify the hub with")
}

func (f *connFlags) client() (*client.Client, error) {
	cfg := client.Config{Endpoint: f.endpoint, Token: f.token}
	if cfg.Endpoint == "" {
		cfg.Endpoint = os.Getenv("EDGEPLANE_ENDPOINT")
	}
	if cfg.Token == "" {
		cfg.Token = os.Getenv("EDGEPLANE_TOKEN")
	}
	if cfg.Endpoint == "" {
		return nil, errors.New("no hub endpoint: set --endpoint or EDGEPLANE_ENDPOINT")
	}
	if cfg.Token == "" {
		return nil, errors.New("no operator token: set --token or EDGEPLANE_TOKEN")
	}
	if f.caFile != "" {
		b, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("reading --ca-file: %w", err)
		}
		cfg.CACertificate = b
	}
	return client.New(cfg)
}

// deviceView is what `device show --json` prints and each entry of
// `device list --json`: the device without its key, and its reported status.
type deviceView struct {
	Device api.Device       `json:"device"`
	Status api.DeviceStatus `json:"status"`
}

func init() {
	var (
		listFlags connFlags
		listTags  []string
		listJSON  bool
	)
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List devices with their online state, versions and module health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tags, err := parseTags(listTags)
			if err != nil {
				return err
			}
			c, err := listFlags.client()
			if err != nil {
				return err
			}
			views, err := loadDevices(cmd.Context(), c, tags)
			if err != nil {
				return err
			}
			if listJSON {
				return writeJSON(cmd.OutOrStdout(), views)
			}
			return printDeviceTable(cmd.OutOrStdout(), views, time.Now())
		},
	}
	listFlags.register(listCmd)
	listCmd.Flags().StringArrayVar(&listTags, "tag", nil, "only devices with this `key=value` tag (repeatable)")
	listCmd.Flags().BoolVar(&listJSON, "json", false, "print JSON for scripts")

	var (
		showFlags connFlags
		showJSON  bool
	)
	showCmd := &cobra.Command{
		Use:   "show DEVICE",
		Short: "Show one device and each module's runtime status",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := showFlags.client()
			if err != nil {
				return err
			}
			v, err := loadDevice(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if showJSON {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			return printDevice(cmd.OutOrStdout(), v, time.Now())
		},
	}
	showFlags.register(showCmd)
	showCmd.Flags().BoolVar(&showJSON, "json", false, "print JSON for scripts")

	deviceCmd.AddCommand(listCmd, showCmd)
	rootCmd.AddCommand(deviceCmd)
}

func parseTags(kvs []string) (map[string]string, error) {
	tags := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--tag %q: want key=value", kv)
		}
		tags[k] = v
	}
	return tags, nil
}

func loadDevice(ctx context.Context, c *client.Client, id string) (deviceView, error) {
	d, err := c.GetDevice(ctx, id)
	if err != nil {
		return deviceView{}, err
	}
	s, err := c.GetDeviceStatus(ctx, id)
	if err != nil {
		return deviceView{}, err
	}
	d.Key = "" // never print a secret
	return deviceView{Device: *d, Status: *s}, nil
}

// loadDevices reads the devices that carry tags with their statuses, one
// request per page. A hub older than include=status sends no statuses;
// they are then read one device at a time.
func loadDevices(ctx context.Context, c *client.Client, tags map[string]string) ([]deviceView, error) {
	devs, err := c.AllDevicesWithStatus(ctx, tags)
	if err != nil {
		return nil, err
	}
	views := make([]deviceView, 0, len(devs))
	for _, d := range devs {
		st := d.Status
		if st == nil {
			st, err = c.GetDeviceStatus(ctx, d.ID)
			if errors.Is(err, client.ErrNotFound) {
				continue // deleted while we listed
			}
			if err != nil {
				return nil, err
			}
		}
		d.Key, d.Status = "", nil // no secret; the status is printed beside the device
		views = append(views, deviceView{Device: d, Status: *st})
	}
	return views, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printDeviceTable prints one line per device, made to be scanned: is it
// online, is it running what was asked of it, are its modules healthy.
func printDeviceTable(w io.Writer, views []deviceView, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tSTATE\tLAST SEEN\tDESIRED\tAPPLIED\tMODULES\tAGENT")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n",
			v.Device.ID, deviceState(v), ago(v.Status.LastSeen, now),
			v.Status.DesiredVersion, applied(v.Status), moduleSummary(v.Status), agentVersion(v.Status))
	}
	return tw.Flush()
}

func printDevice(w io.Writer, v deviceView, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Device:\t%s\n", v.Device.ID)
	fmt.Fprintf(tw, "State:\t%s\n", deviceState(v))
	fmt.Fprintf(tw, "Last seen:\t%s\n", ago(v.Status.LastSeen, now))
	fmt.Fprintf(tw, "Agent:\t%s\n", agentVersion(v.Status))
	fmt.Fprintf(tw, "Desired version:\t%d\n", v.Status.DesiredVersion)
	fmt.Fprintf(tw, "Applied version:\t%s\n", applied(v.Status))
	if v.Status.LastError != "" {
		fmt.Fprintf(tw, "Last error:\t%s\n", v.Status.LastError)
	}
	if len(v.Device.Tags) > 0 {
		keys := slices.Sorted(maps.Keys(v.Device.Tags))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + v.Device.Tags[k]
		}
		fmt.Fprintf(tw, "Tags:\t%s\n", strings.Join(parts, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	if len(v.Status.Modules) == 0 {
		fmt.Fprintln(w, "No module status reported.")
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tSTATUS\tRESTARTS\tEXIT\tSINCE\tIMAGE\tDESCRIPTION")
	for _, name := range slices.Sorted(maps.Keys(v.Status.Modules)) {
		m := v.Status.Modules[name]
		since := m.LastStart
		if m.Status != api.RuntimeRunning && !m.LastExit.IsZero() {
			since = m.LastExit
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", name, m.Status, m.RestartCount, m.ExitCode,
			ago(since, now), m.Image, m.Description)
	}
	return tw.Flush()
}

func deviceState(v deviceView) string {
	switch {
	case !v.Device.Enabled:
		return "disabled"
	case v.Status.Online:
		return "online"
	case v.Status.LastSeen.IsZero():
		return "never seen"
	default:
		return "offline"
	}
}

// applied marks a device that runs an older desired state than it should.
func applied(s api.DeviceStatus) string {
	if s.AppliedVersion < s.DesiredVersion {
		return fmt.Sprintf("%d (behind)", s.AppliedVersion)
	}
	return fmt.Sprint(s.AppliedVersion)
}

func moduleSummary(s api.DeviceStatus) string {
	if len(s.Modules) == 0 {
		return "-"
	}
	running, other := 0, []string{}
	for _, name := range slices.Sorted(maps.Keys(s.Modules)) {
		if st := s.Modules[name].Status; st == api.RuntimeRunning {
			running++
		} else {
			other = append(other, name+":"+st)
		}
	}
	out := fmt.Sprintf("%d/%d running", running, len(s.Modules))
	if len(other) > 0 {
		out += " (" + strings.Join(other, ", ") + ")"
	}
	return out
}

func agentVersion(s api.DeviceStatus) string {
	if s.Agent == nil || s.Agent.Version == "" {
		return "-"
	}
	return s.Agent.Version
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}
