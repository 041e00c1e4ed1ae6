package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/edgeplane/edgeplane/hub/api"
)

// createOptionsType is the type of a module's create_options: a JSON string
// holding an api.CreateOptions. Two values are equal when they decode to the
// same options, so key order, whitespace and fields written with their zero
// value (which the hub drops) never show as a diff.
type createOptionsType struct {
	basetypes.StringType
}

var _ basetypes.StringTypable = createOptionsType{}

func (t createOptionsType) String() string { return "provider.createOptionsType" }

func (t createOptionsType) ValueType(context.Context) attr.Value { return createOptionsValue{} }

func (t createOptionsType) Equal(o attr.Type) bool {
	_, ok := o.(createOptionsType)
	return ok
}

func (t createOptionsType) ValueFromString(_ context.Context, in basetypes.StringValue,
) (basetypes.StringValuable, diag.Diagnostics) {
	return createOptionsValue{StringValue: in}, nil
}

func (t createOptionsType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.StringType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	s, ok := v.(basetypes.StringValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return createOptionsValue{StringValue: s}, nil
}

// createOptionsValue is a value of createOptionsType.
type createOptionsValue struct {
	basetypes.StringValue
}

var (
	_ basetypes.StringValuableWithSemanticEquals = createOptionsValue{}
	_ xattr.ValidateableAttribute                = createOptionsValue{}
)

func (v createOptionsValue) Type(context.Context) attr.Type { return createOptionsType{} }

func (v createOptionsValue) Equal(o attr.Value) bool {
	other, ok := o.(createOptionsValue)
	return ok && v.StringValue.Equal(other.StringValue)
}

func (v createOptionsValue) StringSemanticEquals(_ context.Context, nv basetypes.StringValuable,
) (bool, diag.Diagnostics) {
	other, ok := nv.(createOptionsValue)
	if !ok {
		return false, nil
	}
	a, errA := canonicalCreateOptions(v.ValueString())
	b, errB := canonicalCreateOptions(other.ValueString())
	if errA != nil || errB != nil {
		return v.ValueString() == other.ValueString(), nil
	}
	return a == b, nil
}

// ValidateAttribute fails plan when the JSON is malformed or names a field
// the hub does not know, naming the field.
func (v createOptionsValue) ValidateAttribute(_ context.Context, req xattr.ValidateAttributeRequest,
	resp *xattr.ValidateAttributeResponse,
) {
	if v.IsNull() || v.IsUnknown() {
		return
	}
	if _, err := decodeCreateOptions(v.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Module Create Options",
			"create_options must be a JSON object with the fields of the module create "+
				"options (mounts, ports, devices, labels, memory_bytes, cpus, health_check); "+
				"write it with jsonencode({...}).\n\nError: "+err.Error())
	}
}

// decodeCreateOptions decodes s strictly: unknown fields are errors, as
// they are on the hub, so a typo fails plan rather than apply.
func decodeCreateOptions(s string) (*api.CreateOptions, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var o api.CreateOptions
	if err := dec.Decode(&o); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fmt.Errorf("field %s: want a JSON %s, got %s", te.Field, te.Type, te.Value)
		}
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("extra data after the JSON object")
	}
	return &o, nil
}

func canonicalCreateOptions(s string) (string, error) {
	o, err := decodeCreateOptions(s)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(o)
	return string(b), err
}

// createOptionsFromAPI is the create_options value for what the hub
// stores. Empty options keep prior's form (null or "{}").
func createOptionsFromAPI(prior createOptionsValue, o *api.CreateOptions) createOptionsValue {
	empty := o == nil
	var b []byte
	if o != nil {
		b, _ = json.Marshal(o)
		empty = bytes.Equal(b, []byte("{}"))
	}
	if empty {
		if prior.IsNull() || prior.IsUnknown() {
			return createOptionsValue{StringValue: basetypes.NewStringNull()}
		}
		if c, err := canonicalCreateOptions(prior.ValueString()); err == nil && c == "{}" {
			return prior
		}
		return createOptionsValue{StringValue: basetypes.NewStringNull()}
	}
	return createOptionsValue{StringValue: basetypes.NewStringValue(string(b))}
}
