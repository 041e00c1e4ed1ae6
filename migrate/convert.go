package migrate

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/edgeplane/edgeplane/hub/api"
)

// SinkInput is the input every route delivers to. A V1 module had a single
// receive callback for everything linked to it, so one input per module
// keeps that behaviour; port the module to read input "input1".
const SinkInput = "input1"

// ArgsKey is the desired property that holds V1 args that are not a JSON
// object (a string, an array, a number), or an object with a key that
// Edgeplane reserves (starting with '$'): {"args": <value>}.
const ArgsKey = "args"

// Status is the outcome for one V1 item in the summary.
type Status int

const (
	// Migrated: generated, nothing left to do.
	Migrated Status = iota
	// Attention: generated, but the user must act (see Item.Actions).
	Attention
	// LeftOut: not generated; Item.Notes say what to do instead.
	LeftOut
)

func (s Status) String() string {
	switch s {
	case Migrated:
		return "migrated"
	case Attention:
		return "needs attention"
	default:
		return "left out"
	}
}

// Item is one row of the summary: a V1 module, link or section.
type Item struct {
	Subject string // `module "logger"`, `links[0] * -> Logger`
	Result  string // what was generated, or why nothing was
	// Actions are what the user must do; any action makes the item
	// Attention. Notes explain without asking anything.
	Actions, Notes []string
	leftOut        bool
}

// Status is LeftOut for left-out items, else Attention when there is an
// action, else Migrated.
func (it *Item) Status() Status {
	switch {
	case it.leftOut:
		return LeftOut
	case len(it.Actions) > 0:
		return Attention
	default:
		return Migrated
	}
}

// Options tune Convert.
type Options struct {
	// Source is the V1 file's name as shown in the output ("gateway.json").
	Source string
	// DeviceID is the Edgeplane device id; when empty it comes from the
	// V1 "gateway" connection string, else from a required variable.
	DeviceID string
	// Images maps modules to container images; nil means none known.
	Images *ImageMap
}

// Plan is what Convert decided; Files renders it.
type Plan struct {
	Source string
	// DeviceID is the device id, or "" when var.device_id supplies it.
	DeviceID  string
	Modules   []*PlannedModule
	Routes    []*PlannedRoute
	Upstream  *PlannedUpstream
	Variables []Variable
	Items     []*Item
	// Suggestions are routes that would bypass a left-out module, for the
	// user to consider; they are not generated.
	Suggestions []Suggestion

	linkItems     map[int]*Item   // by link index
	upstreamNames map[string]bool // V1 names of the IoT Hub modules
}

// PlannedModule is an edgeplane_module (and maybe a twin) for a V1 module.
type PlannedModule struct {
	V1    *Module
	Name  string // Edgeplane module name (api.IDPattern)
	Label string // Terraform resource label
	// Image is the container image; when empty, ImageVar names the
	// required variable that supplies it.
	Image, ImageVar string
	// Desired is the twin's desired properties, nil for no twin.
	Desired *Value
}

// PlannedRoute is an edgeplane_route for a link.
type PlannedRoute struct {
	Name, Label, Text string
	Source            *PlannedModule
	Sink              *PlannedModule // nil for $upstream
	Link              *Link
}

// PlannedUpstream is the edgeplane_device_upstream made from the V1 IoT Hub
// module.
type PlannedUpstream struct {
	V1 *Module
	// URL is the broker URL; when empty, URLVar names the variable.
	URL, URLVar string
}

// Variable is a required Terraform input variable.
type Variable struct {
	Name, Description string
}

// Suggestion is a route that would replace a path through a left-out module.
type Suggestion struct {
	Via   string // the left-out module
	Links []int  // the links the path used
	Route string
}

