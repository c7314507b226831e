package source_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Pulling writes reports, never rules: rulegen pull links none of the rule machinery (libyara
// through cgo, the templates, the renderer, the pipeline, the rules output).
func TestPullLinksNoRuleMachinery(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"/generate/yara", "/generate/sigma", "/generate/render", "/generate/pipeline", "/generate/output", "/templates", "hillu/go-yara"} {
			if strings.HasSuffix(pkg, banned) || strings.Contains(pkg, "hillu/go-yara") {
				t.Errorf("generate/source depends on %s", pkg)
			}
		}
	}
}
