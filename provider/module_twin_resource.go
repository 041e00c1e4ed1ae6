package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/edgeplane/edgeplane/hub/api"
)

var (
	_ resource.ResourceWithConfigure   = (*moduleTwinResource)(nil)
	_ resource.ResourceWithImportState = (*moduleTwinResource)(nil)
)

// NewModuleTwinResource returns the edgeplane_module_twin resource.
func NewModuleTwinResource() resource.Resource { return &moduleTwinResource{} }

type moduleTwinResource struct {
	resourceBase
}

type moduleTwinModel struct {
	ID              types.String         `tfsdk:"id"`
	DeviceID        types.String         `tfsdk:"device_id"`
	Module          types.String         `tfsdk:"module"`
	Desired         jsontypes.Normalized `tfsdk:"desired"`
	Reported        jsontypes.Normalized `tfsdk:"reported"`
	DesiredVersion  types.Int64          `tfsdk:"desired_version"`
	ReportedVersion types.Int64          `tfsdk:"reported_version"`
}

func (r *moduleTwinResource) Metadata(_ context.Context, req resource.MetadataRequest,
	resp *resource.MetadataResponse,
) {
	resp.TypeName = req.ProviderTypeName + "_module_twin"
}

func (r *moduleTwinResource) Schema(_ context.Context, _ resource.SchemaRequest,
	resp *resource.SchemaResponse,
) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The desired properties of a module's twin. The module reads " +
			"them on the gateway and answers with reported properties, which this " +
			"resource exposes read-only.",
		Attributes: map[string]schema.Attribute{
			"id":        idAttribute("<device_id>/<module>"),
			"device_id": deviceIDAttribute("the module"),
			"module":    nameAttribute("module"),
			"desired": schema.StringAttribute{
				MarkdownDescription: "Desired properties as a JSON object, written with " +
					"`jsonencode`. Keys starting with `$` are reserved. Key order and " +
					"whitespace never show as a difference.",
				Required:   true,
				CustomType: jsontypes.NormalizedType{},
				Validators: []validator.String{jsonObjectValidator{}},
			},
			"reported": schema.StringAttribute{
				MarkdownDescription: "Reported properties as a JSON object, as the module " +
					"last reported them.",
				Computed:   true,
				CustomType: jsontypes.NormalizedType{},
			},
			"desired_version": schema.Int64Attribute{
				MarkdownDescription: "Version of the desired properties on the hub.",
				Computed:            true,
			},
			"reported_version": schema.Int64Attribute{
				MarkdownDescription: "Version of the reported properties.",
				Computed:            true,
			},
		},
	}
}

func (r *moduleTwinResource) Create(ctx context.Context, req resource.CreateRequest,
	resp *resource.CreateResponse,
) {
	var plan moduleTwinModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, mod := plan.DeviceID.ValueString(), plan.Module.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "module", mod)

	// A twin exists with its module; creating it means setting its desired
	// properties, whatever they were.
	tflog.Debug(ctx, "setting module twin")
	got, err := r.hub.client.PutTwinDesired(ctx, dev, mod, json.RawMessage(plan.Desired.ValueString()), 0)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Create Module Twin", fmt.Sprintf("Setting "+
			"the desired properties of module %q of device %q failed.", mod, dev), err, "desired")
		return
	}

	twinFromAPI(&plan, dev, mod, got)
	setVersion(ctx, resp.Private, got.DesiredVersion, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *moduleTwinResource) Read(ctx context.Context, req resource.ReadRequest,
	resp *resource.ReadResponse,
) {
	var state moduleTwinModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, mod := state.DeviceID.ValueString(), state.Module.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "module", mod)

	got, err := r.hub.client.GetTwin(ctx, dev, mod)
	if isGone(err) {
		tflog.Warn(ctx, "module twin is gone from the hub; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Read Module Twin", fmt.Sprintf("Reading "+
			"the twin of module %q of device %q failed.", mod, dev), err)
		return
	}

	twinFromAPI(&state, dev, mod, got)
	setVersion(ctx, resp.Private, got.DesiredVersion, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *moduleTwinResource) Update(ctx context.Context, req resource.UpdateRequest,
	resp *resource.UpdateResponse,
) {
	var plan moduleTwinModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, mod := plan.DeviceID.ValueString(), plan.Module.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "module", mod)

	// Replace the desired properties over the version Terraform last read.
	version := storedVersion(ctx, req.Private, &resp.Diagnostics)
	tflog.Debug(ctx, "updating module twin", map[string]any{"if_match": version})
	got, err := r.hub.client.PutTwinDesired(ctx, dev, mod,
		json.RawMessage(plan.Desired.ValueString()), version)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Update Module Twin", fmt.Sprintf("Setting "+
			"the desired properties of module %q of device %q failed.", mod, dev), err, "desired")
		return
	}

	twinFromAPI(&plan, dev, mod, got)
	setVersion(ctx, resp.Private, got.DesiredVersion, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *moduleTwinResource) Delete(ctx context.Context, req resource.DeleteRequest,
	resp *resource.DeleteResponse,
) {
	var state moduleTwinModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, mod := state.DeviceID.ValueString(), state.Module.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "module", mod)

	// The twin lives as long as its module; deleting the resource clears
	// the desired properties.
	tflog.Debug(ctx, "clearing module twin")
	_, err := r.hub.client.PutTwinDesired(ctx, dev, mod, json.RawMessage("{}"), 0)
	if err != nil && !isGone(err) {
		addHubError(&resp.Diagnostics, "Unable to Delete Module Twin", fmt.Sprintf("Clearing "+
			"the desired properties of module %q of device %q failed.", mod, dev), err)
	}
}

func (r *moduleTwinResource) ImportState(ctx context.Context, req resource.ImportStateRequest,
	resp *resource.ImportStateResponse,
) {
	importDeviceChild(ctx, req.ID, "module", resp)
}

func twinFromAPI(m *moduleTwinModel, device, module string, got *api.Twin) {
	m.ID = types.StringValue(device + "/" + module)
	m.DeviceID = types.StringValue(device)
	m.Module = types.StringValue(module)
	m.Desired = jsonObject(got.Desired)
	m.Reported = jsonObject(got.Reported)
	m.DesiredVersion = types.Int64Value(got.DesiredVersion)
	m.ReportedVersion = types.Int64Value(got.ReportedVersion)
}

// jsonObject is a JSON object value; absent or null reads as {}.
func jsonObject(raw json.RawMessage) jsontypes.Normalized {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	return jsontypes.NewNormalizedValue(string(raw))
}

// jsonObjectValidator requires a JSON object, not another JSON value.
type jsonObjectValidator struct{}

var _ validator.String = jsonObjectValidator{}

func (jsonObjectValidator) Description(context.Context) string { return "must be a JSON object" }

func (v jsonObjectValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (jsonObjectValidator) ValidateString(_ context.Context, req validator.StringRequest,
	resp *validator.StringResponse,
) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(req.ConfigValue.ValueString()), &obj); err != nil || obj == nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Twin Properties",
			"Twin properties must be a JSON object, such as jsonencode({ interval_ms = 1000 }).")
		return
	}
	for k := range obj {
		if len(k) > 0 && k[0] == '$' {
			resp.Diagnostics.AddAttributeError(req.Path, "Reserved Twin Property",
				fmt.Sprintf("The key %q starts with '$', which is reserved for the runtime. "+
					"Rename it.", k))
		}
	}
}
