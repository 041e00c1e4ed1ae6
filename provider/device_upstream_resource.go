package provider

import (
	"context"
	"fmt"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/edgeplane/edgeplane/hub/api"
)

// Defaults of the upstream settings, as api.Upstream documents them.
const (
	defaultTopicPrefix   = "edgeplane"
	defaultUpstreamTTL   = 7200
	defaultMaxQueueBytes = 1 << 30
)

var (
	_ resource.ResourceWithConfigure   = (*deviceUpstreamResource)(nil)
	_ resource.ResourceWithImportState = (*deviceUpstreamResource)(nil)
)

// NewDeviceUpstreamResource returns the edgeplane_device_upstream resource.
func NewDeviceUpstreamResource() resource.Resource { return &deviceUpstreamResource{} }

type deviceUpstreamResource struct {
	resourceBase
}

type deviceUpstreamModel struct {
	ID                       types.String `tfsdk:"id"`
	DeviceID                 types.String `tfsdk:"device_id"`
	URL                      types.String `tfsdk:"url"`
	ClientID                 types.String `tfsdk:"client_id"`
	Username                 types.String `tfsdk:"username"`
	Password                 types.String `tfsdk:"password"`
	CACertificate            types.String `tfsdk:"ca_certificate"`
	ClientCertificate        types.String `tfsdk:"client_certificate"`
	ClientKey                types.String `tfsdk:"client_key"`
	TopicPrefix              types.String `tfsdk:"topic_prefix"`
	DefaultTimeToLiveSeconds types.Int64  `tfsdk:"default_time_to_live_seconds"`
	MaxQueueBytes            types.Int64  `tfsdk:"max_queue_bytes"`
}

var upstreamAttrs = []string{"url", "client_id", "username", "password", "ca_certificate",
	"client_certificate", "client_key", "topic_prefix", "default_time_to_live_seconds",
	"max_queue_bytes"}

func (r *deviceUpstreamResource) Metadata(_ context.Context, req resource.MetadataRequest,
	resp *resource.MetadataResponse,
) {
	resp.TypeName = req.ProviderTypeName + "_device_upstream"
}

func (r *deviceUpstreamResource) Schema(_ context.Context, _ resource.SchemaRequest,
	resp *resource.SchemaResponse,
) {
	optional := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Optional: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Where a device sends the messages its routes send to " +
			"`$upstream`: an MQTT broker. Messages wait in the gateway's store-and-forward " +
			"queue until the broker takes them. One per device.",
		Attributes: map[string]schema.Attribute{
			"id":        idAttribute("<device_id>"),
			"device_id": deviceIDAttribute("the upstream"),
			"url": schema.StringAttribute{
				MarkdownDescription: "The broker: `mqtt://`, `mqtts://`, `tcp://`, `ssl://` " +
					"or `tls://` followed by `host:port`.",
				Required:   true,
				Validators: []validator.String{brokerURLValidator{}},
			},
			"client_id": optional("MQTT client id."),
			"username":  optional("MQTT user name."),
			"password": schema.StringAttribute{
				MarkdownDescription: "MQTT password. Write-only on the hub: a change made " +
					"outside Terraform is not detected.",
				Optional:  true,
				Sensitive: true,
			},
			"ca_certificate":     optional("PEM bundle to verify the broker with."),
			"client_certificate": optional("PEM client certificate for mutual TLS."),
			"client_key": schema.StringAttribute{
				MarkdownDescription: "PEM key of `client_certificate`. Write-only on the hub " +
					"like `password`.",
				Optional:  true,
				Sensitive: true,
			},
			"topic_prefix": schema.StringAttribute{
				MarkdownDescription: "Prefix of the upstream topics. Default `edgeplane`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultTopicPrefix),
			},
			"default_time_to_live_seconds": schema.Int64Attribute{
				MarkdownDescription: "How long a message waits for the broker when its " +
					"route sets no time to live. Default `7200`.",
				Optional:   true,
				Computed:   true,
				Default:    int64default.StaticInt64(defaultUpstreamTTL),
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"max_queue_bytes": schema.Int64Attribute{
				MarkdownDescription: "Bound of the on-disk store-and-forward queue. " +
					"Default `1073741824` (1 GiB).",
				Optional:   true,
				Computed:   true,
				Default:    int64default.StaticInt64(defaultMaxQueueBytes),
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
		},
	}
}

func (r *deviceUpstreamResource) Create(ctx context.Context, req resource.CreateRequest,
	resp *resource.CreateResponse,
) {
	var plan deviceUpstreamModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev := plan.DeviceID.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)
	summary := "Unable to Create Device Upstream"

	// A device has one upstream; refuse to take over one set elsewhere.
	if _, err := r.hub.client.GetUpstream(ctx, dev); err == nil {
		resp.Diagnostics.AddAttributeError(path.Root("device_id"), "Device Upstream Already Exists",
			fmt.Sprintf("Device %q already has an upstream. Import it with terraform import "+
				"ADDRESS %s.", dev, dev))
		return
	} else if !isGone(err) {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Checking the upstream of "+
			"device %q failed.", dev), err)
		return
	}

	tflog.Debug(ctx, "setting upstream")
	got, err := r.hub.client.PutUpstream(ctx, dev, upstreamToAPI(plan), 0)
	if err != nil {
		addHubError(&resp.Diagnostics, summary, fmt.Sprintf("Setting the upstream of device "+
			"%q failed.", dev), err, upstreamAttrs...)
		return
	}
	upstreamFromAPI(&plan, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *deviceUpstreamResource) Read(ctx context.Context, req resource.ReadRequest,
	resp *resource.ReadResponse,
) {
	var state deviceUpstreamModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev := state.DeviceID.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)

	got, err := r.hub.client.GetUpstream(ctx, dev)
	if isGone(err) {
		tflog.Warn(ctx, "upstream is gone from the hub; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Read Device Upstream",
			fmt.Sprintf("Reading the upstream of device %q failed.", dev), err)
		return
	}

	upstreamFromAPI(&state, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *deviceUpstreamResource) Update(ctx context.Context, req resource.UpdateRequest,
	resp *resource.UpdateResponse,
) {
	var plan deviceUpstreamModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev := plan.DeviceID.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)

	version := storedVersion(ctx, req.Private, &resp.Diagnostics)
	tflog.Debug(ctx, "updating upstream", map[string]any{"if_match": version})
	got, err := r.hub.client.PutUpstream(ctx, dev, upstreamToAPI(plan), version)
	if err != nil {
		addHubError(&resp.Diagnostics, "Unable to Update Device Upstream", fmt.Sprintf(
			"Updating the upstream of device %q failed.", dev), err, upstreamAttrs...)
		return
	}

	upstreamFromAPI(&plan, dev, got)
	setVersion(ctx, resp.Private, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *deviceUpstreamResource) Delete(ctx context.Context, req resource.DeleteRequest,
	resp *resource.DeleteResponse,
) {
	var state deviceUpstreamModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dev := state.DeviceID.ValueString()
	ctx = tflog.SetField(ctx, "device", dev)

	tflog.Debug(ctx, "deleting upstream")
	if err := r.hub.client.DeleteUpstream(ctx, dev); err != nil && !isGone(err) {
		addHubError(&resp.Diagnostics, "Unable to Delete Device Upstream", fmt.Sprintf(
			"Deleting the upstream of device %q failed.", dev), err)
	}
}

