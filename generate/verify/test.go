package verify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/sigma"
	"github.com/rulegen/rulegen/generate/yara"
)

// TestOptions say what `rulegen test` checks besides compiling and validating.
type TestOptions struct {
	AllowWarnings bool     // YARA warnings pass (they still show as warnings)
	Fixtures      []string // YARA fixture manifests (see FixtureManifest)
	Events        []string // Sigma event case files (*.jsonl) or directories of them
	Benign        []string // files or directories no YARA rule may match
	// Compiled is a file of compiled YARA rules (generate --yara-compiled, yarac) to prove
	// instead of compiling DIR's sources: it must hold exactly their rules, and it is what
	// the fixtures and benign files are scanned with.
	Compiled string
}

// FixtureManifest is the YARA fixture format: each fixture names a file, relative to the
// manifest, and the exact set of rules that must match it; an empty list means none may.
//
//	fixtures:
//	  - file: c2-ascii.txt
//	    why: a listed domain in upper case
//	    match: [MAL_Remcos_RAT_02_28_20_C2]
type FixtureManifest struct {
	Fixtures []Fixture `yaml:"fixtures"`
}

// Fixture is one entry of a FixtureManifest.
type Fixture struct {
	File  string   `yaml:"file"`
	Why   string   `yaml:"why"`
	Match []string `yaml:"match"`
	line  int
}

// EventCase is one line of a Sigma event case file (*.jsonl): an event and the exact set of
// rules it must fire, named by their path below the rules directory without the extension
// (rules/sigma/x/y.yml is x/y). Format sysmon is flat Sysmon JSON; winlogbeat is an ECS
// document evaluated through the bundled Winlogbeat field mapping; flat is any log with the
// Sigma taxonomy's field names (dns query, firewall dst_ip and dst_port, proxy c-uri and cs-host).
//
//	{"why": "...", "format": "sysmon", "fires": ["x/y"], "event": {"EventID": 22, "QueryName": "..."}}
type EventCase struct {
	Why    string         `json:"why"`
	Format string         `json:"format"`
	Fires  []string       `json:"fires"`
	Event  map[string]any `json:"event"`
}

// Test runs the checks of `rulegen test` on the rules under dir. It returns an error only when
// it cannot run them (no rules, an unreadable manifest); failing rules are failed cases.
func Test(ctx context.Context, dir string, opts TestOptions) ([]Case, error) {
	rf, err := Find(dir)
	if err != nil {
		return nil, err
	}
	cases := rf.skippedCases("files")
	rules, yaraCases, err := compileYARA(rf, opts.AllowWarnings)
	if err != nil {
		return nil, err
	}
	cases = append(cases, yaraCases...)
	if opts.Compiled != "" {
		compiled, c := loadCompiled(opts.Compiled, rules)
		cases = append(cases, c)
		if rules != nil {
			rules.Destroy()
		}
		rules = compiled
	}
	loaded, sigmaCases := loadSigma(rf)
	cases = append(cases, sigmaCases...)
	for _, m := range opts.Fixtures {
		c, err := fixtureCases(m, rules)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c...)
	}
	events, err := eventFiles(opts.Events)
	if err != nil {
		return nil, err
	}
	for _, f := range events {
		c, err := eventCases(ctx, f, loaded)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c...)
	}
	for _, root := range opts.Benign {
		c, err := benignCase(root, rules)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	if rules != nil {
		rules.Destroy()
	}
	return cases, nil
}

// compileYARA compiles each file alone, so that errors point at their file, then all files
// together, as a scanner loads a rules repository (a rule name used twice fails here). The
// ruleset it returns is nil when some file does not compile.
func compileYARA(rf RuleFiles, allowWarnings bool) (*yara.Rules, []Case, error) {
	if len(rf.YARA) == 0 {
		return nil, nil, nil
	}
	if !yara.Available {
		return nil, []Case{{Suite: "yara-compile", Name: "libyara", Status: Fail, Message: "this build has no libyara (cgo): YARA rules cannot be checked"}}, nil
	}
	sources, err := yara.ReadSources(rf.YARA...)
	if err != nil {
		return nil, nil, err
	}
	var cases []Case
	ok := true
	for _, s := range sources {
		c, rules := compileCase(s.Name, allowWarnings, s)
		if rules != nil {
			rules.Destroy()
		}
		ok = ok && c.Status != Fail
		cases = append(cases, c)
	}
	if !ok {
		return nil, cases, nil
	}
	all, rules := compileCase(fmt.Sprintf("all %d files in one namespace", len(sources)), allowWarnings, sources...)
	all.File = rf.Dir
	cases = append(cases, all)
	if all.Status == Fail && rules != nil {
		rules.Destroy()
		rules = nil
	}
	return rules, cases, nil
}

