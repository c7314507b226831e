package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The packages stay layered as CONTRIBUTING draws them: a package imports only packages of a
// lower layer, so data flows one way (parse → normalise → render → checks → pipeline → the
// run's reports → output → the CLI → the binaries) and the tools under generate/internal use
// no stage and not the model.
func TestPackagesAreLayered(t *testing.T) {
	layer := func(pkg string) int {
		switch {
		case strings.HasPrefix(pkg, "generate/internal/"), pkg == "templates":
			return -1 // the tools: the engines may use them too
		case pkg == "generate/parse/stixpattern", pkg == "generate/normalize/warninglist",
			pkg == "generate/yara", pkg == "generate/sigma", pkg == "generate/config", pkg == "generate/synthfeed":
			return 0 // the engines: no stage, no model
		case pkg == "generate/report":
			return 1 // the model
		case pkg == "generate/parse", pkg == "generate/buildinfo":
			return 2
		case pkg == "generate/normalize", pkg == "generate/source":
			return 3
		case pkg == "generate/render", pkg == "generate/quarantine":
			return 4
		case pkg == "generate/pipeline", pkg == "generate/verify":
			return 5
		case pkg == "generate/runreport":
			return 6
		case pkg == "generate/output", pkg == "generate/export":
			return 7
		case pkg == "generate/compat":
			return 8 // tests only: they may use any stage
		case strings.HasPrefix(pkg, "cmd/") && strings.Count(pkg, "/") > 1: // cmd/rulegen/cli
			return 8
		case strings.HasPrefix(pkg, "cmd/"):
			return 9
		}
		t.Fatalf("%s has no layer: give it one in this test and in CONTRIBUTING", pkg)
		return -1
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "../../...").Output()
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/rulegen/rulegen/"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		pkg = strings.TrimPrefix(pkg, module)
		for _, imp := range strings.Fields(imports) {
			if dep, ours := strings.CutPrefix(imp, module); ours && layer(dep) >= layer(pkg) {
				t.Errorf("%s (layer %d) imports %s (layer %d)", pkg, layer(pkg), dep, layer(dep))
			}
		}
	}
}