// Convert plans the Edgeplane configuration for gw. It fails, with an
// *InputError, only when the device id is invalid or two module names
// become the same Edgeplane name; everything else is reported in the plan.
func Convert(gw *Gateway, opts Options) (*Plan, error) {
	p := &Plan{Source: opts.Source}
	if p.Source == "" {
		p.Source = "gateway.json"
	}

	// The device and where its id comes from.
	if err := p.planDevice(gw, opts.DeviceID); err != nil {
		return nil, err
	}

	// Modules: container, $upstream or left out.
	byName, err := p.planModules(gw, opts.Images)
	if err != nil {
		return nil, err
	}

	// Links become routes.
	p.planRoutes(gw, byName)
	p.suggest(gw, byName)

	// Image map entries nobody used are likely typos.
	if unused := opts.Images.Unused(); len(unused) > 0 {
		p.Items = append(p.Items, &Item{
			Subject: "image map",
			Result:  "entries not used",
			Actions: []string{fmt.Sprintf("No module matched the image map keys %s; check them "+
				"against the module names and entrypoints of %s.", quoteList(unused), p.Source)},
		})
	}
	return p, nil
}

// deviceIDInConnectionString finds DeviceId=... in an IoT Hub connection
// string.
var deviceIDInConnectionString = regexp.MustCompile(`(?i)(?:^|;)\s*DeviceId=([^;]*)`)

func (p *Plan) planDevice(gw *Gateway, flagID string) error {
	it := &Item{Subject: "gateway device", Result: "edgeplane_device.gateway"}
	p.Items = append(p.Items, it)
	switch {
	case flagID != "":
		if !api.IDPattern.MatchString(flagID) {
			return &InputError{ErrDeviceID, "--device-id", fmt.Sprintf("%q: want 1 to 128 letters, "+
				"digits, '.', '_' or '-', starting with a letter or digit", flagID)}
		}
		p.DeviceID = flagID
		it.Notes = append(it.Notes, fmt.Sprintf("Device id %q from --device-id.", flagID))
	default:
		m := deviceIDInConnectionString.FindStringSubmatch(gw.ConnectionString)
		if m != nil && !placeholder(m[1]) && api.IDPattern.MatchString(strings.TrimSpace(m[1])) {
			p.DeviceID = strings.TrimSpace(m[1])
			it.Notes = append(it.Notes, fmt.Sprintf("Device id %q from the DeviceId of the V1 "+
				`"gateway" connection string.`, p.DeviceID))
			break
		}
		p.Variables = append(p.Variables, Variable{"device_id",
			"Edgeplane device id of the migrated gateway: 1 to 128 letters, digits, '.', '_' or '-'."})
		it.Actions = append(it.Actions, "Set var.device_id to the gateway's Edgeplane device id "+
			"(or run the tool again with --device-id).")
	}

	if gw.ConnectionString != "" {
		p.Items = append(p.Items, &Item{
			Subject: `"gateway" section`,
			Result:  "not needed",
			leftOut: true,
			Notes: []string{"V1 used this IoT Hub connection for remote configuration of the " +
				"gateway. An Edgeplane gateway long-polls its desired state from the Edgeplane hub " +
				"with its own device key (edgeplane_device.gateway.connection_info); no IoT Hub " +
				"connection is needed for that."},
		})
	}
	return nil
}

