package bus

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/runtime/bus/topic"
	"github.com/edgeplane/edgeplane/runtime/route"
)

// The fast-route plugin (fastroute/fastroute.c) routes inside the broker
// the module outputs that need nothing of the router: outputs whose every
// matching route has no condition and ends at a module input. Such a
// message then crosses the broker once instead of twice. The bus writes the
// plugin's table from the device's routes and reloads the broker when it
// changes; everything else still goes through the router.

// fastRouteTable returns the plugin's table for routes (validated already).
//
// An output qualifies when a route names it exactly (FROM
// /messages/modules/<m>/outputs/<o>) and every route whose source matches
// it, wildcards included, is unconditional and ends at a module input; its
// targets are those routes' inputs, each once. Anything else, a route to
// $upstream or a condition on the same output for instance, leaves the
// output to the router, so that a message is never routed by both.
func fastRouteTable(deviceID string, routes []api.Route) ([]byte, error) {
	parsed := make([]*route.Route, 0, len(routes))
	sources := make([]*route.Route, 0, len(routes))
	for _, r := range routes {
		p, err := route.Parse(r.Text)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r.Name, err)
		}
		parsed = append(parsed, p)
		// The route's source alone, to ask which outputs it takes.
		sources = append(sources, route.MustParse("FROM "+p.Source+" INTO $upstream"))
	}

	type output struct{ module, output string }
	var outs []output
	for _, p := range parsed {
		rest, ok := strings.CutPrefix(p.Source, "/messages/modules/")
		if !ok {
			continue
		}
		m, o, ok := strings.Cut(rest, "/outputs/")
		if ok && topic.ValidName(m) && topic.ValidName(o) && !slices.Contains(outs, output{m, o}) {
			outs = append(outs, output{m, o})
		}
	}
	slices.SortFunc(outs, func(a, b output) int {
		return strings.Compare(a.module+"/"+a.output, b.module+"/"+b.output)
	})

	var b bytes.Buffer
	fmt.Fprintf(&b, "edgeplane-fastroutes 1\ndevice %s\n", topic.EscapeValue(deviceID))
	for _, out := range outs {
		msg := route.Message{Module: out.module, Output: out.output}
		var targets []string
		ok := true
		for i, p := range parsed {
			if !sources[i].Match(&msg) {
				continue
			}
			if p.Condition() != "" || p.Sink.Kind != route.SinkModuleInput ||
				!topic.ValidName(p.Sink.Module) || !topic.ValidName(p.Sink.Input) {
				ok = false
				break
			}
			if t := p.Sink.Module + " " + p.Sink.Input; !slices.Contains(targets, t) {
				targets = append(targets, t)
			}
		}
		if ok && len(targets) > 0 {
			fmt.Fprintf(&b, "%s %s %s\n", out.module, out.output, strings.Join(targets, " "))
		}
	}
	return b.Bytes(), nil
}

// writeFastRoutes writes the plugin's table for routes and reports whether
// it changed. It does nothing without the plugin.
func (b *Bus) writeFastRoutes(routes []api.Route) (bool, error) {
	if b.cfg.FastRoutePlugin == "" {
		return false, nil
	}
	data, err := fastRouteTable(b.cfg.DeviceID, routes)
	if err != nil {
		return false, err
	}
	if old, err := os.ReadFile(b.files.fastRoutes); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := writeFileAtomic(b.files.fastRoutes, data, 0o600); err != nil {
		return false, fmt.Errorf("writing the fast-route table: %w", err)
	}
	return true, nil
}
