package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

var _ datasource.DataSourceWithConfigure = (*moduleTwinDataSource)(nil)

// NewModuleTwinDataSource returns the edgeplane_module_twin data source.
func NewModuleTwinDataSource() datasource.DataSource { return &moduleTwinDataSource{} }

type moduleTwinDataSource struct {
	dataSourceBase
}

func (d *moduleTwinDataSource) Metadata(_ context.Context, req datasource.MetadataRequest,
	resp *datasource.MetadataResponse,
) {
	resp.TypeName = req.ProviderTypeName + "_module_twin"
}

func (d *moduleTwinDataSource) Schema(_ context.Context, _ datasource.SchemaRequest,
	resp *datasource.SchemaResponse,
) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A module twin as the hub holds it: the desired properties and " +
			"what the module last reported.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<device_id>/<module>`.", Computed: true},
			"device_id": schema.StringAttribute{
				MarkdownDescription: "The device.", Required: true, Validators: idValidators()},
			"module": schema.StringAttribute{
				MarkdownDescription: "The module.", Required: true, Validators: idValidators()},
			"desired": schema.StringAttribute{
				MarkdownDescription: "Desired properties, a JSON object.",
				Computed:            true, CustomType: jsontypes.NormalizedType{}},
			"reported": schema.StringAttribute{
				MarkdownDescription: "Reported properties, a JSON object; use `jsondecode` " +
					"to read them.",
				Computed: true, CustomType: jsontypes.NormalizedType{}},
			"desired_version": schema.Int64Attribute{
				MarkdownDescription: "Version of the desired properties.", Computed: true},
			"reported_version": schema.Int64Attribute{
				MarkdownDescription: "Version of the reported properties.", Computed: true},
		},
	}
}

func (d *moduleTwinDataSource) Read(ctx context.Context, req datasource.ReadRequest,
	resp *datasource.ReadResponse,
) {
	var m moduleTwinModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, mod := m.DeviceID.ValueString(), m.Module.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "module", mod)

	got, err := d.hub.client.GetTwin(ctx, dev, mod)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Read Module Twin", fmt.Sprintf("Reading the "+
			"twin of module %q of device %q failed.", mod, dev), err)
		return
	}
	twinFromAPI(&m, dev, mod, got)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