func (p *Plan) planModules(gw *Gateway, images *ImageMap) (map[string]*PlannedModule, error) {
	p.upstreamNames = map[string]bool{}
	byName := map[string]*PlannedModule{} // V1 name → planned container module
	edgeNames := map[string]string{}      // Edgeplane name → V1 name
	labels := map[string]bool{}

	for i := range gw.Modules {
		m := &gw.Modules[i]
		b, known := classify(m)
		it := &Item{Subject: fmt.Sprintf("module %q", m.Name)}
		p.Items = append(p.Items, it)

		// A left-out module that the image map names was replaced by the
		// user with a container of their own.
		if b.role == RoleLeftOut && images.byName(m.Name) != "" {
			it.Notes = append(it.Notes, "V1: "+b.what+". It has no Edgeplane equivalent; the "+
				"image map names a container to replace it, so it is migrated as that container.")
			b = builtin{role: RoleModule}
		}

		switch b.role {
		case RoleUpstream:
			p.upstreamNames[m.Name] = true
			p.planUpstream(m, it)
			continue
		case RoleLeftOut:
			it.leftOut = true
			it.Result = "no Edgeplane equivalent"
			it.Notes = append(it.Notes, "V1: "+b.what+".", "Instead: "+b.advice+".")
			continue
		}

		// A container module: name, label, image, twin.
		pm := &PlannedModule{V1: m, Name: edgeName(m.Name)}
		if pm.Name == "" {
			return nil, &InputError{ErrNameCollision, m.Where(),
				"the name has no letter or digit to make an Edgeplane module name from"}
		}
		if other, dup := edgeNames[pm.Name]; dup {
			return nil, &InputError{ErrNameCollision, m.Where(), fmt.Sprintf(
				"both %q and %q become the Edgeplane module name %q; rename one in the V1 file",
				other, m.Name, pm.Name)}
		}
		edgeNames[pm.Name] = m.Name
		if pm.Name != m.Name {
			it.Notes = append(it.Notes, fmt.Sprintf("Named %q: Edgeplane module names are "+
				"letters, digits, '.', '_' and '-'.", pm.Name))
		}
		pm.Label = uniqueName(label(pm.Name), labels)

		p.planImage(pm, images, it)
		p.planTwin(pm, it)
		if m.LoaderType == LoaderDotnet {
			it.Notes = append(it.Notes, "The dotnet loader ran .NET Framework assemblies, "+
				"which need Windows: port the module to current .NET to run it in a Linux container.")
		}
		if known && b.advice != "" {
			it.Notes = append(it.Notes, "V1: "+b.what+"; "+b.advice+".")
		}
		it.Result = "edgeplane_module." + pm.Label
		if pm.Desired != nil {
			it.Result += " + twin"
		}
		p.Modules = append(p.Modules, pm)
		byName[m.Name] = pm
	}
	return byName, nil
}

func (p *Plan) planImage(pm *PlannedModule, images *ImageMap, it *Item) {
	m := pm.V1
	if img, key := images.Lookup(m); img != "" {
		pm.Image = img
		if key != m.Name {
			it.Notes = append(it.Notes, fmt.Sprintf("Image %s from the image map entry %q.", img, key))
		}
		return
	}
	if img := images.byName(m.Name); img != "" {
		pm.Image = img
		return
	}

	pm.ImageVar = "image_" + pm.Label
	from := m.LoaderType + " loader"
	if m.Entrypoint != "" {
		from += ", " + m.EntrypointKey + " " + m.Entrypoint
	}
	p.Variables = append(p.Variables, Variable{pm.ImageVar, fmt.Sprintf(
		"Container image for module %q (V1: %s).", pm.Name, from)})
	it.Actions = append(it.Actions, fmt.Sprintf("Set var.%s: build the module's code (V1: %s) "+
		"into a container image that uses the Edgeplane bus, push it to a registry the gateway "+
		"can pull from, or add it to the image map and run the tool again.", pm.ImageVar, from))
}

func (p *Plan) planTwin(pm *PlannedModule, it *Item) {
	args := pm.V1.Args
	if args == nil {
		return
	}

	// An object is the desired properties as is; anything else, or an
	// object with a reserved key, goes under ArgsKey.
	desired := *args
	reserved := false
	for _, m := range args.Members {
		reserved = reserved || strings.HasPrefix(m.Key, "$")
	}
	if args.Kind != Object || reserved {
		desired = Value{Kind: Object, Members: []Member{{Key: ArgsKey, Value: *args}}}
		why := "are not a JSON object"
		if reserved {
			why = "have a key starting with '$', which twins reserve"
		}
		it.Notes = append(it.Notes, fmt.Sprintf("The V1 args %s, so the twin holds them under "+
			"the desired property %q.", why, ArgsKey))
	}
	pm.Desired = &desired

	// Values the user must look at before they reach a device.
	desired.walk("", func(path string, m *Member) {
		if m.Value.Kind == String && placeholder(m.Value.String) {
			it.Actions = append(it.Actions, fmt.Sprintf("Replace the V1 sample placeholder %q "+
				"in the twin's %s (edgeplane_module_twin.%s).", m.Value.String, path, pm.Label))
		}
		if secretKey(m.Key) && m.Value.Kind == String && !placeholder(m.Value.String) {
			it.Actions = append(it.Actions, fmt.Sprintf("The twin's %s looks like a credential: "+
				"desired properties are stored by the hub and shown by terraform plan. Pass it "+
				"to the module through env from a sensitive variable instead.", path))
		}
	})
}

