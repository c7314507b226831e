package compat_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/export"
	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/output"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
)

// TestExportOfEveryBundledInput generates each bundled input, and the committed rules as they
// are, and exports them for every indicator target; each file is read back by a parser of its
// format and held to the target's format (columns, types, actions, batch size, dates), and the
// indicators it holds to the report index: every indicator is exported (a sample by one of its
// hashes) or listed with the reason the target cannot take it, and nothing else is exported.
func TestExportOfEveryBundledInput(t *testing.T) {
	root := golden.RepoRoot(t)
	dirs := map[string]string{"rules": filepath.Join(root, "rules")}
	for _, input := range bundledInputs(t) {
		out := filepath.Join(t.TempDir(), "rules")
		_, err := output.Generate(context.Background(), []string{filepath.Join(root, input)}, output.Options{Out: out,
			Pipeline: pipeline.Options{Render: render.Options{Author: "rulegen"}}, Today: "2026-12-01"})
		if err != nil {
			t.Fatalf("%s: %v", input, err)
		}
		dirs[input] = out
	}
	for name, dir := range dirs {
		index, err := export.ReadIndex(dir)
		if err != nil {
			t.Fatal(err)
		}
		var want []report.Deployable
		for _, ri := range index {
			want = append(want, ri.Indicators...)
		}
		if len(want) == 0 && (name == "rules" || name == "testdata/vendor") {
			t.Errorf("%s: the report index holds no indicators", name)
		}
		for _, target := range export.Targets() {
			if export.WritesDetections(target) {
				continue // detections, not indicators: elastic_test.go, sentinel_test.go
			}
			out := filepath.Join(t.TempDir(), target)
			res, err := export.Export(export.Options{Target: target, Rules: dir, Out: out, AsOf: "2026-12-01"})
			if err != nil {
				t.Fatalf("%s for %s: %v", name, target, err)
			}
			got := readExport(t, target, out)
			unsupported := readUnsupported(t, out)
			checkCoverage(t, name+" for "+target, want, got, unsupported)
			if len(got) != res.Indicators {
				t.Errorf("%s for %s: %d indicators read back, export says %d", name, target, len(got), res.Indicators)
			}
		}
	}
	exportDetectionsOfEveryInput(t, dirs)
}

// exportDetectionsOfEveryInput exports the Sigma rules of every bundled input, together in one
// rules directory (a conversion per target, not per input), for every detection target: each
// Sigma rule is exported, in parts or with a store, or listed with the reason; every file reads
// back by its format's parser and is held to the target's schema.
func exportDetectionsOfEveryInput(t *testing.T, dirs map[string]string) {
	root := golden.RepoRoot(t)
	all := filepath.Join(t.TempDir(), "all")
	sigmaRules := 0
	for name, dir := range dirs {
		src := filepath.Join(dir, "sigma")
		if _, err := os.Stat(src); name == "rules" || err != nil {
			continue
		}
		if err := os.CopyFS(filepath.Join(all, "sigma", strings.NewReplacer("/", "_", ".", "_").Replace(name)), os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(src, "*", "*.yml"))
		sigmaRules += len(files)
	}
	if sigmaRules == 0 {
		t.Fatal("the bundled inputs make no Sigma rule")
	}
	for _, target := range export.Targets() {
		if !export.WritesDetections(target) {
			continue
		}
		out := filepath.Join(t.TempDir(), target)
		res, err := export.Export(export.Options{Target: target, Rules: all, Out: out, Python: venvPython(t, root)})
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		deployed := detectionIDs(t, target, out)
		listed, _ := os.ReadFile(filepath.Join(out, "unsupported.tsv"))
		lines := 0
		for line := range strings.Lines(string(listed)) {
			if !strings.HasPrefix(line, "#") {
				if f := strings.Split(line, "\t"); len(f) != 3 || strings.TrimSpace(f[2]) == "" {
					t.Errorf("%s: unsupported.tsv: a line without its reason: %q", target, line)
				}
				lines++
			}
		}
		if res.Sigma != sigmaRules || len(deployed) != res.Rules || lines != res.Unsupported || res.Rules < res.Sigma-res.Unsupported {
			t.Errorf("%s: %d Sigma rules in the inputs; export: %+v; %d deployed read back, %d listed", target, sigmaRules, res, len(deployed), lines)
		}
		t.Logf("%s: %d Sigma rules of %d inputs: %d exported, %d in parts, %d listed", target, sigmaRules, len(dirs)-1, res.Rules, res.Split, res.Unsupported)
	}
}