// loadCompiled loads compiled rules and checks they are the sources' rules, by name.
func loadCompiled(path string, sources *yara.Rules) (*yara.Rules, Case) {
	c := Case{Suite: "yara-compiled", Name: path, File: path, Status: Pass}
	compiled, err := yara.Load(path)
	if err != nil {
		c.Status, c.Message = Fail, err.Error()
		return nil, c
	}
	if sources == nil {
		c.Status, c.Message = Fail, "the YARA sources did not compile: nothing to compare the compiled rules with"
		return compiled, c
	}
	got, want := compiled.RuleNames(), sources.RuleNames()
	if !slices.Equal(got, want) {
		var missing, extra []string
		for _, n := range want {
			if !slices.Contains(got, n) {
				missing = append(missing, n)
			}
		}
		for _, n := range got {
			if !slices.Contains(want, n) {
				extra = append(extra, n)
			}
		}
		c.Status = Fail
		c.Message = fmt.Sprintf("stale: %d rules of the sources missing %v, %d rules not in the sources %v", len(missing), firstFew(missing), len(extra), firstFew(extra))
	} else {
		c.Message = fmt.Sprintf("%d rules, the same as the sources", len(got))
	}
	return compiled, c
}

func firstFew(names []string) []string {
	if len(names) > 5 {
		return append(names[:5:5], "...")
	}
	return names
}

// compileCase compiles sources into a case, and returns the rules when they compiled (also
// when they only warned): the caller keeps or destroys them.
func compileCase(name string, allowWarnings bool, sources ...yara.Source) (Case, *yara.Rules) {
	c := Case{Suite: "yara-compile", Name: name, File: name, Status: Pass}
	rules, warnings, err := yara.CompileLenient(sources...)
	var ce *yara.CompileError
	switch {
	case errors.As(err, &ce):
		c.Status, c.Message = Fail, err.Error()
		if len(ce.Errors) > 0 {
			c.File, c.Line = ce.Errors[0].File, ce.Errors[0].Line
		}
		return c, nil
	case err != nil:
		c.Status, c.Message = Fail, err.Error()
		return c, nil
	}
	if len(warnings) > 0 {
		c.Status, c.File, c.Line = Fail, warnings[0].File, warnings[0].Line
		if allowWarnings {
			c.Status = Warn
		}
		c.Message = (&yara.CompileError{Warnings: warnings}).Error()
	}
	return c, rules
}

// loadSigma validates and parses every Sigma rule; the rules that load are returned for the
// event cases.
func loadSigma(rf RuleFiles) ([]sigma.Rule, []Case) {
	var rules []sigma.Rule
	var cases []Case
	for _, p := range rf.Sigma {
		c := Case{Suite: "sigma-validate", Name: rf.SigmaName(p), File: p, Status: Pass}
		body, err := os.ReadFile(p)
		if err == nil {
			var r sigma.Rule
			if r, err = sigma.Load(rf.SigmaName(p), body); err == nil && r.Rule.Status != "deprecated" {
				rules = append(rules, r) // a deprecated rule is retired: no event may need it
			}
		}
		if err != nil {
			c.Status, c.Message = Fail, strings.TrimPrefix(err.Error(), rf.SigmaName(p)+":")
		}
		cases = append(cases, c)
	}
	return rules, cases
}

