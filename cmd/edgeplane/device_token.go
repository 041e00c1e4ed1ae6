package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgeplane/edgeplane/hub/api"
)

var deviceTokenFlags struct {
	device string
	key    string
	ttl    time.Duration
}

var deviceTokenCmd = &cobra.Command{
	Use:   "token",
	Short: "Print a signed device token for the hub's device API",
	Long: `Print a device token signed with the device's key, as a gateway sends it in
"Authorization: Device <token>". Useful to call the device API with curl.
The hub accepts tokens valid for at most an hour; see docs/hub.md.`,
	Example: `  edgeplane device token --device gw-1 --key "$KEY"
  curl -H "Authorization: Device $(edgeplane device token --device gw-1 --key "$KEY")" \
    http://127.0.0.1:8080/v1/device/desired`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		f := deviceTokenFlags
		if !api.IDPattern.MatchString(f.device) {
			return fmt.Errorf("--device %q is not a valid device id", f.device)
		}
		key, err := api.DecodeKey(f.key)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		if f.ttl <= 0 || f.ttl > api.MaxTokenLifetime {
			return errors.New("--ttl must be more than 0 and at most 1h")
		}
		fmt.Fprintln(cmd.OutOrStdout(), api.SignDeviceToken(f.device, key, time.Now().Add(f.ttl)))
		return nil
	},
}

func init() {
	f := deviceTokenCmd.Flags()
	f.StringVar(&deviceTokenFlags.device, "device", "", "device id (required)")
	f.StringVar(&deviceTokenFlags.key, "key", "", "device key, base64, as the hub's GET /v1/devices/{id} returns it (required)")
	f.DurationVar(&deviceTokenFlags.ttl, "ttl", time.Hour, "how long the token is valid, at most 1h")
	deviceTokenCmd.MarkFlagRequired("device") //nolint:errcheck // the flag exists
	deviceTokenCmd.MarkFlagRequired("key")    //nolint:errcheck // the flag exists
	deviceCmd.AddCommand(deviceTokenCmd)
}
