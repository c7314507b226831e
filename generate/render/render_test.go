package render_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rulegen/rulegen/generate/golden"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/sigma"
)

func load(t *testing.T, path string) *report.Report {
	t.Helper()
	r, err := parse.File(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := normalize.Report(r, normalize.Options{}); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGolden renders each testdata/*.md and compares every output file with its golden copy
// (testdata/<name>.<output file>); the YARA test package compiles those goldens with libyara.
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
			files, err := rd.Render([]*report.Report{load(t, in)})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				golden.Assert(t, strings.TrimSuffix(in, ".md")+"."+strings.ReplaceAll(f.Path, "/", "."), f.Body)
			}
		})
	}
}

func TestTemplateOverrideByName(t *testing.T) {
	override := fstest.MapFS{"yara/_mutexes.tmpl": {Data: []byte(`{{define "mutexes"}}{{range .Mutexes}}
// mutex {{comment .}}{{end}}{{end}}`)}}
	rd, err := render.New(render.Options{Author: "a", Templates: override})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rd.Render([]*report.Report{load(t, filepath.Join("testdata", "every-branch.md"))})
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
	_, err = rd.Render([]*report.Report{load(t, filepath.Join("testdata", "every-branch.md"))})
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

// A stage beside a relative output directory, in a new tree and then over existing files.
func TestStageRelativeOutput(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, want := range []struct{ written, unchanged int }{{2, 0}, {1, 1}} {
		stage, err := render.NewStage("rules")
		if err != nil {
			t.Fatal(err)
		}
		body := "rule a { condition: false }\n"
		if want.unchanged == 1 {
			body = "rule b { condition: false }\n"
		}
		for _, f := range []render.File{{Path: "sigma/x/a.yml", Body: []byte("title: a\n")}, {Path: "yara/x.yar", Body: []byte(body)}} {
			if err := stage.Put(f); err != nil {
				t.Fatal(err)
			}
		}
		written, unchanged, err := stage.Commit(nil)
		if err != nil || written != want.written || unchanged != want.unchanged {
			t.Fatalf("written %d unchanged %d (%v), want %+v", written, unchanged, err, want)
		}
	}
	got, err := os.ReadFile(filepath.Join("rules", "yara", "x.yar"))
	if err != nil || string(got) != "rule b { condition: false }\n" {
		t.Errorf("yara/x.yar: %q %v", got, err)
	}
	if left, _ := filepath.Glob(".rulegen-stage-*"); len(left) != 0 {
		t.Errorf("stage left behind: %v", left)
	}
}

// Long IOC lists are split into selections of at most SigmaMaxValues values, and the rule still
// fires on a value of every part.
func TestLongListsSplitIntoSelections(t *testing.T) {
	r := &report.Report{Source: "t.json", Format: "misp", ID: "5aa2e21b-79d8-4fd7-b15d-34670a016219", Title: "Many", Date: "2024-01-01"}
	for i := range 250 {
		r.Attributes = append(r.Attributes, report.Attribute{Type: "domain", Value: fmt.Sprintf("c2-%03d.net", i), ToIDS: true})
	}
	if err := normalize.Report(r, normalize.Options{}); err != nil {
		t.Fatal(err)
	}
	rd, err := render.New(render.Options{Author: "t"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rd.Render([]*report.Report{r})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Path, "dns_query_win_malware_c2.yml") {
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

// treeState maps each file under dir to its content and inode identity.
func treeState(t *testing.T, dir string) map[string]os.FileInfo {
	t.Helper()
	out := map[string]os.FileInfo{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := os.Stat(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = info
		}
		return err
	})
	return out
}

// Commit replaces the output as a whole: unchanged files keep their inode, files the run did
// not write are carried over unless left out, and a discarded stage changes nothing.
func TestStageCommitSwapsTheTree(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "rules")
	write := func(rel, body string) {
		p := filepath.Join(out, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("yara/same.yar", "rule same { condition: false }\n")
	write("yara/changes.yar", "rule old { condition: false }\n")
	write("yara/orphan.yar", "rule orphan { condition: false }\n")
	write("README.md", "the rules repository\n")
	before := treeState(t, out)

	// A run that fails discards its stage: nothing changes, nothing is left.
	stage, err := render.NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	stage.Put(render.File{Path: "yara/changes.yar", Body: []byte("rule new { condition: false }\n")})
	stage.Discard()
	assertTree(t, out, before, map[string]string{"yara/changes.yar": "rule old { condition: false }\n"})

	stage, err = render.NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []render.File{
		{Path: "yara/same.yar", Body: []byte("rule same { condition: false }\n")},
		{Path: "yara/changes.yar", Body: []byte("rule new { condition: false }\n")},
		{Path: "sigma/r/new.yml", Body: []byte("title: new\n")},
	} {
		if err := stage.Put(f); err != nil {
			t.Fatal(err)
		}
	}
	written, unchanged, err := stage.Commit(func(rel string) bool { return rel != "yara/orphan.yar" })
	if err != nil || written != 2 || unchanged != 1 {
		t.Fatalf("written %d unchanged %d: %v", written, unchanged, err)
	}
	after := treeState(t, out)
	if !os.SameFile(before["yara/same.yar"], after["yara/same.yar"]) || !os.SameFile(before["README.md"], after["README.md"]) {
		t.Error("an unchanged file was rewritten")
	}
	if _, ok := after["yara/orphan.yar"]; ok {
		t.Error("the file left out was kept")
	}
	assertTree(t, out, nil, map[string]string{"yara/changes.yar": "rule new { condition: false }\n", "sigma/r/new.yml": "title: new\n", "README.md": "the rules repository\n"})
	if left, _ := filepath.Glob(filepath.Join(parent, ".rulegen-stage-*")); len(left) != 0 {
		t.Errorf("stage left behind: %v", left)
	}
}

func assertTree(t *testing.T, dir string, same map[string]os.FileInfo, bodies map[string]string) {
	t.Helper()
	now := treeState(t, dir)
	for rel, info := range same {
		if !os.SameFile(info, now[rel]) {
			t.Errorf("%s changed", rel)
		}
	}
	for rel, body := range bodies {
		got, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil || string(got) != body {
			t.Errorf("%s: %q %v, want %q", rel, got, err, body)
		}
	}
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
