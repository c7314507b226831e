package render_test

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/sigma"
	"github.com/rulegen/rulegen/templates"
)

// renderOne renders one report with the embedded templates.
func renderOne(t *testing.T, r *report.Normalized) []render.File {
	t.Helper()
	rd, err := render.New(render.Options{Author: "t"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rd.Render([]*report.Normalized{r})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func load(t *testing.T, path string) *report.Normalized {
	t.Helper()
	parsed, err := parse.File(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := normalize.Report(parsed, normalize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGolden renders each testdata/*.md and holds its output to the golden tree
// testdata/golden/<name>/; the YARA and Sigma test packages compile and validate those goldens.
func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.md"))
	if len(inputs) == 0 {
		t.Fatal("no render cases")
	}
	rd, err := render.New(render.Options{Author: "golden test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			files, err := rd.Render([]*report.Normalized{load(t, in)})
			if err != nil {
				t.Fatal(err)
			}
			tree := map[string][]byte{}
			for _, f := range files {
				tree[f.Path] = f.Body
			}
			golden.AssertTree(t, filepath.Join("testdata", "golden", strings.TrimSuffix(filepath.Base(in), ".md")), tree)
		})
	}
}

// The meta rulegen adds to analysts' own rules comes from _meta.tmpl's passedMeta, so a site's
// templates decide it as they decide the meta of rulegen's rules; a _meta.tmpl without it is
// an error that says what is missing.
func TestAnalystsRulesMetaFromTemplates(t *testing.T) {
	bundled, err := fs.ReadFile(templates.FS, "yara/_meta.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	site := strings.Replace(string(bundled), "original_name = {{yaraString .original}}", "original_name = {{yaraString .original}}\nsite = \"passed\"", 1)
	r := load(t, filepath.Join("..", "..", "testdata", "reports", "misp", "eset_windigo_ebury.misp.json"))
	if len(r.YARARules) == 0 {
		t.Fatal("the report lost its analysts' rules")
	}
	rd, err := render.New(render.Options{Author: "a", Templates: fstest.MapFS{"yara/_meta.tmpl": {Data: []byte(site)}}})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rd.Render([]*report.Normalized{r})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") {
			if passed, site := strings.Count(string(f.Body), "original_name = "), strings.Count(string(f.Body), "site = \"passed\"\n"); passed == 0 || site != passed {
				t.Errorf("%d analysts' rules, %d with the site's meta:\n%s", passed, site, f.Body)
			}
		}
	}
	without := strings.Replace(string(bundled), `define "passedMeta"`, `define "otherMeta"`, 1)
	rd, err = render.New(render.Options{Templates: fstest.MapFS{"yara/_meta.tmpl": {Data: []byte(without)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Render([]*report.Normalized{r}); err == nil || !strings.Contains(err.Error(), "passedMeta") {
		t.Errorf("a _meta.tmpl without passedMeta: %v", err)
	}
}

func TestTemplateOverrideByName(t *testing.T) {
	override := fstest.MapFS{"yara/_mutexes.tmpl": {Data: []byte(`{{define "mutexes"}}{{range .Mutexes}}
// mutex {{comment .}}{{end}}{{end}}`)}}
	rd, err := render.New(render.Options{Author: "a", Templates: override})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rd.Render([]*report.Normalized{load(t, filepath.Join("testdata", "every-branch.md"))})
	if err != nil {
		t.Fatal(err)
	}
	var body string
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") {
			body = string(f.Body)
		}
	}
	if !strings.Contains(body, `// mutex Global\AgentTeslaMutex_77`) || strings.Contains(body, "_Mutexes") {
		t.Errorf("override not used:\n%s", body)
	}
	if !strings.Contains(body, "_Persistence") {
		t.Error("templates not overridden went missing")
	}
}

func TestTemplateErrorsNameTemplateAndLine(t *testing.T) {
	_, err := render.New(render.Options{Templates: fstest.MapFS{"yara/_meta.tmpl": {Data: []byte("{{define \"meta\"}}\n{{nosuchfunc .}}\n{{end}}")}}})
	if err == nil || !strings.Contains(err.Error(), "yara/_meta.tmpl:2") {
		t.Errorf("parse error: %v", err)
	}
	rd, err := render.New(render.Options{Templates: fstest.MapFS{"yara/report.tmpl": {Data: []byte("x\n{{.NoSuchField}}")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rd.Render([]*report.Normalized{load(t, filepath.Join("testdata", "every-branch.md"))})
	if err == nil || !strings.Contains(err.Error(), "yara/report.tmpl:2") {
		t.Errorf("execution error: %v", err)
	}
}

// TestFuncMapIsHermetic pins that no template can read the clock, the environment, the network
// or a random source: output must be the same bytes on every run.
func TestFuncMapIsHermetic(t *testing.T) {
	f := render.FuncMap()
	for _, name := range []string{"env", "expandenv", "getHostByName", "now", "randAlphaNum", "uuidv4", "shuffle", "genPrivateKey", "bcrypt", "randInt"} {
		if _, ok := f[name]; ok {
			t.Errorf("template function %s is available", name)
		}
	}
	for _, name := range []string{"yaraString", "yaraIdent", "comment", "stableID", "join", "upper", "default", "dict"} {
		if _, ok := f[name]; !ok {
			t.Errorf("template function %s is missing", name)
		}
	}
}

func TestYaraIdent(t *testing.T) {
	for in, want := range map[string]string{
		"MAL_Remcos RAT 02-28-20": "MAL_Remcos_RAT_02_28_20",
		"2020 report":             "_2020_report",
		"condition":               "_condition",
		"Über—ärger!":             "ber_rger",
		"":                        "_",
		strings.Repeat("x", 200):  strings.Repeat("x", 128),
	} {
		if got := render.YaraIdent(in); got != want {
			t.Errorf("YaraIdent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestYaraString(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Users\x`: `"C:\\Users\\x"`,
		`say "hi"`:   `"say \"hi\""`,
		"a\nb\x00":   `"a\x0ab\x00"`,
		"é":          `"\xc3\xa9"`,
	} {
		if got := render.YaraString(in); got != want {
			t.Errorf("YaraString(%q) = %s, want %s", in, got, want)
		}
	}
}

// Long IOC lists are split into selections of at most SigmaMaxValues values, and the rule still
// fires on a value of every part.
func TestLongListsSplitIntoSelections(t *testing.T) {
	parsed := &report.Report{Source: "t.json", Format: "misp", ID: "5aa2e21b-79d8-4fd7-b15d-34670a016219", Title: "Many", Date: "2024-01-01"}
	for i := range 250 {
		parsed.Attributes = append(parsed.Attributes, report.Attribute{Type: "domain", Value: fmt.Sprintf("c2-%03d.net", i), ToIDS: true})
	}
	r, err := normalize.Report(parsed, normalize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range renderOne(t, r) {
		if !strings.HasPrefix(path.Base(f.Path), "dns_query_win_malware_c2_") {
			continue
		}
		body := string(f.Body)
		for _, sel := range []string{"selection_domain:", "selection_domain_2:", "selection_domain_3:", "selection_subdomain_3:"} {
			if !strings.Contains(body, "    "+sel+"\n") {
				t.Errorf("no %s in\n%s", sel, body)
			}
		}
		if strings.Contains(body, "selection_domain_4:") || strings.Count(body, "            - '") != 500 {
			t.Errorf("%d values, want 250 domains and 250 parents", strings.Count(body, "            - '"))
		}
		rule, err := sigma.Load("many/dns", f.Body)
		if err != nil {
			t.Fatal(err)
		}
		ev := sigma.NewEvaluator([]sigma.Rule{rule})
		for _, q := range []string{"c2-000.net", "x.c2-150.net", "c2-249.net"} {
			if got, _ := ev.Matches(context.Background(), map[string]any{"EventID": 22, "QueryName": q}); len(got) != 1 {
				t.Errorf("%s fired %v", q, got)
			}
		}
		return
	}
	t.Fatal("no DNS rule")
}

// A registry key is looked for by its last two components when they say enough.
func TestKeyContext(t *testing.T) {
	for key, want := range map[string]string{
		`\Software\Microsoft\Windows\CurrentVersion\RunOnce`:      `\CurrentVersion\RunOnce`,
		`\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\`: `\CurrentVersion\Winlogon`,
		`\SYSTEM\CurrentControlSet\Services\svc`:                  `SYSTEM\CurrentControlSet\Services\svc`,
		`Run`:                                                     `Run`,
	} {
		if got := render.KeyContext(key); got != want {
			t.Errorf("KeyContext(%q) = %q, want %q", key, got, want)
		}
	}
}
