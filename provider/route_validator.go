package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/edgeplane/edgeplane/runtime/route"
)

// routeValidator parses a route's text at plan time with the gateway's own
// parser (runtime/route), so a syntax error fails terraform plan with the
// line, the column and what was expected, pointed at the route attribute.
type routeValidator struct{}

var _ validator.String = routeValidator{}

func (routeValidator) Description(context.Context) string {
	return "must be a route in the IoT Edge route language: FROM <source> [WHERE <condition>] " +
		"INTO <sink>"
}

func (v routeValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (routeValidator) ValidateString(_ context.Context, req validator.StringRequest,
	resp *validator.StringResponse,
) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	text := req.ConfigValue.ValueString()
	if strings.TrimSpace(text) == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Route",
			"The route is empty. Write it as FROM <source> [WHERE <condition>] INTO <sink>, "+
				"for example FROM /messages/* INTO $upstream.")
		return
	}

	_, err := route.Parse(text)
	if err == nil {
		return
	}
	detail := "The route does not parse: " + err.Error() + "."
	var re *route.Error
	if errors.As(err, &re) {
		detail = fmt.Sprintf("The route does not parse at line %d, column %d: %s.\n\n%s",
			re.Line, re.Column, strings.TrimPrefix(err.Error(),
				fmt.Sprintf("line %d, column %d: ", re.Line, re.Column)), pointAt(text, re.Line, re.Column))
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid Route", detail+
		"\nRoutes have the form FROM <source> [WHERE <condition>] INTO <sink>; see the routes guide.")
}

// pointAt returns the route's line with a caret under column (1-based, in
// characters), so the user sees where the parser stopped.
func pointAt(text string, line, column int) string {
	lines := strings.Split(text, "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	l := lines[line-1]
	pad := column - 1
	if pad < 0 {
		pad = 0
	}
	return "  " + l + "\n  " + strings.Repeat(" ", pad) + "^\n"
}
