package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/pysigma"
	"github.com/rulegen/rulegen/generate/internal/yarax"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/sigma"
	"github.com/rulegen/rulegen/generate/verify"
)

// The rules users load go through the Sigma ecosystem's own tools (sigma-cli, pySigma and its
// backends) and through other YARA engines than Debian's libyara 4.2; these tests hold every
// bundled input's rules, in every YARA layout, to what those tools accept.

// bundledInputs are the inputs the repository carries, each generated on its own.
func bundledInputs(t *testing.T) []string {
	root := golden.RepoRoot(t)
	inputs := []string{"testdata/reports", "testdata/feeds/chrome-mal-ids", "testdata/vendor"}
	bundles, err := filepath.Glob(filepath.Join(root, "testdata", "stix", "*.json"))
	if err != nil || len(bundles) == 0 {
		t.Fatalf("no STIX bundles: %v", err)
	}
	for _, b := range bundles {
		inputs = append(inputs, filepath.ToSlash(strings.TrimPrefix(b, root+string(filepath.Separator))))
	}
	return inputs
}

// TestEcosystemAcceptsEveryOutput generates each bundled input in each YARA layout and holds
// the output to the tools that load it: the Sigma rules, the same in every layout, pass `sigma
// check --fail-on-error --fail-on-issues` under testdata/pysigma/sigma-check.yml and convert for
// every SIEM target but where the target has no table or field for the log source; the YARA
// rules compile with no error and no warning in the three engines: libyara 4.2 (generate's own
// check), yara-python's libyara 4.5, file by file and together, and YARA-X.
func TestEcosystemAcceptsEveryOutput(t *testing.T) {
	root := golden.RepoRoot(t)
	for _, input := range bundledInputs(t) {
		t.Run(strings.ReplaceAll(input, "/", "_"), func(t *testing.T) {
			var sigmaTree map[string][]byte
			for _, layout := range []render.Layout{render.LayoutFast, render.LayoutReadable, render.LayoutFeed} {
				dir := t.TempDir()
				files := writeOutput(t, filepath.Join(root, input), layout, dir)
				yaraAccepted(t, root, filepath.Join(dir, "yara"), layout)
				yaraxAccepted(t, root, filepath.Join(dir, "yara"), layout)
				if sigmaTree == nil {
					sigmaTree = files
					if len(files) > 0 {
						sigmaAccepted(t, root, filepath.Join(dir, "sigma"))
					}
				} else if !maps.EqualFunc(sigmaTree, files, bytes.Equal) {
					t.Errorf("layout %s writes other Sigma rules", layout)
				}
			}
		})
	}
}