func (p *Plan) planUpstream(m *Module, it *Item) {
	it.Result = "$upstream"
	if p.Upstream != nil {
		it.Result = "$upstream (settings of " + fmt.Sprintf("%q", p.Upstream.V1.Name) + ")"
		it.Actions = append(it.Actions, fmt.Sprintf("A second IoT Hub module: Edgeplane has one "+
			"upstream per device, configured from module %q. Check that both sent to the same "+
			"place.", p.Upstream.V1.Name))
		return
	}
	it.Result = "$upstream + edgeplane_device_upstream.gateway"

	up := &PlannedUpstream{V1: m}
	p.Upstream = up
	name, suffix := m.Args.Str("IoTHubName"), m.Args.Str("IoTHubSuffix")
	if name != "" && suffix != "" && !placeholder(name) && !placeholder(suffix) {
		up.URL = "mqtts://" + name + "." + suffix + ":8883"
		it.Actions = append(it.Actions, fmt.Sprintf("Check the upstream url %s: it was made "+
			"from IoTHubName and IoTHubSuffix. Edgeplane speaks MQTT 3.1.1 to an MQTT broker and "+
			"publishes under its topic_prefix, which IoT Hub's own MQTT endpoint does not "+
			"accept: point url at your broker, or at an MQTT bridge into IoT Hub.", up.URL))
	} else {
		up.URLVar = "upstream_url"
		p.Variables = append(p.Variables, Variable{up.URLVar, "URL of the MQTT broker that " +
			"receives the gateway's $upstream messages (mqtts://host:8883). Edgeplane speaks " +
			"MQTT 3.1.1 to a broker, not the IoT Hub protocol."})
		it.Actions = append(it.Actions, "Set var.upstream_url to your MQTT broker "+
			"(mqtts://host:8883): the V1 IoTHubName and IoTHubSuffix are missing or sample "+
			"placeholders. Edgeplane speaks MQTT 3.1.1 to a broker, not the IoT Hub protocol.")
	}
	it.Actions = append(it.Actions, "Review the upstream credentials: none are carried over "+
		"(V1 used the IoT Hub device keys of the identity map). Set username and password, or "+
		"client_certificate and client_key, on edgeplane_device_upstream.gateway.")

	if t := m.Args.Str("Transport"); t != "" && !strings.EqualFold(t, "mqtt") {
		it.Notes = append(it.Notes, fmt.Sprintf("V1 used the %s transport; Edgeplane's "+
			"upstream is MQTT (over TLS with mqtts://).", t))
	}
	if r := m.Args.Str("RetryPolicy"); r != "" {
		it.Notes = append(it.Notes, fmt.Sprintf("RetryPolicy %s is not carried over: Edgeplane "+
			"keeps $upstream messages in an on-disk queue and retries until they are delivered or "+
			"their time to live (default_time_to_live_seconds) runs out.", r))
	}
}

// routeSet collects routes, one per source and sink, with unique names.
type routeSet struct {
	p             *Plan
	made          map[[2]string]*PlannedRoute // by source and sink name
	names, labels map[string]bool
}

