package provider

import (
	"bufio"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// TestSchemaContract checks the provider against
// docs/design/provider-schema.md, the schema `edgeplane migrate` generates
// configuration for: every resource there exists here with every attribute
// the document sets, and the import id form the document gives.
func TestSchemaContract(t *testing.T) {
	f, err := os.Open("../docs/design/provider-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// Read resource "type" "name" { ... } blocks and their attributes.
	block := regexp.MustCompile(`^resource "(edgeplane_[a-z_]+)" "[a-z_]+" \{(?:\s+# import: (\S+))?`)
	attribute := regexp.MustCompile(`^  ([a-z_]+)\s+=`)
	want := map[string][]string{}
	imports := map[string]string{}
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := block.FindStringSubmatch(line); m != nil {
			cur = m[1]
			want[cur] = nil
			imports[cur] = m[2]
			continue
		}
		if strings.HasPrefix(line, "}") {
			cur = ""
			continue
		}
		if m := attribute.FindStringSubmatch(line); m != nil && cur != "" {
			want[cur] = append(want[cur], m[1])
		}
	}
	if len(want) != 6 {
		t.Fatalf("read %d resources from provider-schema.md, want 6", len(want))
	}

	got := map[string]resource.Resource{}
	for _, newRes := range New("test")().Resources(context.Background()) {
		r := newRes()
		var meta resource.MetadataResponse
		r.Metadata(context.Background(), resource.MetadataRequest{ProviderTypeName: "edgeplane"}, &meta)
		got[meta.TypeName] = r
	}
	for typ, attrs := range want {
		t.Run(typ, func(t *testing.T) {
			r, ok := got[typ]
			if !ok {
				t.Fatalf("provider has no resource %s", typ)
			}
			var s resource.SchemaResponse
			r.Schema(context.Background(), resource.SchemaRequest{}, &s)
			for _, a := range append(attrs, "id") {
				if _, ok := s.Schema.Attributes[a]; !ok {
					t.Errorf("%s has no attribute %q", typ, a)
				}
			}
			// The documented import form is what the id attribute says.
			if imp := imports[typ]; imp != "" &&
				!strings.Contains(s.Schema.Attributes["id"].GetMarkdownDescription(), imp) {
				t.Errorf("%s id: got description %q, want it to name the import id %s", typ,
					s.Schema.Attributes["id"].GetMarkdownDescription(), imp)
			}
		})
	}
}