// TestCommittedRulesPassSigmaCheck: rules/ as committed, under the committed config.
func TestCommittedRulesPassSigmaCheck(t *testing.T) {
	root := golden.RepoRoot(t)
	if out, err := pysigma.Check(root, filepath.Join(root, "rules", "sigma")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// writeOutput writes the rules of one input to dir and returns its Sigma files by path.
func writeOutput(t *testing.T, input string, layout render.Layout, dir string) map[string][]byte {
	t.Helper()
	inputs, err := pipeline.Inputs([]string{input})
	if err != nil {
		t.Fatal(err)
	}
	_, files, err := pipeline.Collect(context.Background(), inputs, pipeline.Options{Render: render.Options{Author: "rulegen", Layout: layout}})
	if err != nil {
		t.Fatal(err)
	}
	sigmaFiles := map[string][]byte{}
	for _, f := range files {
		golden.WriteFile(t, filepath.Join(dir, filepath.FromSlash(f.Path)), string(f.Body))
		if strings.HasPrefix(f.Path, "sigma/") {
			sigmaFiles[f.Path] = f.Body
		}
	}
	return sigmaFiles
}

func yaraAccepted(t *testing.T, root, dir string, layout render.Layout) {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		return // an input with no YARA rule
	}
	res, err := pysigma.CompileYARA(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files == 0 || !strings.HasPrefix(res.Version, "4.5") {
		t.Fatalf("yara-python compiled %d files with libyara %s", res.Files, res.Version)
	}
	for _, m := range res.Messages {
		t.Errorf("layout %s: libyara %s: %s %s: %s", layout, res.Version, m.File, m.Kind, m.Message)
	}
	t.Logf("layout %s: %d YARA files compile in libyara %s", layout, res.Files, res.Version)
}

// yaraxAccepted: the YARA rules under dir compile in YARA-X, together and with no warning.
func yaraxAccepted(t *testing.T, root, dir string, layout render.Layout) {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		return // an input with no YARA rule
	}
	res, err := yarax.Check(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Clean() || res.Files == 0 {
		t.Errorf("layout %s: YARA-X, %d files:\n%.3000s", layout, res.Files, res.String())
	}
}

func sigmaAccepted(t *testing.T, root, dir string) {
	t.Helper()
	if out, err := pysigma.Check(root, dir); err != nil {
		t.Errorf("%v\n%s", err, out)
	}
	verdicts, _ := convertAll(t, root, dir)
	converted := 0
	for _, v := range verdicts {
		if v.Error == "" {
			converted++
		}
	}
	t.Logf("sigma check passes; %d of %d conversions (rules × targets) succeed", converted, len(verdicts))
}

// targetGaps are the log sources a SIEM target has no table or no field for, as pySigma's
// error says it: a rule of such a source that does not convert is the target's gap, not a
// fault of the rule. Any other error fails the tests.
var targetGaps = []struct {
	target, category, says, summary string
}{
	{"kusto, Sentinel ASIM (sentinel_asim)", "dns_query", "Unable to determine table name", "no table"},
	{"kusto, Sentinel ASIM (sentinel_asim)", "dns", "Unable to determine table name", "no table"},
	{"kusto, Sentinel ASIM (sentinel_asim)", "firewall", "Unable to determine table name", "no table"},
	{"kusto, Defender XDR (microsoft_xdr)", "dns_query", "Unable to determine table name", "no table"},
	{"kusto, Defender XDR (microsoft_xdr)", "dns", "Unable to determine table name", "no table"},
	{"kusto, Defender XDR (microsoft_xdr)", "firewall", "Unable to determine table name", "no table"},
	{"kusto, Defender XDR (microsoft_xdr)", "proxy", "Unable to determine table name", "no table"},
	{"splunk CIM (splunk_cim)", "dns_query", "Rule type not yet supported", "not supported"},
	{"splunk CIM (splunk_cim)", "dns", "Rule type not yet supported", "not supported"},
	{"splunk CIM (splunk_cim)", "firewall", "Rule type not yet supported", "not supported"},
	{"splunk CIM (splunk_cim)", "network_connection", "Rule type not yet supported", "not supported"},
	{"splunk CIM (splunk_cim)", "process_creation", "supports only the following fields for process_creation", "no Hashes field"},
}

// convertAll converts every rule under dir with each target and fails the test on each verdict
// that is rulegen's fault; it returns the verdicts and each rule's log source category.
func convertAll(t *testing.T, root, dir string) ([]pysigma.Verdict, map[string]string) {
	t.Helper()
	verdicts, err := pysigma.Convert(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	categories := ruleCategories(t, dir)
	for _, v := range verdicts {
		if why := conversionFault(v, categories[v.Rule]); why != "" {
			t.Errorf("%s, %s: %s", v.Target, v.Rule, why)
		}
	}
	return verdicts, categories
}

// conversionFault says why a verdict on a rule of a log source category is rulegen's fault, or
// "" when it is none.
func conversionFault(v pysigma.Verdict, category string) string {
	if v.Error == "" {
		if len(v.Queries) == 0 {
			return "converted to no query"
		}
		return ""
	}
	for _, g := range targetGaps {
		if g.target == v.Target && g.category == category && strings.Contains(v.Error, g.says) {
			return ""
		}
	}
	return fmt.Sprintf("%s rule does not convert: %s", category, v.Error)
}

// ruleCategories reads the log source category of each Sigma rule under dir, by its path below
// dir without .yml (as harness.py names rules).
func ruleCategories(t *testing.T, dir string) map[string]string {
	t.Helper()
	rf, err := verify.Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	categories := map[string]string{}
	for _, p := range rf.Sigma {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var rule struct {
			Logsource struct{ Category string } `yaml:"logsource"`
		}
		if err := yaml.Unmarshal(body, &rule); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		categories[rf.SigmaName(p)] = rule.Logsource.Category
	}
	return categories
}

// TestConversionTableInREADME converts rules/ for every target and keeps the README's table
// of what converts the test's own result (UPDATE_GOLDEN=1 rewrites it).
func TestConversionTableInREADME(t *testing.T) {
	root := golden.RepoRoot(t)
	assertREADMEBlock(t, root, "conversion table", "TestConversionTableInREADME",
		conversionTable(convertAll(t, root, filepath.Join(root, "rules", "sigma"))))
}

// assertREADMEBlock holds the README's block between "<!-- NAME: generated by TEST -->" and
// "<!-- end of NAME -->" to table; UPDATE_GOLDEN=1 rewrites it.
func assertREADMEBlock(t *testing.T, root, name, test, table string) {
	t.Helper()
	readme := filepath.Join(root, "README.md")
	body, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)(<!-- ` + name + `: generated by ` + test + ` -->\n).*?(<!-- end of ` + name + ` -->)`)
	if !block.Match(body) {
		t.Fatalf("README.md has no %s block", name)
	}
	updated := block.ReplaceAll(body, []byte("${1}"+strings.ReplaceAll(table, "$", "$$")+"${2}"))
	if bytes.Equal(updated, body) {
		return
	}
	if golden.Update() {
		if err := os.WriteFile(readme, updated, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's %s is not what the tests find (UPDATE_GOLDEN=1 rewrites it):\n%s", name, golden.Diff(body, updated))
}

// conversionTable is a Markdown table: per target, how many rules convert and the log sources
// of those that do not, with the reason.
func conversionTable(verdicts []pysigma.Verdict, categories map[string]string) string {
	var targets []string
	converts, total := map[string]int{}, map[string]int{}
	gaps := map[string]map[string]bool{}
	for _, v := range verdicts {
		if total[v.Target] == 0 {
			targets = append(targets, v.Target)
			gaps[v.Target] = map[string]bool{}
		}
		total[v.Target]++
		if v.Error == "" {
			converts[v.Target]++
			continue
		}
		category := categories[v.Rule]
		for _, g := range targetGaps {
			if g.target == v.Target && g.category == category {
				gaps[v.Target][category+": "+g.summary] = true
			}
		}
	}
	// Backends that share a pipeline and a result share a row: "lucene, eql (ecs_windows)".
	type row struct{ backends, pipeline, result string }
	var rows []row
	for _, target := range targets {
		backend, pipeline, _ := strings.Cut(target, " (")
		result := fmt.Sprintf("%d of %d | %s", converts[target], total[target], strings.Join(slices.Sorted(maps.Keys(gaps[target])), "; "))
		if n := len(rows); n > 0 && pipeline != "" && rows[n-1].pipeline == pipeline && rows[n-1].result == result {
			rows[n-1].backends += ", " + backend
			continue
		}
		rows = append(rows, row{backend, pipeline, result})
	}
	var b strings.Builder
	b.WriteString("| target (pipeline) | converts | log sources it cannot take |\n|---|---|---|\n")
	for _, r := range rows {
		name := r.backends
		if r.pipeline != "" {
			name += " (" + r.pipeline
		}
		fmt.Fprintf(&b, "| %s | %s |\n", name, r.result)
	}
	return b.String()
}

// TestSQLiteEvaluatorAgreesWithSigmaGo evaluates every sysmon and flat event case of
// testdata/events through pySigma's sqlite backend (each rule a query over a table of the
// events) and through sigma-go, as rulegen test does: both must fire the same rules.
func TestSQLiteEvaluatorAgreesWithSigmaGo(t *testing.T) {
	root := golden.RepoRoot(t)
	rulesDir := filepath.Join(root, "rules", "sigma")
	eventFiles := eventCaseFiles(t, root)
	inSQLite, err := pysigma.Evaluate(root, rulesDir, eventFiles...)
	if err != nil {
		t.Fatal(err)
	}
	evaluator := sigma.NewEvaluator(loadSigmaTree(t, rulesDir))
	cases := readEventCases(t, eventFiles)
	if len(inSQLite) != len(cases) || len(cases) < 80 {
		t.Fatalf("sqlite evaluated %d cases, sigma-go %d", len(inSQLite), len(cases))
	}
	fired := 0
	for i, c := range cases {
		got := inSQLite[i]
		if got.File != c.file || got.Line != c.line {
			t.Fatalf("case %d: sqlite at %s:%d, sigma-go at %s:%d", i, got.File, got.Line, c.file, c.line)
		}
		want, err := evaluator.Matches(context.Background(), c.event)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got.Fires)
		if !slices.Equal(got.Fires, want) && len(got.Fires)+len(want) > 0 {
			t.Errorf("%s:%d: sqlite fires %v, sigma-go %v", c.file, c.line, got.Fires, want)
		}
		if len(want) > 0 {
			fired++
		}
	}
	t.Logf("%d cases, %d firing a rule: sqlite and sigma-go agree on each", len(cases), fired)
}

type eventCase struct {
	file  string
	line  int
	event map[string]any
}

// readEventCases reads the sysmon and flat cases of --events files, in file and line order.
// eventCaseFiles are the event cases' files (testdata/events/*.jsonl); none is a failure.
func eventCaseFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "testdata", "events", "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no event files: %v", err)
	}
	return files
}

func readEventCases(t *testing.T, files []string) []eventCase {
	t.Helper()
	var cases []eventCase
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var c verify.EventCase
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s:%d: %v", f, line, err)
			}
			if c.Format == "sysmon" || c.Format == "flat" {
				cases = append(cases, eventCase{filepath.Base(f), line, c.Event})
			}
		}
	}
	return cases
}

// loadSigmaTree loads every rule below dir, named as rulegen test names them: by the path below
// dir without .yml.
func loadSigmaTree(t *testing.T, dir string) []sigma.Rule {
	t.Helper()
	rf, err := verify.Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rules []sigma.Rule
	for _, p := range rf.Sigma {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := sigma.Load(rf.SigmaName(p), body)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	return rules
}

// Titles in other scripts and with odd characters come out as SigmaHQ's title check wants them
// (ligatures, digraphs, circled letters, Greek lunate epsilon, German ß, quotes and names).
func TestUnusualTitlesPassSigmaCheck(t *testing.T) {
	root := golden.RepoRoot(t)
	title := "ßtraße ǆungla ⓐⓑ ϵpsilon ĳssel (apt28) «quoted» via c2.evil.net /x run_me"
	in := golden.WriteFile(t, filepath.Join(t.TempDir(), "unusual.json"), `{"Event": {"uuid": "3c1d2e4f-0000-4000-8000-000000000001",
		"info": `+fmt.Sprintf("%q", title)+`, "date": "2024-01-01",
		"Attribute": [{"type": "domain", "value": "unusual-title-c2.net", "to_ids": true}]}}`)
	dir := t.TempDir()
	files := writeOutput(t, in, render.LayoutFast, dir)
	for _, body := range files {
		if !bytes.Contains(body, []byte("ǅungla Ⓐⓑ")) || !bytes.Contains(body, []byte("c2.evil.net /x run_me (3C1D2E4F) - ")) {
			t.Fatalf("title not as expected:\n%s", body)
		}
	}
	if len(files) == 0 {
		t.Fatal("no Sigma rule")
	}
	if out, err := pysigma.Check(root, filepath.Join(dir, "sigma")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
