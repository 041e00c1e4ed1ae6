package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/edgeplane/edgeplane/hub/api"
)

var (
	_ resource.ResourceWithConfigure   = (*moduleResource)(nil)
	_ resource.ResourceWithImportState = (*moduleResource)(nil)
)

// NewModuleResource returns the edgeplane_module resource.
func NewModuleResource() resource.Resource { return &moduleResource{} }

type moduleResource struct {
	resourceBase
}

type moduleModel struct {
	ID              types.String       `tfsdk:"id"`
	DeviceID        types.String       `tfsdk:"device_id"`
	Name            types.String       `tfsdk:"name"`
	Image           types.String       `tfsdk:"image"`
	Env             types.Map          `tfsdk:"env"`
	CreateOptions   createOptionsValue `tfsdk:"create_options"`
	RestartPolicy   types.String       `tfsdk:"restart_policy"`
	DesiredStatus   types.String       `tfsdk:"desired_status"`
	StartupOrder    types.Int64        `tfsdk:"startup_order"`
	ImagePullPolicy types.String       `tfsdk:"image_pull_policy"`
}

// moduleAttrs are the attributes a hub error's field can point at.
var moduleAttrs = []string{"name", "image", "env", "create_options", "restart_policy",
	"desired_status", "startup_order", "image_pull_policy"}

// deviceIDAttribute is the device_id of everything that belongs to a device.
func deviceIDAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "The device " + what + " belongs to. Changing it replaces the " +
			"resource.",
		Required:      true,
		Validators:    idValidators(),
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

// nameAttribute is the name of an object within its device.
func nameAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "The " + what + "'s name, unique within its device: 1 to 128 " +
			"ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit. " +
			"Changing it replaces the resource.",
		Required:      true,
		Validators:    idValidators(),
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

func idAttribute(form string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "`" + form + "`, also the import id.",
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

func (r *moduleResource) Metadata(_ context.Context, req resource.MetadataRequest,
	resp *resource.MetadataResponse,
) {
	resp.TypeName = req.ProviderTypeName + "_module"
}

func (r *moduleResource) Schema(_ context.Context, _ resource.SchemaRequest,
	resp *resource.SchemaResponse,
) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A containerised module of a device: an OCI image that the " +
			"gateway runs with rootless Podman.",
		Attributes: map[string]schema.Attribute{
			"id":        idAttribute("<device_id>/<name>"),
			"device_id": deviceIDAttribute("the module"),
			"name":      nameAttribute("module"),
			"image": schema.StringAttribute{
				MarkdownDescription: "The OCI image reference, such as " +
					"`registry.local:5000/sensor:1.0`.",
				Required:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"env": schema.MapAttribute{
				MarkdownDescription: "Environment variables of the container.",
				ElementType:         types.StringType,
				Optional:            true,
			},
			"create_options": schema.StringAttribute{
				MarkdownDescription: "Container options as a JSON object, written with " +
					"`jsonencode`: `mounts`, `ports`, `devices`, `labels`, `memory_bytes`, " +
					"`cpus` and `health_check` (see the module guide). Unknown fields fail " +
					"the plan. Key order, whitespace and fields set to their zero value " +
					"never show as a difference.",
				Optional:   true,
				CustomType: createOptionsType{},
			},
			"restart_policy": schema.StringAttribute{
				MarkdownDescription: "When the gateway restarts the module: `never`, " +
					"`on-failure`, `on-unhealthy` or `always` (default).",
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(api.RestartAlways),
				Validators: []validator.String{stringvalidator.OneOf(api.RestartNever,
					api.RestartOnFailure, api.RestartOnUnhealthy, api.RestartAlways)},
			},
			"desired_status": schema.StringAttribute{
				MarkdownDescription: "`running` (default) or `stopped`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(api.StatusRunning),
				Validators: []validator.String{
					stringvalidator.OneOf(api.StatusRunning, api.StatusStopped)},
			},
			"startup_order": schema.Int64Attribute{
				MarkdownDescription: "Lower starts first; equal orders start in name order. " +
					"Default `0`.",
				Optional:   true,
				Computed:   true,
				Default:    int64default.StaticInt64(0),
				Validators: []validator.Int64{int64validator.AtLeast(0)},
			},
			"image_pull_policy": schema.StringAttribute{
				MarkdownDescription: "`on-create` (default) pulls the image when the " +
					"container is created; `never` uses only images already on the gateway.",
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(api.PullOnCreate),
				Validators: []validator.String{
					stringvalidator.OneOf(api.PullOnCreate, api.PullNever)},
			},
		},
	}
}

