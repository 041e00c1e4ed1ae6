// Command edgeplane is the operator's command line: it runs the hub
// (`edgeplane hub`) and offers tools around it. Each subcommand lives in its
// own file and registers itself on rootCmd from an init function, so that
// areas of the project add commands without editing this file.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/edgeplane/edgeplane/internal/version"
)

var rootCmd = &cobra.Command{
	Use:           "edgeplane",
	Short:         "Run the Edgeplane hub and manage gateways",
	Version:       version.Version,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "edgeplane:", err)
		os.Exit(1)
	}
}
