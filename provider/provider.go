// Package provider is the Edgeplane Terraform provider: devices, modules,
// module twins, routes, upstreams and registry credentials as resources, and
// what devices report as data sources. It is built on
// terraform-plugin-framework and talks to the hub's operator API only,
// through hub/client; it never contacts a gateway.
//
// The root main.go serves it as registry.terraform.io/edgeplane/edgeplane.
// docs/design/provider-schema.md pins its schema.
package provider

import (
	"context"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/edgeplane/edgeplane/hub/client"
)

// Environment variables that stand in for provider attributes.
const (
	EnvEndpoint = "EDGEPLANE_ENDPOINT"
	EnvToken    = "EDGEPLANE_TOKEN"
)

var _ provider.Provider = (*edgeplaneProvider)(nil)

// New returns a function that makes the provider, as providerserver wants.
// version is the provider's release version ("dev" for local builds).
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &edgeplaneProvider{version: version} }
}

type edgeplaneProvider struct {
	version string
}

type providerModel struct {
	Endpoint      types.String `tfsdk:"endpoint"`
	Token         types.String `tfsdk:"token"`
	CACertificate types.String `tfsdk:"ca_certificate"`
}

// hubData is what Configure hands to every resource and data source.
type hubData struct {
	client   *client.Client
	endpoint string
}

func (p *edgeplaneProvider) Metadata(_ context.Context, _ provider.MetadataRequest,
	resp *provider.MetadataResponse,
) {
	resp.TypeName = "edgeplane"
	resp.Version = p.version
}

func (p *edgeplaneProvider) Schema(_ context.Context, _ provider.SchemaRequest,
	resp *provider.SchemaResponse,
) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The Edgeplane provider manages a fleet of IoT gateways through an " +
			"Edgeplane hub: devices, their containerised modules, module twins, routes, " +
			"upstream endpoints and registry credentials.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				MarkdownDescription: "Base URL of the hub's API, such as " +
					"`https://hub.example.com:8443`. Falls back to the `EDGEPLANE_ENDPOINT` " +
					"environment variable.",
				Optional: true,
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "Operator token of the hub. Falls back to the " +
					"`EDGEPLANE_TOKEN` environment variable.",
				Optional:  true,
				Sensitive: true,
			},
			"ca_certificate": schema.StringAttribute{
				MarkdownDescription: "PEM bundle to verify the hub's TLS certificate with, " +
					"instead of the system's roots.",
				Optional: true,
			},
		},
	}
}

func (p *edgeplaneProvider) Configure(ctx context.Context, req provider.ConfigureRequest,
	resp *provider.ConfigureResponse,
) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	// An unknown value (from a resource not yet created) cannot configure
	// a client; say which attribute it is.
	unknown := []struct {
		attr  string
		value types.String
		env   string
	}{
		{"endpoint", cfg.Endpoint, EnvEndpoint},
		{"token", cfg.Token, EnvToken},
		{"ca_certificate", cfg.CACertificate, ""},
	}
	for _, u := range unknown {
		if !u.value.IsUnknown() {
			continue
		}
		detail := "The provider cannot reach the hub while its " + u.attr + " is unknown. " +
			"Set it to a static value"
		if u.env != "" {
			detail += " or the " + u.env + " environment variable"
		}
		resp.Diagnostics.AddAttributeError(path.Root(u.attr), "Unknown Edgeplane "+titleAttr(u.attr),
			detail+", or apply the resources it depends on first with -target.")
	}
	if resp.Diagnostics.HasError() {
		return
	}

	// Configuration wins over the environment.
	endpoint := os.Getenv(EnvEndpoint)
	if !cfg.Endpoint.IsNull() {
		endpoint = cfg.Endpoint.ValueString()
	}
	token := os.Getenv(EnvToken)
	if !cfg.Token.IsNull() {
		token = cfg.Token.ValueString()
	}
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Missing Edgeplane Hub Endpoint",
			"The provider needs the hub's URL. Set the endpoint attribute in the provider "+
				"block or the "+EnvEndpoint+" environment variable, for example "+
				"http://127.0.0.1:8080.")
	}
	if token == "" {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "Missing Edgeplane Hub Token",
			"The provider needs an operator token of the hub. Set the token attribute in "+
				"the provider block or the "+EnvToken+" environment variable.")
	}
	if resp.Diagnostics.HasError() {
		return
	}

	ctx = tflog.MaskAllFieldValuesStrings(ctx, token)
	ctx = tflog.SetField(ctx, "endpoint", endpoint)
	c, err := client.New(client.Config{
		Endpoint:      endpoint,
		Token:         token,
		CACertificate: []byte(cfg.CACertificate.ValueString()),
		UserAgent: "terraform-provider-edgeplane/" + p.version + " terraform/" +
			req.TerraformVersion,
	})
	if err != nil {
		resp.Diagnostics.AddError("Unable to Configure the Edgeplane Provider",
			"The provider could not set up its hub client from endpoint, token and "+
				"ca_certificate. Correct the value the error names.\n\nError: "+err.Error())
		return
	}
	tflog.Debug(ctx, "configured hub client")

	data := &hubData{client: c, endpoint: c.Endpoint()}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *edgeplaneProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewDeviceResource,
		NewModuleResource,
		NewModuleTwinResource,
		NewRouteResource,
		NewDeviceUpstreamResource,
		NewRegistryCredentialResource,
	}
}

func (p *edgeplaneProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewDeviceDataSource,
		NewModuleTwinDataSource,
		NewDevicesDataSource,
	}
}

func titleAttr(attr string) string {
	switch attr {
	case "endpoint":
		return "Hub Endpoint"
	case "token":
		return "Hub Token"
	default:
		return "CA Certificate"
	}
}
