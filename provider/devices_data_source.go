package provider

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

var _ datasource.DataSourceWithConfigure = (*devicesDataSource)(nil)

// NewDevicesDataSource returns the edgeplane_devices data source.
func NewDevicesDataSource() datasource.DataSource { return &devicesDataSource{} }

type devicesDataSource struct {
	dataSourceBase
}

type devicesDataModel struct {
	ID      types.String `tfsdk:"id"`
	Tags    types.Map    `tfsdk:"tags"`
	IDs     types.List   `tfsdk:"ids"`
	Devices types.List   `tfsdk:"devices"`
}

var deviceSummaryAttrTypes = map[string]attr.Type{
	"device_id": types.StringType,
	"tags":      types.MapType{ElemType: types.StringType},
	"enabled":   types.BoolType,
}

func (d *devicesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest,
	resp *datasource.MetadataResponse,
) {
	resp.TypeName = req.ProviderTypeName + "_devices"
}

func (d *devicesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest,
	resp *datasource.SchemaResponse,
) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The devices that carry every given tag, for fleet-wide " +
			"`for_each`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "A fixed id for this selection.", Computed: true},
			"tags": schema.MapAttribute{
				MarkdownDescription: "Tags a device must all carry; every device when not set.",
				ElementType:         types.StringType,
				Optional:            true,
			},
			"ids": schema.ListAttribute{
				MarkdownDescription: "The selected devices' ids, sorted.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"devices": schema.ListNestedAttribute{
				MarkdownDescription: "The selected devices, sorted by id.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"device_id": schema.StringAttribute{
							MarkdownDescription: "The device id.", Computed: true},
						"tags": schema.MapAttribute{
							MarkdownDescription: "The device's tags.",
							ElementType:         types.StringType, Computed: true},
						"enabled": schema.BoolAttribute{
							MarkdownDescription: "Whether the device may call the hub.",
							Computed:            true},
					},
				},
			},
		},
	}
}

func (d *devicesDataSource) Read(ctx context.Context, req datasource.ReadRequest,
	resp *datasource.ReadResponse,
) {
	var m devicesDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	tags := stringMap(ctx, m.Tags, &resp.Diagnostics)

	devs, err := d.hub.client.AllDevices(ctx, tags)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to List Devices",
			"Listing the devices by tag failed.", err)
		return
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i].ID < devs[j].ID })
	tflog.Debug(ctx, "listed devices", map[string]any{"count": len(devs)})

	ids := make([]attr.Value, 0, len(devs))
	objs := make([]attr.Value, 0, len(devs))
	for _, dev := range devs {
		ids = append(ids, types.StringValue(dev.ID))
		tagVals := map[string]attr.Value{}
		for k, v := range dev.Tags {
			tagVals[k] = types.StringValue(v)
		}
		objs = append(objs, types.ObjectValueMust(deviceSummaryAttrTypes, map[string]attr.Value{
			"device_id": types.StringValue(dev.ID),
			"tags":      types.MapValueMust(types.StringType, tagVals),
			"enabled":   types.BoolValue(dev.Enabled),
		}))
	}
	m.ID = types.StringValue(selectionID(tags))
	m.IDs = types.ListValueMust(types.StringType, ids)
	m.Devices = types.ListValueMust(types.ObjectType{AttrTypes: deviceSummaryAttrTypes}, objs)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// selectionID names the selection by its sorted tags ("site=berlin,env=x").
func selectionID(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	id := ""
	for i, k := range keys {
		if i > 0 {
			id += ","
		}
		id += k + "=" + tags[k]
	}
	if id == "" {
		return "all"
	}
	return id
}