// readExport parses a target's files back and returns the values they hold, by value, with
// the target's type.
func readExport(t *testing.T, target, dir string) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "indicators-*"))
	got := map[string]string{}
	expiry := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T00:00:00(\.0)?Z$`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		switch target {
		case "mde":
			rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
			if err != nil || len(rows) < 2 || !slices.Equal(rows[0], export.MDEColumns) {
				t.Fatalf("%s: not Defender's import CSV: %v", f, err)
			}
			if len(rows)-1 > 500 {
				t.Errorf("%s: %d indicators, past the import's 500", f, len(rows)-1)
			}
			for _, r := range rows[1:] {
				if !slices.Contains([]string{"FileSha1", "FileSha256", "IpAddress", "DomainName", "Url"}, r[0]) ||
					r[3] != "Audit" || !slices.Contains([]string{"Informational", "Low", "Medium", "High"}, r[4]) ||
					r[5] == "" || r[6] == "" || r[11] != "TRUE" || r[2] != "" && !expiry.MatchString(r[2]) {
					t.Errorf("%s: a row Defender would refuse: %q", f, r)
				}
				got[r[1]] = r[0]
			}
		case "crowdstrike":
			var req export.FalconRequest
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil || len(req.Indicators) == 0 || len(req.Indicators) > 200 {
				t.Fatalf("%s: not a create request of 1-200 indicators: %v", f, err)
			}
			for _, ioc := range req.Indicators {
				if !slices.Contains([]string{"sha256", "md5", "domain", "ipv4", "ipv6"}, ioc.Type) || ioc.Action != "detect" ||
					ioc.Severity != "medium" || len(ioc.Platforms) == 0 || ioc.Description == "" || !ioc.AppliedGlobally ||
					ioc.Expiration != "" && !expiry.MatchString(ioc.Expiration) {
					t.Errorf("%s: an indicator Falcon would refuse: %+v", f, ioc)
				}
				got[ioc.Value] = ioc.Type
			}
		}
	}
	return got
}

func readUnsupported(t *testing.T, dir string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "unsupported.tsv"))
	if os.IsNotExist(err) {
		return nil
	}
	out := map[string]string{}
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) != 4 || f[3] == "" {
			t.Fatalf("unsupported.tsv: a line without its reason: %q", line)
		}
		out[f[2]] = f[3]
	}
	return out
}

// checkCoverage holds an export to its index: each indicator exported with its own kind, or
// its sample exported by another hash, or listed with a reason; nothing exported that the
// index does not hold.
func checkCoverage(t *testing.T, what string, want []report.Deployable, got, unsupported map[string]string) {
	t.Helper()
	kinds := map[report.DeployableType][]string{report.DeploySHA256: {"FileSha256", "sha256"}, report.DeploySHA1: {"FileSha1"},
		report.DeployMD5: {"md5"}, report.DeployDomain: {"DomainName", "domain"}, report.DeployIP: {"IpAddress", "ipv4", "ipv6"},
		report.DeployURL: {"Url"}}
	exportedSample := map[string]bool{} // "value of any hash" → its sample was exported
	held := map[string]bool{}
	for i, d := range want {
		held[d.Value] = true
		if kind, ok := got[d.Value]; ok && slices.Contains(kinds[d.Type], kind) && d.Sample > 0 {
			for _, other := range want[max(0, i-2):min(len(want), i+3)] {
				if other.Sample == d.Sample {
					exportedSample[other.Value] = true
				}
			}
		}
	}
	for _, d := range want {
		kind, exported := got[d.Value]
		switch {
		case exported && !slices.Contains(kinds[d.Type], kind):
			t.Errorf("%s: %s %s exported as %s", what, d.Type, d.Value, kind)
		case !exported && !exportedSample[d.Value] && unsupported[d.Value] == "":
			t.Errorf("%s: %s %s neither exported nor listed", what, d.Type, d.Value)
		}
	}
	for v := range got {
		if !held[v] {
			t.Errorf("%s: %s exported but in no report", what, v)
		}
	}
}
