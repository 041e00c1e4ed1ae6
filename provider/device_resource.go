package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/edgeplane/edgeplane/hub/api"
)

var (
	_ resource.ResourceWithConfigure   = (*deviceResource)(nil)
	_ resource.ResourceWithImportState = (*deviceResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*deviceResource)(nil)
)

// NewDeviceResource returns the edgeplane_device resource.
func NewDeviceResource() resource.Resource { return &deviceResource{} }

type deviceResource struct {
	resourceBase
}

type deviceModel struct {
	ID         types.String `tfsdk:"id"`
	DeviceID   types.String `tfsdk:"device_id"`
	Tags       types.Map    `tfsdk:"tags"`
	Enabled    types.Bool   `tfsdk:"enabled"`
	Key        types.String `tfsdk:"key"`
	Connection types.Object `tfsdk:"connection_info"`
}

var connectionAttrTypes = map[string]attr.Type{
	"hub_url":    types.StringType,
	"device_id":  types.StringType,
	"device_key": types.StringType,
}

// idValidators check names against api.IDPattern at plan time.
func idValidators() []validator.String {
	return []validator.String{stringvalidator.RegexMatches(api.IDPattern,
		"must be 1 to 128 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit")}
}

func (r *deviceResource) Metadata(_ context.Context, req resource.MetadataRequest,
	resp *resource.MetadataResponse,
) {
	resp.TypeName = req.ProviderTypeName + "_device"
}

func (r *deviceResource) Schema(_ context.Context, _ resource.SchemaRequest,
	resp *resource.SchemaResponse,
) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A gateway registered with the hub, with its shared key. The " +
			"`connection_info` output holds what the gateway needs to reach the hub; a " +
			"provisioning step passes it to the gateway.",
		Attributes: map[string]schema.Attribute{
			"id": idAttribute("<device_id>"),
			"device_id": schema.StringAttribute{
				MarkdownDescription: "The device's name on the hub: 1 to 128 ASCII letters, " +
					"digits, `-`, `_` or `.`, starting with a letter or digit. Changing it " +
					"replaces the device.",
				Required:      true,
				Validators:    idValidators(),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"tags": schema.MapAttribute{
				MarkdownDescription: "Tags to select devices by, for example in the " +
					"`edgeplane_devices` data source.",
				ElementType: types.StringType,
				Optional:    true,
			},
			"enabled": schema.BoolAttribute{
				MarkdownDescription: "Whether the device may call the hub. A disabled device " +
					"is refused until enabled again. Default `true`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
			},
			"key": schema.StringAttribute{
				MarkdownDescription: "The device's shared key, base64 encoded, at least 32 " +
					"bytes decoded. When not set the hub generates one; changing it " +
					"re-keys the device, which must then be given the new key.",
				Optional:      true,
				Computed:      true,
				Sensitive:     true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"connection_info": schema.SingleNestedAttribute{
				MarkdownDescription: "What the gateway needs to connect: the hub's URL as " +
					"the provider reaches it, the device id and the key.",
				Computed:  true,
				Sensitive: true,
				Attributes: map[string]schema.Attribute{
					"hub_url":    schema.StringAttribute{Computed: true, MarkdownDescription: "The hub's URL."},
					"device_id":  schema.StringAttribute{Computed: true, MarkdownDescription: "The device id."},
					"device_key": schema.StringAttribute{Computed: true, MarkdownDescription: "The device key (sensitive, as the whole object is)."},
				},
			},
		},
	}
}

// ModifyPlan plans connection from the planned device id and key, so that it
// is known whenever they are and changes exactly when they do.
func (r *deviceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest,
	resp *resource.ModifyPlanResponse,
) {
	if req.Plan.Raw.IsNull() || r.hub == nil {
		return
	}
	var plan deviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Leave an unchanged connection alone: rewriting it, even with an equal
	// value, makes OpenTofu plan an update.
	conn := r.connection(plan.DeviceID, plan.Key)
	if conn.Equal(plan.Connection) {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("connection_info"), conn)...)
}

func (r *deviceResource) connection(id, key types.String) types.Object {
	if id.IsUnknown() || key.IsUnknown() || r.hub == nil {
		return types.ObjectUnknown(connectionAttrTypes)
	}
	return types.ObjectValueMust(connectionAttrTypes, map[string]attr.Value{
		"hub_url":    types.StringValue(r.hub.endpoint),
		"device_id":  id,
		"device_key": key,
	})
}

