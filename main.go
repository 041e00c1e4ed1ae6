// Command terraform-provider-edgeplane is the Edgeplane Terraform provider.
// Terraform starts it as a plugin; run it with -debug to attach a debugger
// and point Terraform at it with TF_REATTACH_PROVIDERS.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/edgeplane/edgeplane/provider"
)

// version is set by goreleaser at release time.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/edgeplane/edgeplane",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
