package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/sigma"
	"github.com/rulegen/rulegen/generate/verify"
	"github.com/rulegen/rulegen/generate/yara"
)

// fuzzSeeds are the repository's small reports and bad inputs, markdown, MISP JSON and
// vendors' documents (read as documents: the fuzz input has no name to say otherwise).
func fuzzSeeds(f *testing.F) {
	root := golden.RepoRoot(f)
	var paths []string
	for _, pattern := range []string{
		"testdata/reports/*.md",
		"generate/render/testdata/*.md",
		"generate/parse/testdata/invalid/*",
		"testdata/reports/misp/pymisp_ursnif_domains_url.json",
		"testdata/reports/misp/pymisp_xorist_ransomware_regkeyvalue.json",
		"testdata/reports/misp/misp-stix_test_events_collection_1.json",
		"testdata/reports/misp/pymisp_whois_object_defparam.json",
		"testdata/feeds/chrome-mal-ids/049f01a5-7e01-559b-83e8-3a67738bbbe1.json",
		"testdata/vendor/eset/*/README.adoc",
		"testdata/vendor/variants/*.md",
		"testdata/vendor/variants/*.txt",
	} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		paths = append(paths, m...)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, ".err") {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzGenerate: for any input, generate returns an input error, or rules that libyara compiles
// in full, that match no empty file, that validate and parse as Sigma, and that pass rulegen
// lint and rulegen test with their defaults (gatePasses). A template or escaping defect
// ("generated ... is invalid") is never an acceptable answer.
func FuzzGenerate(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Every layout, in turn: the input's length picks one.
		layout := []render.Layout{render.LayoutFast, render.LayoutReadable, render.LayoutFeed}[len(data)%3]
		rules := generateChecked(t, "fuzz", data, pipeline.Options{Render: render.Options{Author: "fuzz", Layout: layout}})
		if rules == nil {
			return
		}
		defer rules.Destroy()
		if m, err := rules.ScanMem(nil); err != nil || len(m) > 0 {
			t.Fatalf("rules %v match an empty file (%v)", m, err)
		}
	})
}

// FuzzYARAFile: a publisher's YARA file, whatever it holds, passes through as rules libyara
// compiles with the report's own, rule by rule where it does not compile whole, or is skipped
// or quarantined; the run never writes YARA that does not compile, that matches an empty file,
// or that fails rulegen lint or rulegen test. The hostile seeds are the quarantine's cases.
func FuzzYARAFile(f *testing.F) {
	for _, hostile := range []string{
		"global rule silence { condition: false }\nrule ok { strings: $a = \"kite-0451\" condition: $a }",
		"import \"console\"\nrule p { strings: $a = \"x1x2\" condition: $a and console.log(\"hit\") }",
		"rule everything { condition: true }\nrule user { condition: everything }",
		"include \"/etc/passwd\"\nrule inc { condition: false }",
		"rule slow { strings: $a = \"kite\" condition: $a and for any i in (0..filesize) : (uint8(i) == 0x4b) }",
		"rule patho { strings: $a = /(a+)+(b+)+c{1,200}/ condition: $a }",
		"rule C2 { strings: $a = \"own-c2\" condition: $a }",
	} {
		f.Add([]byte(hostile))
	}
	for _, seed := range []string{"testdata/vendor/volexity/2026-06-04-VerdantBamboo/rules.yar",
		"testdata/vendor/variants/2024-06-05-with-export/lynx.yar", "testdata/vendor/variants/2024-06-05-with-export/broken.yara"} {
		if b, err := os.ReadFile(filepath.Join(golden.RepoRoot(f), seed)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if rules := generateChecked(t, "fuzz.yar", data, pipeline.Options{Render: render.Options{Author: "fuzz"}, Parse: parse.Options{Date: "2024-01-01"}}); rules != nil {
			defer rules.Destroy()
			if m, err := rules.ScanMem(nil); err != nil || len(m) > 0 {
				t.Fatalf("rules %v match an empty file (%v)", m, err)
			}
		}
	})
}

// generateChecked runs the pipeline on one input held in memory and requires an input error,
// or Sigma rules that validate and parse and YARA rules that libyara compiles together, which
// it returns (nil when there are none).
func generateChecked(t *testing.T, name string, data []byte, opts pipeline.Options) *yara.Rules {
	t.Helper()
	var sources []yara.Source
	var written []render.File
	take := func(fs []render.File) {
		written = append(written, fs...)
		for _, file := range fs {
			switch {
			case strings.HasSuffix(file.Path, ".yml"):
				if _, err := sigma.Load(file.Path, file.Body); err != nil {
					t.Fatalf("emitted Sigma does not load: %v\n%s", err, file.Body)
				}
				sigmaHQConventions(t, file)
			case strings.HasSuffix(file.Path, ".yar"):
				sources = append(sources, yara.Source{Name: file.Path, Text: string(file.Body)})
			}
		}
	}
	res, err := pipeline.Bytes(name, data, opts, func(o *pipeline.Outcome) error {
		take(o.Files)
		return nil
	})
	if err != nil {
		if !errors.Is(err, parse.ErrInput) && !errors.Is(err, normalize.ErrReport) {
			t.Fatalf("not an input error: %v", err)
		}
		return nil
	}
	take(res.Shared)
	gatePasses(t, written)
	if !yara.Available || len(sources) == 0 {
		return nil
	}
	rules, err := yara.Compile(sources...)
	if err != nil {
		t.Fatalf("emitted YARA does not compile: %v\n%s", err, sources[0].Text)
	}
	return rules
}

// sigmaHQConventions fails a generated Sigma rule whose file name or title SigmaHQ's tools
// would flag (an analyst's rule, passed through, is its author's).
func sigmaHQConventions(t *testing.T, file render.File) {
	t.Helper()
	name := path.Base(file.Path)
	if strings.HasPrefix(name, "passed_") {
		return
	}
	if !render.SigmaFileNameOK(name) {
		t.Fatalf("file name %q", name)
	}
	var rule struct{ Title string }
	if err := yaml.Unmarshal(file.Body, &rule); err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(rule.Title); n > render.MaxTitle {
		t.Fatalf("title of %d characters: %q", n, rule.Title)
	}
	for _, w := range strings.Split(rule.Title, " ") {
		if render.MiscasedTitleWord(w) && render.HasCapitalForm(w) {
			t.Fatalf("title %q: %q in lower case", rule.Title, w)
		}
	}
}

// gatePasses writes a run's files as generate does and requires that rulegen lint and rulegen
// test, with their defaults, fail none of them: generate's output always passes its own gate.
func gatePasses(t *testing.T, files []render.File) {
	t.Helper()
	rules := 0
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") || strings.HasSuffix(f.Path, ".yml") {
			rules++
		}
	}
	if rules == 0 {
		return
	}
	dir := t.TempDir()
	for _, f := range files {
		golden.WriteFile(t, filepath.Join(dir, filepath.FromSlash(f.Path)), string(f.Body))
	}
	lint, err := verify.Lint(dir, verify.LintOptions{})
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	test, err := verify.Test(context.Background(), dir, verify.TestOptions{})
	if err != nil {
		t.Fatalf("test: %v", err)
	}
	for _, c := range append(lint, test...) {
		if c.Status == verify.Fail {
			t.Fatalf("generate's output fails its own gate: %s %s %s: %s", c.Suite, c.Name, c.Where(), c.Message)
		}
	}
}
