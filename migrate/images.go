package migrate

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// ImageMap says which container image replaces which V1 module. It is read
// from a JSON or YAML file holding one flat object of strings:
//
//	{
//	  "logger": "registry.local:5000/v1/logger:1.0",
//	  "libhello_world.so": "registry.local:5000/v1/hello-world:1.0"
//	}
//
// A key is a V1 module name, an entrypoint as written in the V1 file (for
// example "./modules/logger/liblogger.so" or
// "com/contoso/gateway/Printer"), or the file name of a path entrypoint
// ("liblogger.so"). For each module Lookup tries them in that order.
type ImageMap struct {
	images map[string]string
	used   map[string]bool
}

// ParseImageMap reads an image map. A name ending in .yaml or .yml is read
// as YAML, anything else as JSON. Every error is an *InputError of kind
// ErrImageMap, or ErrSyntax with the line and column for invalid JSON.
func ParseImageMap(name string, data []byte) (*ImageMap, error) {
	m := map[string]string{}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		var raw map[string]any
		if err := yaml.Unmarshal(data, &raw); err != nil {
			return nil, &InputError{ErrImageMap, name, err.Error()}
		}
		for k, v := range raw {
			s, ok := v.(string)
			if !ok {
				return nil, &InputError{ErrImageMap, name,
					fmt.Sprintf("the image for %q is not a string", k)}
			}
			m[k] = s
		}
	default:
		var raw map[string]any
		if err := unmarshal(name, data, &raw); err != nil {
			return nil, err
		}
		for k, v := range raw {
			s, ok := v.(string)
			if !ok {
				return nil, &InputError{ErrImageMap, name,
					fmt.Sprintf("the image for %q is not a string; the file is one object "+
						"of module name or entrypoint to image", k)}
			}
			m[k] = s
		}
	}

	for _, k := range slices.Sorted(maps.Keys(m)) {
		img := m[k]
		if img == "" || strings.ContainsAny(img, " \t\r\n") {
			return nil, &InputError{ErrImageMap, name,
				fmt.Sprintf("the image for %q is %q; want an image reference such as "+
					"registry.local:5000/logger:1.0", k, img)}
		}
	}
	return &ImageMap{images: m, used: map[string]bool{}}, nil
}

// Lookup returns the image for m and the key that matched. A nil map finds
// nothing.
func (im *ImageMap) Lookup(m *Module) (image, key string) {
	if im == nil {
		return "", ""
	}
	keys := []string{m.Name}
	if m.Entrypoint != "" {
		keys = append(keys, m.Entrypoint, baseName(m.Entrypoint))
	}
	for _, k := range keys {
		if img, ok := im.images[k]; ok {
			im.used[k] = true
			return img, k
		}
	}
	return "", ""
}

// byName returns the image for a module name only, for left-out modules
// that the user has replaced with a container of their own.
func (im *ImageMap) byName(name string) string {
	if im == nil {
		return ""
	}
	if img, ok := im.images[name]; ok {
		im.used[name] = true
		return img
	}
	return ""
}

// Unused lists the keys no Lookup matched, which are likely typos.
func (im *ImageMap) Unused() []string {
	if im == nil {
		return nil
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(im.images)) {
		if !im.used[k] {
			out = append(out, k)
		}
	}
	return out
}