// fixtureCases scans each fixture of a manifest with the whole ruleset.
func fixtureCases(manifest string, rules *yara.Rules) ([]Case, error) {
	m, err := readManifest(manifest)
	if err != nil {
		return nil, err
	}
	var known []string
	if rules != nil {
		known = rules.RuleNames()
	}
	var cases []Case
	for _, f := range m.Fixtures {
		c := Case{Suite: "yara-fixtures", Name: f.File, File: manifest, Line: f.line, Status: Pass}
		want := slices.Sorted(slices.Values(f.Match))
		var got []string
		switch {
		case rules == nil:
			c.Status, c.Message = Fail, "not scanned: the YARA rules did not compile (or this build has no libyara)"
		default:
			for _, r := range want {
				if !slices.Contains(known, r) {
					c.Status, c.Message = Fail, fmt.Sprintf("names rule %s, which the rules do not define", r)
				}
			}
			if got, err = rules.ScanFile(filepath.Join(filepath.Dir(manifest), f.File)); err != nil {
				c.Status, c.Message = Fail, err.Error()
			} else if c.Status == Pass && !slices.Equal(got, want) {
				c.Status, c.Message = Fail, fmt.Sprintf("matched %v, want %v (%s)", got, want, f.Why)
			}
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func readManifest(path string) (FixtureManifest, error) {
	var m FixtureManifest
	raw, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("fixtures: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return m, fmt.Errorf("fixtures %s: %w", path, err)
	}
	if err := doc.Decode(&m); err != nil {
		return m, fmt.Errorf("fixtures %s: %w", path, err)
	}
	if len(m.Fixtures) == 0 {
		return m, fmt.Errorf("fixtures %s: no fixtures: want a list under \"fixtures:\"", path)
	}
	// Line numbers of the entries, for messages.
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "fixtures" {
				for j, item := range root.Content[i+1].Content {
					if j < len(m.Fixtures) {
						m.Fixtures[j].line = item.Line
					}
				}
			}
		}
	}
	for i, f := range m.Fixtures {
		if f.File == "" {
			return m, fmt.Errorf("fixtures %s:%d: entry without a file", path, f.line)
		}
		if filepath.IsAbs(f.File) || strings.HasPrefix(filepath.Clean(f.File), "..") {
			return m, fmt.Errorf("fixtures %s:%d: file %q must be inside the manifest's directory", path, m.Fixtures[i].line, f.File)
		}
	}
	return m, nil
}

// eventFiles expands directories into their *.jsonl files.
func eventFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		files, _ := filepath.Glob(filepath.Join(p, "*.jsonl"))
		if len(files) == 0 {
			return nil, fmt.Errorf("events %s: no *.jsonl files", p)
		}
		out = append(out, files...)
	}
	return out, nil
}

// eventCases evaluates each event of a file with every loaded rule: exactly the rules it names
// must fire.
func eventCases(ctx context.Context, file string, rules []sigma.Rule) ([]Case, error) {
	ecs, err := sigma.Config("winlogbeat")
	if err != nil {
		return nil, err
	}
	plain := sigma.NewEvaluator(rules)
	evaluators := map[string]*sigma.Evaluator{"sysmon": plain, "flat": plain, "winlogbeat": sigma.NewEvaluator(rules, ecs)}
	names := map[string]bool{}
	for _, r := range rules {
		names[r.Name] = true
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer f.Close()
	var cases []Case
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var ec EventCase
		c := Case{Suite: "sigma-events", File: file, Line: line, Status: Pass}
		if err := json.Unmarshal(sc.Bytes(), &ec); err != nil {
			c.Name, c.Status, c.Message = "event", Fail, "not an event case: "+err.Error()
			cases = append(cases, c)
			continue
		}
		c.Name = ec.Why
		c.Status, c.Message = evaluate(ctx, ec, evaluators, names)
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("events %s: %w", file, err)
	}
	return cases, nil
}

func evaluate(ctx context.Context, ec EventCase, evaluators map[string]*sigma.Evaluator, names map[string]bool) (Status, string) {
	ev := evaluators[ec.Format]
	if ev == nil {
		return Fail, fmt.Sprintf("format %q: want sysmon, winlogbeat or flat", ec.Format)
	}
	for _, want := range ec.Fires {
		if !names[want] {
			return Fail, fmt.Sprintf("names rule %s, which the rules do not hold (or which does not load)", want)
		}
	}
	got, err := ev.Matches(ctx, ec.Event)
	if err != nil {
		return Fail, err.Error()
	}
	if want := slices.Sorted(slices.Values(ec.Fires)); !slices.Equal(got, want) {
		return Fail, fmt.Sprintf("fired %v, want %v", orNone(got), orNone(want))
	}
	return Pass, ""
}

func orNone(s []string) any {
	if len(s) == 0 {
		return "none"
	}
	return s
}

// benignCase scans a benign corpus: any match fails, naming up to ten files.
func benignCase(root string, rules *yara.Rules) (Case, error) {
	c := Case{Suite: "benign", Name: root, File: root, Status: Pass}
	if _, err := os.Stat(root); err != nil {
		return c, fmt.Errorf("benign: %w", err)
	}
	if rules == nil {
		c.Status, c.Message = Fail, "not scanned: the YARA rules did not compile (or this build has no libyara)"
		return c, nil
	}
	hits, scanned, err := rules.ScanTree(root, nil)
	if err != nil {
		return c, err
	}
	c.Message = fmt.Sprintf("%d files scanned", scanned)
	if len(hits) > 0 {
		var lines []string
		for i, h := range hits {
			if i == 10 {
				lines = append(lines, fmt.Sprintf("... and %d more", len(hits)-10))
				break
			}
			lines = append(lines, fmt.Sprintf("%s matched %v", h.Path, h.Rules))
		}
		c.Status = Fail
		c.Message = fmt.Sprintf("%d of %d benign files matched:\n%s", len(hits), scanned, strings.Join(lines, "\n"))
	}
	return c, nil
}
