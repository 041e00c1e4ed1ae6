package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/edgeplane/edgeplane/migrate"
)

var migrateCmd = &cobra.Command{
	Use:   "migrate",
	Short: "Turn configurations of other gateways into Edgeplane Terraform",
}

var migrateV1Flags struct {
	out, images, deviceID string
	force                 bool
}

var migrateV1Cmd = &cobra.Command{
	Use:   "v1 <gateway.json>",
	Short: "Turn an Azure IoT Edge V1 gateway JSON file into Edgeplane Terraform",
	Long: `Reads an Azure IoT Edge V1 gateway configuration (loaders, modules, links)
and writes Terraform for Edgeplane: main.tf, variables.tf and MIGRATION.md, the
list of what is left to do. It prints a summary: what was migrated, what needs
attention and what was left out.

The image map (--images, JSON or YAML) is one object of module name, loader
entrypoint or entrypoint file name to container image. A module with no image
gets a required variable, so that terraform plan asks for it.

Nothing is written when the V1 file is invalid. See docs/migrate.md.`,
	Example: `  edgeplane migrate v1 gateway.json --images images.json --device-id gw-1 -o gw-1`,
	Args:    cobra.ExactArgs(1),
	RunE:    runMigrateV1,
}

func init() {
	f := migrateV1Cmd.Flags()
	f.StringVarP(&migrateV1Flags.out, "output", "o", "migrated", "directory to write the Terraform files to")
	f.StringVar(&migrateV1Flags.images, "images", "", "image map file (JSON, or YAML with a .yaml/.yml name)")
	f.StringVar(&migrateV1Flags.deviceID, "device-id", "", "Edgeplane device id of the gateway")
	f.BoolVar(&migrateV1Flags.force, "force", false, "overwrite the migration files in a non-empty output directory")
	migrateCmd.AddCommand(migrateV1Cmd)
	rootCmd.AddCommand(migrateCmd)
}

func runMigrateV1(cmd *cobra.Command, args []string) error {
	fl := migrateV1Flags

	// Read and check every input before writing anything.
	data, err := os.ReadFile(args[0])
	if err != nil {
		return fmt.Errorf("reading V1 configuration: %w", err)
	}
	source := filepath.Base(args[0])
	gw, err := migrate.ParseV1(source, data)
	if err != nil {
		return err
	}
	var images *migrate.ImageMap
	if fl.images != "" {
		raw, err := os.ReadFile(fl.images)
		if err != nil {
			return fmt.Errorf("reading image map: %w", err)
		}
		if images, err = migrate.ParseImageMap(filepath.Base(fl.images), raw); err != nil {
			return err
		}
	}
	plan, err := migrate.Convert(gw, migrate.Options{Source: source, DeviceID: fl.deviceID, Images: images})
	if err != nil {
		return err
	}

	// Write, then tell the user what was done and what is left.
	if err := migrate.WriteDir(fl.out, plan.Files(), fl.force); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if err := plan.Summary(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "Wrote %s: main.tf, variables.tf, MIGRATION.md.\n", fl.out)
	switch n := len(plan.Variables); n {
	case 0:
	case 1:
		fmt.Fprintf(w, "Set the variable in %s before terraform apply.\n", filepath.Join(fl.out, "variables.tf"))
	default:
		fmt.Fprintf(w, "Set the %d variables in %s before terraform apply.\n", n, filepath.Join(fl.out, "variables.tf"))
	}
	return nil
}