func (r *deviceResource) Create(ctx context.Context, req resource.CreateRequest,
	resp *resource.CreateResponse,
) {
	var plan deviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := plan.DeviceID.ValueString()
	ctx = tflog.SetField(ctx, "device", id)
	summary := "Unable to Create Device"

	// PUT would silently take over a device made elsewhere; refuse and
	// point at import instead.
	if _, err := r.hub.client.GetDevice(ctx, id); err == nil {
		resp.Diagnostics.AddAttributeError(path.Root("device_id"), "Device Already Exists",
			fmt.Sprintf("The hub already has a device %q. Import it with terraform import "+
				"ADDRESS %s, or choose another device_id.", id, id))
		return
	} else if !isGone(err) {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Checking whether device %q "+
			"exists failed.", id), err)
		return
	}

	// Send the device; the hub generates the key when none is configured.
	dev := r.toAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Debug(ctx, "creating device")
	got, err := r.hub.client.PutDevice(ctx, dev, 0)
	if err != nil {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Creating device %q failed.", id),
			err, "device_id", "tags", "enabled", "key")
		return
	}

	// Save what the hub stored, and its version for If-Match.
	r.fromAPI(&plan, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	tflog.Info(ctx, "created device", map[string]any{"version": got.Version})
}

func (r *deviceResource) Read(ctx context.Context, req resource.ReadRequest,
	resp *resource.ReadResponse,
) {
	var state deviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.DeviceID.ValueString()
	ctx = tflog.SetField(ctx, "device", id)

	got, err := r.hub.client.GetDevice(ctx, id)
	if isGone(err) {
		// Deleted outside Terraform: forget it so the next plan re-creates it.
		tflog.Warn(ctx, "device is gone from the hub; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Read Device",
			fmt.Sprintf("Reading device %q failed.", id), err)
		return
	}

	r.fromAPI(&state, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *deviceResource) Update(ctx context.Context, req resource.UpdateRequest,
	resp *resource.UpdateResponse,
) {
	var plan deviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := plan.DeviceID.ValueString()
	ctx = tflog.SetField(ctx, "device", id)

	// Write only over the version Terraform last read.
	version := storedVersion(ctx, req.Private, &resp.Diagnostics)
	dev := r.toAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Debug(ctx, "updating device", map[string]any{"if_match": version})
	got, err := r.hub.client.PutDevice(ctx, dev, version)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Update Device",
			fmt.Sprintf("Updating device %q failed.", id), err, "tags", "enabled", "key")
		return
	}

	r.fromAPI(&plan, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *deviceResource) Delete(ctx context.Context, req resource.DeleteRequest,
	resp *resource.DeleteResponse,
) {
	var state deviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.DeviceID.ValueString()
	ctx = tflog.SetField(ctx, "device", id)

	tflog.Debug(ctx, "deleting device")
	err := r.hub.client.DeleteDevice(ctx, id)
	if err != nil && !isGone(err) {
		addHubError(&resp.Diagnostics, "Unable to Delete Device",
			fmt.Sprintf("Deleting device %q failed.", id), err)
	}
}

func (r *deviceResource) ImportState(ctx context.Context, req resource.ImportStateRequest,
	resp *resource.ImportStateResponse,
) {
	parts := splitID(req.ID, "<device_id>", &resp.Diagnostics)
	if parts == nil {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("device_id"), parts[0])...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), parts[0])...)
}

func (r *deviceResource) toAPI(ctx context.Context, m deviceModel, diags *diag.Diagnostics) api.Device {
	d := api.Device{
		ID:      m.DeviceID.ValueString(),
		Tags:    stringMap(ctx, m.Tags, diags),
		Enabled: m.Enabled.ValueBool(),
	}
	if !m.Key.IsUnknown() && !m.Key.IsNull() {
		d.Key = m.Key.ValueString()
	}
	return d
}

func (r *deviceResource) fromAPI(m *deviceModel, d *api.Device) {
	m.ID = types.StringValue(d.ID)
	m.DeviceID = types.StringValue(d.ID)
	m.Tags = mapValue(m.Tags, d.Tags)
	m.Enabled = types.BoolValue(d.Enabled)
	m.Key = types.StringValue(d.Key)
	m.Connection = r.connection(m.DeviceID, m.Key)
}