// add returns the route from src to sink (nil for $upstream) and whether it
// is new; an existing one is returned as it is.
func (rs *routeSet) add(l *Link, src, sink *PlannedModule) (*PlannedRoute, bool) {
	k := [2]string{src.Name, "$upstream"}
	if sink != nil {
		k[1] = sink.Name
	}
	if r, dup := rs.made[k]; dup {
		return r, false
	}
	r := &PlannedRoute{Source: src, Sink: sink, Link: l}
	to := "upstream"
	r.Text = fmt.Sprintf("FROM /messages/modules/%s/* INTO $upstream", src.Name)
	if sink != nil {
		to = sink.Name
		r.Text = fmt.Sprintf(`FROM /messages/modules/%s/* INTO BrokeredEndpoint("/modules/%s/inputs/%s")`,
			src.Name, sink.Name, SinkInput)
	}
	r.Name = uniqueName(routeName(src.Name, to), rs.names)
	r.Label = uniqueName(label(r.Name), rs.labels)
	rs.made[k] = r
	rs.p.Routes = append(rs.p.Routes, r)
	return r, true
}

// planRoutes makes one route per link (several for a "*" source) and one
// summary item per link.
func (p *Plan) planRoutes(gw *Gateway, byName map[string]*PlannedModule) {
	rs := &routeSet{p: p, made: map[[2]string]*PlannedRoute{}, names: map[string]bool{},
		labels: map[string]bool{}}
	p.linkItems = map[int]*Item{}
	for i := range gw.Links {
		l := &gw.Links[i]
		it := &Item{Subject: fmt.Sprintf("links[%d] %s -> %s", l.Index, l.Source, l.Sink)}
		p.Items = append(p.Items, it)
		p.linkItems[l.Index] = it
		if p.linkLeftOut(l, it, byName) {
			continue
		}

		// The sources: one module, or every other one for "*".
		sink := byName[l.Sink] // nil for $upstream
		sources := []*PlannedModule{byName[l.Source]}
		var skipped []string
		if l.Source == "*" {
			sources = nil
			for j := range gw.Modules {
				name := gw.Modules[j].Name
				if src, ok := byName[name]; ok && name != l.Sink {
					sources = append(sources, src)
				} else if name != l.Sink {
					skipped = append(skipped, name)
				}
			}
		}

		// The routes, leaving out loops and routes made before.
		var routes, dups []string
		for _, src := range sources {
			if src == sink {
				it.leftOut = true
				it.Result = "a module linked to itself"
				it.Notes = append(it.Notes, "A route from a module into its own input would "+
					"loop; V1 never delivered a module's messages back to it.")
				continue
			}
			if r, isNew := rs.add(l, src, sink); isNew {
				routes = append(routes, "edgeplane_route."+r.Label)
			} else {
				dups = append(dups, fmt.Sprintf("edgeplane_route.%s (from %s)", r.Label, r.Link.Where()))
			}
		}
		if it.leftOut {
			continue
		}

		// What the summary says.
		switch {
		case len(routes) == 0 && len(dups) == 0:
			it.leftOut = true
			it.Result = "no module to route from"
		case len(routes) == 0:
			it.Result = "already routed"
		case len(routes) == 1:
			it.Result = routes[0]
		default:
			it.Result = fmt.Sprintf("%d routes", len(routes))
		}
		if l.Source == "*" {
			it.Notes = append(it.Notes, fmt.Sprintf(`"*" means every other module: %s.`,
				orNone(strings.Join(routes, ", "))))
			if len(skipped) > 0 {
				it.Notes = append(it.Notes, fmt.Sprintf("No route from %s: left out or the IoT "+
					"Hub module.", quoteList(skipped)))
			}
		}
		if len(dups) > 0 {
			it.Notes = append(it.Notes, "Already routed by "+strings.Join(dups, ", ")+".")
		}
	}
}

