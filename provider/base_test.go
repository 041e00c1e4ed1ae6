package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

type terraformState = terraform.State

func stringValue(s string) basetypes.StringValue { return basetypes.NewStringValue(s) }
func stringNull() basetypes.StringValue          { return basetypes.NewStringNull() }
