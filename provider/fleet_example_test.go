package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// TestAccFleetExample applies examples/fleet as a user would, then grows the
// fleet by a site and turns on the upstream.
func TestAccFleetExample(t *testing.T) {
	fleet := randName("fleet")
	sites := func(extra string) config.Variable {
		s := map[string]config.Variable{
			"berlin": site(3, 8, 1000),
			"lyon":   site(2, 8, 2000),
			"oslo":   site(1, 4, 5000),
		}
		if extra != "" {
			s[extra] = site(2, 6, 1000)
		}
		return config.MapVariable(s)
	}
	resource.Test(t, resource.TestCase{
		PreCheck: func() { accPreCheck(t) },
		// The example has its own provider block, so the provider is given
		// per step (the framework refuses it at the test case level then).
		Steps: []resource.TestStep{
			{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				ConfigDirectory:          config.StaticDirectory("../examples/fleet"),
				ConfigVariables: config.Variables{"fleet": config.StringVariable(fleet),
					"sites": sites("")},
				// State checks rather than Check functions: the latter's
				// state view does not support for_each.
				ConfigStateChecks: []statecheck.StateCheck{
					fleetCheck{fleet, 6, false},
					statecheck.ExpectKnownValue(`edgeplane_module_twin.filter["oslo-gw-1"]`,
						tfjsonpath.New("desired"), knownvalue.StringExact(`{"threshold_celsius":4}`)),
				},
			},
			{
				// A new site adds its gateways and nothing else changes.
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				ConfigDirectory:          config.StaticDirectory("../examples/fleet"),
				ConfigVariables: config.Variables{"fleet": config.StringVariable(fleet),
					"sites": sites("riga")},
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(`edgeplane_device.gw["riga-gw-2"]`,
						plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction(`edgeplane_module.sensor["berlin-gw-1"]`,
						plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{fleetCheck{fleet, 8, false}},
			},
			{
				// Alerts go to a broker once upstream_url is set.
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				ConfigDirectory:          config.StaticDirectory("../examples/fleet"),
				ConfigVariables: config.Variables{"fleet": config.StringVariable(fleet),
					"sites":             sites("riga"),
					"upstream_url":      config.StringVariable("mqtts://broker.example.com:8883"),
					"upstream_password": config.StringVariable("fleet-secret")},
				ConfigStateChecks: []statecheck.StateCheck{fleetCheck{fleet, 8, true}},
			},
			{
				// Destroy in a step of its own: the framework's own final
				// destroy reads the state through a view without for_each.
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				ConfigDirectory:          config.StaticDirectory("../examples/fleet"),
				ConfigVariables: config.Variables{"fleet": config.StringVariable(fleet),
					"sites":             sites("riga"),
					"upstream_url":      config.StringVariable("mqtts://broker.example.com:8883"),
					"upstream_password": config.StringVariable("fleet-secret")},
				Destroy: true,
			},
		},
	})

	// Destroy has run; the hub must have no gateway of the fleet left.
	if accHub != nil {
		if err := checkFleetGone(fleet); err != nil {
			t.Error(err)
		}
	}
}

func site(gateways, threshold, interval int) config.Variable {
	return config.ObjectVariable(map[string]config.Variable{
		"gateways":          config.IntegerVariable(gateways),
		"threshold_celsius": config.IntegerVariable(threshold),
		"interval_ms":       config.IntegerVariable(interval),
	})
}

// fleetCheck asserts on the hub that the fleet has want gateways, each with
// its two modules, twins and routes (and an upstream when upstream is set).
type fleetCheck struct {
	fleet    string
	want     int
	upstream bool
}

func (f fleetCheck) CheckState(ctx context.Context, _ statecheck.CheckStateRequest,
	resp *statecheck.CheckStateResponse,
) {
	resp.Error = checkFleet(ctx, f.fleet, f.want, f.upstream)
}

func checkFleet(ctx context.Context, fleet string, want int, upstream bool) error {
	c := accClient()
	devs, err := c.AllDevices(ctx, map[string]string{"fleet": fleet})
	if err != nil {
		return err
	}
	if len(devs) != want {
		return fmt.Errorf("fleet %s: got %d gateways, want %d", fleet, len(devs), want)
	}
	for _, d := range devs {
		mods, err := c.ListModules(ctx, d.ID)
		if err != nil {
			return err
		}
		routes, err := c.ListRoutes(ctx, d.ID)
		if err != nil {
			return err
		}
		if len(mods) != 2 || len(routes) != 2 {
			return fmt.Errorf("%s: got %d modules and %d routes, want 2 and 2",
				d.ID, len(mods), len(routes))
		}
		tw, err := c.GetTwin(ctx, d.ID, "sensor")
		if err != nil {
			return err
		}
		var desired struct {
			IntervalMS int `json:"interval_ms"`
		}
		if err := json.Unmarshal(tw.Desired, &desired); err != nil || desired.IntervalMS == 0 {
			return fmt.Errorf("%s: sensor twin desired %s, want an interval_ms", d.ID, tw.Desired)
		}
		_, err = c.GetUpstream(ctx, d.ID)
		switch {
		case upstream && err != nil:
			return fmt.Errorf("%s: upstream: %w", d.ID, err)
		case !upstream && err == nil:
			return fmt.Errorf("%s: has an upstream, want none", d.ID)
		}
	}
	return nil
}

func checkFleetGone(fleet string) error {
	devs, err := accClient().AllDevices(context.Background(), map[string]string{"fleet": fleet})
	if err != nil {
		return err
	}
	if len(devs) != 0 {
		return fmt.Errorf("fleet %s: %d gateways left after destroy, want 0", fleet, len(devs))
	}
	return nil
}