// linkLeftOut reports, and explains in it, whether l touches a module that
// Edgeplane does not have, or carries cloud-to-device messages.
func (p *Plan) linkLeftOut(l *Link, it *Item, byName map[string]*PlannedModule) bool {
	leftOut := func(result, note string) bool {
		it.leftOut = true
		it.Result = result
		it.Notes = append(it.Notes, note)
		return true
	}
	isModule := func(name string) bool { _, ok := byName[name]; return ok }

	switch {
	case !isModule(l.Sink) && !p.upstreamNames[l.Sink]:
		return leftOut(fmt.Sprintf("sink %q is left out", l.Sink), fmt.Sprintf("Module %q is "+
			"left out (see its entry), so this link is not turned into a route.", l.Sink))
	case l.Source == "*":
		return false
	case p.upstreamNames[l.Source]:
		return leftOut("cloud-to-device", fmt.Sprintf("In V1 %q passed messages from IoT Hub "+
			"(cloud-to-device) to %q. Edgeplane's $upstream only sends: give the module its "+
			"commands as twin desired properties from Terraform, or through a module that "+
			"subscribes to your broker.", l.Source, l.Sink))
	case !isModule(l.Source):
		return leftOut(fmt.Sprintf("source %q is left out", l.Source), fmt.Sprintf("Module %q "+
			"is left out (see its entry), so this link is not turned into a route.", l.Source))
	}
	return false
}

// suggest finds paths A -> M -> IoT Hub through a left-out module M (the
// identity map, typically) and proposes the route from A to $upstream, which
// the user may want once they have replaced what M did. Paths that end at
// another module are not suggested: in V1 those carried cloud-to-device
// commands that M addressed by MAC address, which a plain route cannot do.
// Routes already generated are not suggested.
func (p *Plan) suggest(gw *Gateway, byName map[string]*PlannedModule) {
	existing := map[string]bool{}
	for _, r := range p.Routes {
		existing[r.Text] = true
	}
	leftOut := func(name string) bool { _, ok := byName[name]; return !ok && !p.upstreamNames[name] }

	for i := range gw.Modules {
		via := gw.Modules[i].Name
		if !leftOut(via) {
			continue
		}
		for _, in := range gw.Links {
			src, ok := byName[in.Source]
			if in.Sink != via || !ok {
				continue
			}
			for _, out := range gw.Links {
				if out.Source != via || !p.upstreamNames[out.Sink] {
					continue
				}
				text := fmt.Sprintf("FROM /messages/modules/%s/* INTO $upstream", src.Name)
				if existing[text] {
					continue
				}
				existing[text] = true
				p.Suggestions = append(p.Suggestions, Suggestion{Via: via,
					Links: []int{in.Index, out.Index}, Route: text})
				for _, i := range []int{in.Index, out.Index} {
					const note = "A direct route may replace the path through it: see Routes " +
						"you may want."
					if it := p.linkItems[i]; it != nil && !slices.Contains(it.Notes, note) {
						it.Notes = append(it.Notes, note)
					}
				}
			}
		}
	}
}

// edgeName makes a V1 module name a valid Edgeplane name (api.IDPattern):
// every run of other characters becomes '-', and leading '.', '_' and '-'
// go.
func edgeName(v1 string) string {
	var b strings.Builder
	dash := false
	for _, r := range v1 {
		ok := r < 128 && (r == '.' || r == '_' || r == '-' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimLeft(b.String(), ".-_")
	s = strings.TrimRight(s, "-")
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

// label makes a Terraform resource label: lower case letters, digits and
// '_', not starting with a digit.
func label(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "m_" + s
	}
	return s
}

// uniqueName returns s, or s with the first free suffix 2, 3, ... joined by
// '_' or '-' (whichever s uses), and marks it used.
func uniqueName(s string, used map[string]bool) string {
	sep := "_"
	if strings.Contains(s, "-") {
		sep = "-"
	}
	out := s
	for n := 2; used[out]; n++ {
		out = fmt.Sprintf("%s%s%d", s, sep, n)
	}
	used[out] = true
	return out
}

// routeName is "<source>-to-<sink>", kept within api.IDPattern's 128.
func routeName(src, sink string) string {
	n := src + "-to-" + sink
	if len(n) > 120 {
		n = n[:120]
	}
	return n
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