func (r *deviceUpstreamResource) ImportState(ctx context.Context, req resource.ImportStateRequest,
	resp *resource.ImportStateResponse,
) {
	parts := splitID(req.ID, "<device_id>", &resp.Diagnostics)
	if parts == nil {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), parts[0])...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("device_id"), parts[0])...)
}

func upstreamToAPI(m deviceUpstreamModel) api.Upstream {
	return api.Upstream{
		URL:                      m.URL.ValueString(),
		ClientID:                 m.ClientID.ValueString(),
		Username:                 m.Username.ValueString(),
		Password:                 m.Password.ValueString(),
		CACertificate:            m.CACertificate.ValueString(),
		ClientCertificate:        m.ClientCertificate.ValueString(),
		ClientKey:                m.ClientKey.ValueString(),
		TopicPrefix:              m.TopicPrefix.ValueString(),
		DefaultTimeToLiveSeconds: int(m.DefaultTimeToLiveSeconds.ValueInt64()),
		MaxQueueBytes:            m.MaxQueueBytes.ValueInt64(),
	}
}

// upstreamFromAPI fills m from the hub. The hub never returns the password
// or client key: m keeps its own while the hub says one is set, and drops
// it when none is, so that a secret removed elsewhere shows as a diff.
func upstreamFromAPI(m *deviceUpstreamModel, device string, got *api.Upstream) {
	m.ID = types.StringValue(device)
	m.DeviceID = types.StringValue(device)
	m.URL = types.StringValue(got.URL)
	m.ClientID = stringOrNull(got.ClientID)
	m.Username = stringOrNull(got.Username)
	if !got.PasswordSet {
		m.Password = types.StringNull()
	}
	m.CACertificate = stringOrNull(got.CACertificate)
	m.ClientCertificate = stringOrNull(got.ClientCertificate)
	if !got.ClientKeySet {
		m.ClientKey = types.StringNull()
	}
	m.TopicPrefix = types.StringValue(orDefault(got.TopicPrefix, defaultTopicPrefix))
	m.DefaultTimeToLiveSeconds = types.Int64Value(int64(orDefaultInt(got.DefaultTimeToLiveSeconds,
		defaultUpstreamTTL)))
	m.MaxQueueBytes = types.Int64Value(orDefaultInt(got.MaxQueueBytes, defaultMaxQueueBytes))
}

func orDefaultInt[T int | int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// brokerURLValidator checks the upstream URL's scheme and host at plan time.
type brokerURLValidator struct{}

func (brokerURLValidator) Description(context.Context) string {
	return "must be mqtt://, mqtts://, tcp://, ssl:// or tls:// followed by host:port"
}

func (v brokerURLValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v brokerURLValidator) ValidateString(ctx context.Context, req validator.StringRequest,
	resp *validator.StringResponse,
) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	u, err := url.Parse(s)
	ok := err == nil && u.Host != "" && u.Port() != ""
	if ok {
		switch u.Scheme {
		case "mqtt", "mqtts", "tcp", "ssl", "tls":
		default:
			ok = false
		}
	}
	if !ok {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Broker URL",
			fmt.Sprintf("The upstream URL %q %s, such as mqtts://broker.example.com:8883.",
				s, v.Description(ctx)))
	}
}
