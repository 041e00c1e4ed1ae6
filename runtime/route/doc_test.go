package route

import (
	"os"
	"strings"
	"testing"
)

// TestDocExamples parses every route in the Examples of docs/routes.md.
func TestDocExamples(t *testing.T) {
	data, err := os.ReadFile("../../docs/routes.md")
	if err != nil {
		t.Fatal(err)
	}
	_, examples, ok := strings.Cut(string(data), "\n## Examples\n")
	if !ok {
		t.Fatal("docs/routes.md has no Examples section")
	}
	examples, _, _ = strings.Cut(examples, "\n## ")
	n := 0
	for _, line := range strings.Split(examples, "\n") {
		if !strings.HasPrefix(line, "FROM ") {
			continue
		}
		n++
		if _, err := Parse(line); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	if n < 5 {
		t.Errorf("found %d example routes, want at least 5", n)
	}
}
