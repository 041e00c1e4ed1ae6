package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// routeValidator checks a route's text at plan time.
//
// TODO(provider): parse with runtime/route once it lands on main, so that a
// syntax error names its line, column and the expected token.
type routeValidator struct{}

var _ validator.String = routeValidator{}

func (routeValidator) Description(context.Context) string {
	return "must be a route in the IoT Edge route language"
}

func (v routeValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (routeValidator) ValidateString(_ context.Context, req validator.StringRequest,
	resp *validator.StringResponse,
) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if strings.TrimSpace(req.ConfigValue.ValueString()) == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Route",
			"The route is empty. Write it as FROM <source> [WHERE <condition>] INTO <sink>, "+
				"for example FROM /messages/* INTO $upstream.")
	}
}
