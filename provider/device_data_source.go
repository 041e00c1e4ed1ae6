package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/edgeplane/edgeplane/hub/api"
)

var _ datasource.DataSourceWithConfigure = (*deviceDataSource)(nil)

// NewDeviceDataSource returns the edgeplane_device data source.
func NewDeviceDataSource() datasource.DataSource { return &deviceDataSource{} }

type deviceDataSource struct {
	dataSourceBase
}

type deviceDataModel struct {
	ID             types.String `tfsdk:"id"`
	DeviceID       types.String `tfsdk:"device_id"`
	Online         types.Bool   `tfsdk:"online"`
	LastSeen       types.String `tfsdk:"last_seen"`
	AgentVersion   types.String `tfsdk:"agent_version"`
	DesiredVersion types.Int64  `tfsdk:"desired_version"`
	AppliedVersion types.Int64  `tfsdk:"applied_version"`
	LastError      types.String `tfsdk:"last_error"`
	Modules        types.Map    `tfsdk:"modules"`
}

var moduleStatusAttrTypes = map[string]attr.Type{
	"status":        types.StringType,
	"exit_code":     types.Int64Type,
	"description":   types.StringType,
	"last_start":    types.StringType,
	"last_exit":     types.StringType,
	"restart_count": types.Int64Type,
	"image":         types.StringType,
}

func (d *deviceDataSource) Metadata(_ context.Context, req datasource.MetadataRequest,
	resp *datasource.MetadataResponse,
) {
	resp.TypeName = req.ProviderTypeName + "_device"
}

func (d *deviceDataSource) Schema(_ context.Context, _ datasource.SchemaRequest,
	resp *datasource.SchemaResponse,
) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "What a device last reported to the hub: whether it is online, " +
			"which desired state it runs and the runtime status of each module.",
		Attributes: map[string]schema.Attribute{
			"id": computed("Same as `device_id`."),
			"device_id": schema.StringAttribute{
				MarkdownDescription: "The device.",
				Required:            true,
				Validators:          idValidators(),
			},
			"online": schema.BoolAttribute{
				MarkdownDescription: "Whether the device called the hub within the last 90 " +
					"seconds.",
				Computed: true,
			},
			"last_seen":     computed("When the device last called the hub (RFC 3339); null if never."),
			"agent_version": computed("Version of the gateway daemon; null before its first report."),
			"desired_version": schema.Int64Attribute{
				MarkdownDescription: "Version of the device's desired state on the hub.",
				Computed:            true,
			},
			"applied_version": schema.Int64Attribute{
				MarkdownDescription: "Version of the desired state the device runs. Equal to " +
					"`desired_version` once the device has caught up.",
				Computed: true,
			},
			"last_error": computed("Why the device rejected the newest desired state; null if it did not."),
			"modules": schema.MapNestedAttribute{
				MarkdownDescription: "Runtime status of each module, by module name.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"status": computed("`running`, `stopped`, `backoff`, `unhealthy` or " +
							"`failed`."),
						"exit_code": schema.Int64Attribute{
							MarkdownDescription: "Exit code of the last run.", Computed: true},
						"description": computed("A human explanation of the status."),
						"last_start":  computed("When the container last started (RFC 3339)."),
						"last_exit":   computed("When the container last exited (RFC 3339)."),
						"restart_count": schema.Int64Attribute{
							MarkdownDescription: "Restarts since the module was created.",
							Computed:            true},
						"image": computed("The image the container runs."),
					},
				},
			},
		},
	}
}

func (d *deviceDataSource) Read(ctx context.Context, req datasource.ReadRequest,
	resp *datasource.ReadResponse,
) {
	var m deviceDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := m.DeviceID.ValueString()
	ctx = tflog.SetField(ctx, "device", id)

	st, err := d.hub.client.GetDeviceStatus(ctx, id)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Read Device Status",
			fmt.Sprintf("Reading the reported status of device %q failed.", id), err)
		return
	}

	m.ID = types.StringValue(id)
	m.Online = types.BoolValue(st.Online)
	m.LastSeen = timeOrNull(st.LastSeen)
	m.AgentVersion = types.StringNull()
	if st.Agent != nil {
		m.AgentVersion = stringOrNull(st.Agent.Version)
	}
	m.DesiredVersion = types.Int64Value(st.DesiredVersion)
	m.AppliedVersion = types.Int64Value(st.AppliedVersion)
	m.LastError = stringOrNull(st.LastError)
	m.Modules = moduleStatuses(st.Modules)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func moduleStatuses(in map[string]api.ModuleStatus) types.Map {
	objType := types.ObjectType{AttrTypes: moduleStatusAttrTypes}
	vals := make(map[string]attr.Value, len(in))
	for name, s := range in {
		vals[name] = types.ObjectValueMust(moduleStatusAttrTypes, map[string]attr.Value{
			"status":        types.StringValue(s.Status),
			"exit_code":     types.Int64Value(int64(s.ExitCode)),
			"description":   stringOrNull(s.Description),
			"last_start":    timeOrNull(s.LastStart),
			"last_exit":     timeOrNull(s.LastExit),
			"restart_count": types.Int64Value(int64(s.RestartCount)),
			"image":         stringOrNull(s.Image),
		})
	}
	return types.MapValueMust(objType, vals)
}

func timeOrNull(t time.Time) types.String {
	if t.IsZero() {
		return types.StringNull()
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}
