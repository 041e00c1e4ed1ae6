package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// resourceBase gives a resource its hub client from the provider.
type resourceBase struct {
	hub *hubData
}

func (b *resourceBase) Configure(_ context.Context, req resource.ConfigureRequest,
	resp *resource.ConfigureResponse,
) {
	b.hub = configureData(req.ProviderData, &resp.Diagnostics)
}

// dataSourceBase gives a data source its hub client from the provider.
type dataSourceBase struct {
	hub *hubData
}

func (b *dataSourceBase) Configure(_ context.Context, req datasource.ConfigureRequest,
	resp *datasource.ConfigureResponse,
) {
	b.hub = configureData(req.ProviderData, &resp.Diagnostics)
}

func configureData(data any, diags *diag.Diagnostics) *hubData {
	// Terraform calls Configure before the provider is configured too
	// (validation); there is no client then, and none is needed.
	if data == nil {
		return nil
	}
	h, ok := data.(*hubData)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("Expected *hubData, got %T. This is a bug in the provider; "+
				"please report it.", data))
		return nil
	}
	return h
}

// privateState is where a resource keeps what users need not see, such as
// the hub's object version used for If-Match. Create, Read, Update and
// ImportState responses all have one.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

const versionKey = "version"

// storedVersion returns the hub version kept in private state, 0 when none
// (then writes go without If-Match).
func storedVersion(ctx context.Context, p privateState, diags *diag.Diagnostics) int64 {
	raw, d := p.GetKey(ctx, versionKey)
	diags.Append(d...)
	if len(raw) == 0 {
		return 0
	}
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0
	}
	return v
}

func setVersion(ctx context.Context, p privateState, v int64, diags *diag.Diagnostics) {
	diags.Append(p.SetKey(ctx, versionKey, []byte(strconv.FormatInt(v, 10)))...)
}

// splitID splits an import id "a/b" into n parts, or returns a diagnostic
// that shows the expected form.
func splitID(id string, form string, diags *diag.Diagnostics) []string {
	n := strings.Count(form, "/") + 1
	parts := strings.Split(id, "/")
	if len(parts) != n {
		diags.AddError("Invalid Import ID",
			fmt.Sprintf("The import id %q does not have the form %s. Use for example "+
				"terraform import ADDRESS %s.", id, form, form))
		return nil
	}
	for _, p := range parts {
		if p == "" {
			diags.AddError("Invalid Import ID",
				fmt.Sprintf("The import id %q has an empty part; the form is %s.", id, form))
			return nil
		}
	}
	return parts
}

// stringMap turns a Terraform map into a Go map; null gives nil.
func stringMap(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string]string{}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

// mapValue turns a hub map into a Terraform map. The hub omits empty maps,
// so an empty map keeps prior's form (null or {}) to avoid a spurious diff.
func mapValue(prior types.Map, m map[string]string) types.Map {
	if len(m) == 0 {
		if !prior.IsUnknown() && (prior.IsNull() || len(prior.Elements()) == 0) {
			return prior
		}
		return types.MapNull(types.StringType)
	}
	vals := make(map[string]attr.Value, len(m))
	for k, v := range m {
		vals[k] = types.StringValue(v)
	}
	out, _ := types.MapValue(types.StringType, vals)
	return out
}

// stringOrNull maps "" to null, for optional attributes the hub omits when
// empty.
func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}