func (r *moduleResource) Create(ctx context.Context, req resource.CreateRequest,
	resp *resource.CreateResponse,
) {
	var plan moduleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := plan.DeviceID.ValueString(), plan.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "module", name)
	summary := "Unable to Create Module"

	// Refuse to take over a module made elsewhere.
	if _, err := r.hub.client.GetModule(ctx, dev, name); err == nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Module Already Exists",
			fmt.Sprintf("Device %q already has a module %q. Import it with terraform "+
				"import ADDRESS %s/%s, or choose another name.", dev, name, dev, name))
		return
	} else if !isGone(err) {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Checking whether module %q "+
			"of device %q exists failed.", name, dev), err)
		return
	}

	// Send the module.
	m := r.toAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Debug(ctx, "creating module", map[string]any{"image": m.Image})
	got, err := r.hub.client.PutModule(ctx, dev, m, 0)
	if err != nil {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Creating module %q of device "+
			"%q failed.", name, dev), err, moduleAttrs...)
		return
	}

	// Save what the hub stored and its version.
	fromAPIModule(&plan, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *moduleResource) Read(ctx context.Context, req resource.ReadRequest,
	resp *resource.ReadResponse,
) {
	var state moduleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := state.DeviceID.ValueString(), state.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "module", name)

	got, err := r.hub.client.GetModule(ctx, dev, name)
	if isGone(err) {
		tflog.Warn(ctx, "module is gone from the hub; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Read Module",
			fmt.Sprintf("Reading module %q of device %q failed.", name, dev), err)
		return
	}

	fromAPIModule(&state, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *moduleResource) Update(ctx context.Context, req resource.UpdateRequest,
	resp *resource.UpdateResponse,
) {
	var plan moduleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := plan.DeviceID.ValueString(), plan.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "module", name)

	// Write only over the version Terraform last read.
	version := storedVersion(ctx, req.Private, &resp.Diagnostics)
	m := r.toAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Debug(ctx, "updating module", map[string]any{"if_match": version})
	got, err := r.hub.client.PutModule(ctx, dev, m, version)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Update Module", fmt.Sprintf("Updating "+
			"module %q of device %q failed.", name, dev), err, moduleAttrs...)
		return
	}

	fromAPIModule(&plan, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *moduleResource) Delete(ctx context.Context, req resource.DeleteRequest,
	resp *resource.DeleteResponse,
) {
	var state moduleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := state.DeviceID.ValueString(), state.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "module", name)

	tflog.Debug(ctx, "deleting module")
	if err := r.hub.client.DeleteModule(ctx, dev, name); err != nil && !isGone(err) {
		addHubError(&resp.Diagnostics, "Unable to Delete Module", fmt.Sprintf("Deleting "+
			"module %q of device %q failed.", name, dev), err)
	}
}

func (r *moduleResource) ImportState(ctx context.Context, req resource.ImportStateRequest,
	resp *resource.ImportStateResponse,
) {
	importDeviceChild(ctx, req.ID, "name", resp)
}

// importDeviceChild sets id, device_id and the name attribute from an
// import id "<device_id>/<name>".
func importDeviceChild(ctx context.Context, id, nameAttr string, resp *resource.ImportStateResponse) {
	parts := splitID(id, "<device_id>/<"+nameAttr+">", &resp.Diagnostics)
	if parts == nil {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("device_id"), parts[0])...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(nameAttr), parts[1])...)
}

func (r *moduleResource) toAPI(ctx context.Context, m moduleModel, diags *diag.Diagnostics) api.Module {
	out := api.Module{
		Name:            m.Name.ValueString(),
		Image:           m.Image.ValueString(),
		Env:             stringMap(ctx, m.Env, diags),
		RestartPolicy:   m.RestartPolicy.ValueString(),
		DesiredStatus:   m.DesiredStatus.ValueString(),
		StartupOrder:    int(m.StartupOrder.ValueInt64()),
		ImagePullPolicy: m.ImagePullPolicy.ValueString(),
	}
	if !m.CreateOptions.IsNull() && !m.CreateOptions.IsUnknown() {
		o, err := decodeCreateOptions(m.CreateOptions.ValueString())
		if err != nil {
			diags.AddAttributeError(path.Root("create_options"), "Invalid Module Create Options",
				"create_options does not decode.\n\nError: "+err.Error())
			return out
		}
		out.CreateOptions = o
	}
	return out
}

// fromAPIModule fills m from what the hub stores. Empty values the hub
// omits read as their documented defaults.
func fromAPIModule(m *moduleModel, device string, got *api.Module) {
	m.ID = types.StringValue(device + "/" + got.Name)
	m.DeviceID = types.StringValue(device)
	m.Name = types.StringValue(got.Name)
	m.Image = types.StringValue(got.Image)
	m.Env = mapValue(m.Env, got.Env)
	m.CreateOptions = createOptionsFromAPI(m.CreateOptions, got.CreateOptions)
	m.RestartPolicy = types.StringValue(orDefault(got.RestartPolicy, api.RestartAlways))
	m.DesiredStatus = types.StringValue(orDefault(got.DesiredStatus, api.StatusRunning))
	m.StartupOrder = types.Int64Value(int64(got.StartupOrder))
	m.ImagePullPolicy = types.StringValue(orDefault(got.ImagePullPolicy, api.PullOnCreate))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
