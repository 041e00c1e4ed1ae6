package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/edgeplane/edgeplane/hub/api"
)

var (
	_ resource.ResourceWithConfigure   = (*registryCredentialResource)(nil)
	_ resource.ResourceWithImportState = (*registryCredentialResource)(nil)
)

// NewRegistryCredentialResource returns the edgeplane_registry_credential
// resource.
func NewRegistryCredentialResource() resource.Resource { return &registryCredentialResource{} }

type registryCredentialResource struct {
	resourceBase
}

type registryCredentialModel struct {
	ID       types.String `tfsdk:"id"`
	DeviceID types.String `tfsdk:"device_id"`
	Name     types.String `tfsdk:"name"`
	Server   types.String `tfsdk:"server"`
	Username types.String `tfsdk:"username"`
	Password types.String `tfsdk:"password"`
}

var registryAttrs = []string{"name", "server", "username", "password"}

func (r *registryCredentialResource) Metadata(_ context.Context, req resource.MetadataRequest,
	resp *resource.MetadataResponse,
) {
	resp.TypeName = req.ProviderTypeName + "_registry_credential"
}

func (r *registryCredentialResource) Schema(_ context.Context, _ resource.SchemaRequest,
	resp *resource.SchemaResponse,
) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Credentials a device uses to pull module images from one " +
			"container registry.",
		Attributes: map[string]schema.Attribute{
			"id":        idAttribute("<device_id>/<name>"),
			"device_id": deviceIDAttribute("the credential"),
			"name":      nameAttribute("credential"),
			"server": schema.StringAttribute{
				MarkdownDescription: "The registry as `host[:port]`, as it appears in " +
					"image references.",
				Required:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"username": schema.StringAttribute{
				MarkdownDescription: "User name at the registry.",
				Required:            true,
			},
			"password": schema.StringAttribute{
				MarkdownDescription: "Password or token at the registry. Write-only on the " +
					"hub: a change made outside Terraform is not detected.",
				Required:  true,
				Sensitive: true,
			},
		},
	}
}

func (r *registryCredentialResource) Create(ctx context.Context, req resource.CreateRequest,
	resp *resource.CreateResponse,
) {
	var plan registryCredentialModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := plan.DeviceID.ValueString(), plan.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "registry", name)
	summary := "Unable to Create Registry Credential"

	// Refuse to take over a credential made elsewhere.
	if _, err := r.hub.client.GetRegistry(ctx, dev, name); err == nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Registry Credential Already Exists",
			fmt.Sprintf("Device %q already has a registry credential %q. Import it with "+
				"terraform import ADDRESS %s/%s, or choose another name.", dev, name, dev, name))
		return
	} else if !isGone(err) {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Checking whether registry "+
			"credential %q of device %q exists failed.", name, dev), err)
		return
	}

	tflog.Debug(ctx, "creating registry credential")
	got, err := r.hub.client.PutRegistry(ctx, dev, registryToAPI(plan), 0)
	if err != nil {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Creating registry credential "+
			"%q of device %q failed.", name, dev), err, registryAttrs...)
		return
	}
	registryFromAPI(&plan, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *registryCredentialResource) Read(ctx context.Context, req resource.ReadRequest,
	resp *resource.ReadResponse,
) {
	var state registryCredentialModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := state.DeviceID.ValueString(), state.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "registry", name)

	got, err := r.hub.client.GetRegistry(ctx, dev, name)
	if isGone(err) {
		tflog.Warn(ctx, "registry credential is gone from the hub; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Read Registry Credential", fmt.Sprintf(
			"Reading registry credential %q of device %q failed.", name, dev), err)
		return
	}

	registryFromAPI(&state, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *registryCredentialResource) Update(ctx context.Context, req resource.UpdateRequest,
	resp *resource.UpdateResponse,
) {
	var plan registryCredentialModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := plan.DeviceID.ValueString(), plan.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "registry", name)

	version := storedVersion(ctx, req.Private, &resp.Diagnostics)
	tflog.Debug(ctx, "updating registry credential", map[string]any{"if_match": version})
	got, err := r.hub.client.PutRegistry(ctx, dev, registryToAPI(plan), version)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Update Registry Credential", fmt.Sprintf(
			"Updating registry credential %q of device %q failed.", name, dev), err,
			registryAttrs...)
		return
	}

	registryFromAPI(&plan, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *registryCredentialResource) Delete(ctx context.Context, req resource.DeleteRequest,
	resp *resource.DeleteResponse,
) {
	var state registryCredentialModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev, name := state.DeviceID.ValueString(), state.Name.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	ctx = tflog.SetField(ctx, "registry", name)

	tflog.Debug(ctx, "deleting registry credential")
	if err := r.hub.client.DeleteRegistry(ctx, dev, name); err != nil && !isGone(err) {
		addHubError(&resp.Diagnostics, "Unable to Delete Registry Credential", fmt.Sprintf(
			"Deleting registry credential %q of device %q failed.", name, dev), err)
	}
}

func (r *registryCredentialResource) ImportState(ctx context.Context,
	req resource.ImportStateRequest, resp *resource.ImportStateResponse,
) {
	importDeviceChild(ctx, req.ID, "name", resp)
}

func registryToAPI(m registryCredentialModel) api.Registry {
	return api.Registry{
		Name:     m.Name.ValueString(),
		Server:   m.Server.ValueString(),
		Username: m.Username.ValueString(),
		Password: m.Password.ValueString(),
	}
}

// registryFromAPI fills m from the hub, keeping the write-only password
// while the hub says one is set.
func registryFromAPI(m *registryCredentialModel, device string, got *api.Registry) {
	m.ID = types.StringValue(device + "/" + got.Name)
	m.DeviceID = types.StringValue(device)
	m.Name = types.StringValue(got.Name)
	m.Server = types.StringValue(got.Server)
	m.Username = types.StringValue(got.Username)
	if !got.PasswordSet {
		m.Password = types.StringNull()
	}
}
