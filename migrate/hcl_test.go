package migrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// schemaAttributes reads the resource attributes that
// docs/design/provider-schema.md, the contract with the provider, lists.
func schemaAttributes(t *testing.T) map[string]map[string]bool {
	t.Helper()
	f, err := os.Open("../docs/design/provider-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	resource := regexp.MustCompile(`^resource "(edgeplane_[a-z_]+)" "[a-z_]+" \{`)
	attribute := regexp.MustCompile(`^  ([a-z_]+)\s+=`)
	out := map[string]map[string]bool{}
	var cur map[string]bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := resource.FindStringSubmatch(line); m != nil {
			cur = map[string]bool{}
			out[m[1]] = cur
			continue
		}
		if strings.HasPrefix(line, "}") {
			cur = nil
			continue
		}
		if m := attribute.FindStringSubmatch(line); m != nil && cur != nil {
			cur[m[1]] = true
		}
	}
	if len(out) < 5 {
		t.Fatalf("read %d resources from provider-schema.md, want at least 5; has its layout changed?", len(out))
	}
	return out
}

// required are the attributes without which a resource means nothing.
var required = map[string][]string{
	"edgeplane_device":          {"device_id"},
	"edgeplane_device_upstream": {"device_id", "url"},
	"edgeplane_module":          {"device_id", "name", "image"},
	"edgeplane_module_twin":     {"device_id", "module", "desired"},
	"edgeplane_route":           {"device_id", "name", "route"},
}

// TestSchemaContract checks every generated resource against
// docs/design/provider-schema.md: the resource type exists there and every
// attribute the tool sets is one it lists.
func TestSchemaContract(t *testing.T) {
	schema := schemaAttributes(t)
	meta := map[string]bool{"depends_on": true}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			for _, f := range migrateExample(t, ex.name, ex.images, ex.deviceID).Files() {
				if !strings.HasSuffix(f.Name, ".tf") {
					continue
				}
				file, diags := hclsyntax.ParseConfig(f.Data, f.Name, hcl.InitialPos)
				if diags.HasErrors() {
					t.Fatalf("%s does not parse: %s", f.Name, diags.Error())
				}
				for _, b := range file.Body.(*hclsyntax.Body).Blocks {
					if b.Type != "resource" {
						continue
					}
					typ := b.Labels[0]
					attrs, ok := schema[typ]
					if !ok {
						t.Errorf("%s: resource type %s is not in provider-schema.md", f.Name, typ)
						continue
					}
					for name := range b.Body.Attributes {
						if !attrs[name] && !meta[name] {
							t.Errorf("%s: %s.%s sets %q, which provider-schema.md does not list",
								f.Name, typ, b.Labels[1], name)
						}
					}
					for _, name := range required[typ] {
						if _, ok := b.Body.Attributes[name]; !ok {
							t.Errorf("%s: %s.%s has no %q", f.Name, typ, b.Labels[1], name)
						}
					}
				}
			}
		})
	}
}

// TestFormatted checks that every generated .tf file is already in the
// canonical layout that terraform fmt produces (both use hclwrite.Format).
func TestFormatted(t *testing.T) {
	for _, ex := range examples {
		for _, f := range migrateExample(t, ex.name, ex.images, ex.deviceID).Files() {
			if strings.HasSuffix(f.Name, ".tf") && !bytes.Equal(hclwrite.Format(f.Data), f.Data) {
				t.Errorf("%s/%s: got output that hclwrite.Format changes", ex.name, f.Name)
			}
		}
	}
}

// TestDesiredRoundTrip checks that jsonencode of the generated expression
// gives back the V1 args, for the awkward cases: template sequences, keys
// that are not identifiers, keywords as keys, nesting, numbers.
func TestDesiredRoundTrip(t *testing.T) {
	inputs := []string{
		`{"filename": "log.txt"}`,
		`{"template": "${weight} kg %{if x}", "path": "C:\\gw\\log.txt", "multi": "a\nb\t\"c\""}`,
		`{"module.path": 1, "null": null, "true": true, "false": false, "9lives": 9, "a b": "x", "$x": "y"}`,
		`{"n": [-1, 0, 2.5, 1e3, 12345678901234567890, -0.000001]}`,
		`{"instructions": [{"type": "read_once", "uuid": "00002A24"}, {"type": "write", "data": "AQ=="}], "empty": [], "obj": {}}`,
		`{"nested": [[1, 2], [], [{"a": [null]}]], "unicode": "Grüße ✓"}`,
		`{}`,
	}
	ctx := &hcl.EvalContext{Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc}}
	for _, in := range inputs {
		v, err := decodeValue([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		f := hclwrite.NewEmptyFile()
		f.Body().SetAttributeRaw("desired", hclwrite.TokensForFunctionCall("jsonencode", valueTokens(v)))
		src := hclwrite.Format(f.Bytes())

		file, diags := hclsyntax.ParseConfig(src, "t.tf", hcl.InitialPos)
		if diags.HasErrors() {
			t.Errorf("%s: generated HCL does not parse: %s\n%s", in, diags.Error(), src)
			continue
		}
		attr := file.Body.(*hclsyntax.Body).Attributes["desired"]
		got, diags := attr.Expr.Value(ctx)
		if diags.HasErrors() {
			t.Errorf("%s: evaluating: %s\n%s", in, diags.Error(), src)
			continue
		}
		if got.Type() != cty.String {
			t.Fatalf("got a %s, want a string", got.Type().FriendlyName())
		}
		var gotV, wantV any
		if err := json.Unmarshal([]byte(got.AsString()), &gotV); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(in), &wantV); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotV, wantV) {
			t.Errorf("jsonencode gave %s, want the same as %s\nfrom:\n%s", got.AsString(), in, src)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aaa bbb ccc "+strings.Repeat("x", 12)+" d", 8)
	want := []string{"aaa bbb", "ccc", strings.Repeat("x", 12), "d"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
