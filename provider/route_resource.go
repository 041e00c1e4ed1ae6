package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/edgeplane/edgeplane/hub/api"
)

var (
	_ resource.ResourceWithConfigure   = (*routeResource)(nil)
	_ resource.ResourceWithImportState = (*routeResource)(nil)
)

// NewRouteResource returns the edgeplane_route resource.
func NewRouteResource() resource.Resource { return &routeResource{} }

type routeResource struct {
	resourceBase
}

type routeModel struct {
	ID                types.String `tfsdk:"id"`
	DeviceID          types.String `tfsdk:"device_id"`
	Name              types.String `tfsdk:"name"`
	Route             types.String `tfsdk:"route"`
	Priority          types.Int64  `tfsdk:"priority"`
	TimeToLiveSeconds types.Int64  `tfsdk:"time_to_live_seconds"`
}

var routeAttrs = []string{"name", "route", "priority", "time_to_live_seconds"}

func (r *routeResource) Metadata(_ context.Context, req resource.MetadataRequest,
	resp *resource.MetadataResponse,
) {
	resp.TypeName = req.ProviderTypeName + "_route"
}

func (r *routeResource) Schema(_ context.Context, _ resource.SchemaRequest,
	resp *resource.SchemaResponse,
) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A route of a device: which messages go from where to where, in " +
			"the IoT Edge route language (`FROM <source> [WHERE <condition>] INTO <sink>`). " +
			"The route is parsed at plan time, so a syntax error fails `terraform plan` with " +
			"its line and column.",
		Attributes: map[string]schema.Attribute{
			"id":        idAttribute("<device_id>/<name>"),
			"device_id": deviceIDAttribute("the route"),
			"name":      nameAttribute("route"),
			"route": schema.StringAttribute{
				MarkdownDescription: "The route text, for example `FROM /messages/modules/" +
					"sensor/outputs/temperature INTO BrokeredEndpoint(\"/modules/filter/" +
					"inputs/input1\")`.",
				Required:   true,
				Validators: []validator.String{routeValidator{}},
			},
			"priority": schema.Int64Attribute{
				MarkdownDescription: "0 (highest, default) to 9 (lowest). A message that " +
					"matches several routes to one endpoint is delivered once, at the best " +
					"priority.",
				Optional:   true,
				Computed:   true,
				Default:    int64default.StaticInt64(0),
				Validators: []validator.Int64{int64validator.Between(0, 9)},
			},
			"time_to_live_seconds": schema.Int64Attribute{
				MarkdownDescription: "How long a message may wait for `$upstream`; `0` " +
					"(default) uses the device's default from its upstream settings.",
				Optional:   true,
				Computed:   true,
				Default:    int64default.StaticInt64(0),
				Validators: []validator.Int64{int64validator.AtLeast(0)},
			},
		},
	}
}

func (r *routeResource) Create(ctx context.Context, req resource.CreateRequest,
	resp *resource.CreateResponse,
) {
	var plan routeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := plan.DeviceID.ValueString(), plan.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "route", name)
	summary := "Unable to Create Route"

	// Refuse to take over a route made elsewhere.
	if _, err := r.hub.client.GetRoute(ctx, dev, name); err == nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Route Already Exists",
			fmt.Sprintf("Device %q already has a route %q. Import it with terraform import "+
				"ADDRESS %s/%s, or choose another name.", dev, name, dev, name))
		return
	} else if !isGone(err) {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Checking whether route %q of "+
			"device %q exists failed.", name, dev), err)
		return
	}

	// Send the route and save what the hub stored.
	tflog.Debug(ctx, "creating route")
	got, err := r.hub.client.PutRoute(ctx, dev, routeToAPI(plan), 0)
	if err != nil {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Creating route %q of device %q "+
			"failed.", name, dev), err, routeAttrs...)
		return
	}
	routeFromAPI(&plan, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *routeResource) Read(ctx context.Context, req resource.ReadRequest,
	resp *resource.ReadResponse,
) {
	var state routeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := state.DeviceID.ValueString(), state.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "route", name)

	got, err := r.hub.client.GetRoute(ctx, dev, name)
	if isGone(err) {
		tflog.Warn(ctx, "route is gone from the hub; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Read Route",
			fmt.Sprintf("Reading route %q of device %q failed.", name, dev), err)
		return
	}

	routeFromAPI(&state, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *routeResource) Update(ctx context.Context, req resource.UpdateRequest,
	resp *resource.UpdateResponse,
) {
	var plan routeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := plan.DeviceID.ValueString(), plan.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "route", name)

	// Write only over the version Terraform last read.
	version := storedVersion(ctx, req.Private, &resp.Diagnostics)
	tflog.Debug(ctx, "updating route", map[string]any{"if_match": version})
	got, err := r.hub.client.PutRoute(ctx, dev, routeToAPI(plan), version)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Update Route", fmt.Sprintf("Updating route "+
			"%q of device %q failed.", name, dev), err, routeAttrs...)
		return
	}

	routeFromAPI(&plan, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *routeResource) Delete(ctx context.Context, req resource.DeleteRequest,
	resp *resource.DeleteResponse,
) {
	var state routeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := state.DeviceID.ValueString(), state.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "route", name)

	tflog.Debug(ctx, "deleting route")
	if err := r.hub.client.DeleteRoute(ctx, dev, name); err != nil && !isGone(err) {
		addHubError(&resp.Diagnostics, "Unable to Delete Route", fmt.Sprintf("Deleting route "+
			"%q of device %q failed.", name, dev), err)
	}
}

func (r *routeResource) ImportState(ctx context.Context, req resource.ImportStateRequest,
	resp *resource.ImportStateResponse,
) {
	importDeviceChild(ctx, req.ID, "name", resp)
}

func routeToAPI(m routeModel) api.Route {
	return api.Route{
		Name:              m.Name.ValueString(),
		Text:              m.Route.ValueString(),
		Priority:          int(m.Priority.ValueInt64()),
		TimeToLiveSeconds: int(m.TimeToLiveSeconds.ValueInt64()),
	}
}

func routeFromAPI(m *routeModel, device string, got *api.Route) {
	m.ID = types.StringValue(device + "/" + got.Name)
	m.DeviceID = types.StringValue(device)
	m.Name = types.StringValue(got.Name)
	m.Route = types.StringValue(got.Text)
	m.Priority = types.Int64Value(int64(got.Priority))
	m.TimeToLiveSeconds = types.Int64Value(int64(got.TimeToLiveSeconds))
}
