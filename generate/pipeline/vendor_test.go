package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/sigma"
	"github.com/rulegen/rulegen/generate/yara"
)

// generateVendor runs generate on testdata/vendor as a user runs it on a clone of vendors'
// repositories: publication folders are reports, the variants' folder a repository of them.
func generateVendor(t *testing.T, layout render.Layout) ([]*pipeline.Outcome, []render.File) {
	t.Helper()
	inputs, err := pipeline.Inputs([]string{filepath.Join(golden.RepoRoot(t), "testdata", "vendor")})
	if err != nil {
		t.Fatal(err)
	}
	outcomes, files, err := pipeline.Collect(context.Background(), inputs, pipeline.Options{Render: render.Options{Author: committedAuthor, Layout: layout}})
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 20 {
		t.Fatalf("%d reports from %v, want 20", len(outcomes), inputs)
	}
	return outcomes, files
}

// TestVendorGolden keeps the rules the vendors' publications make under testdata/golden/vendor/:
// a change in what a reader understands is a golden diff to review. Every rule compiled in
// libyara and validated on the way (Collect fails otherwise).
func TestVendorGolden(t *testing.T) {
	_, files := generateVendor(t, "")
	assertGoldenTree(t, filepath.Join(golden.RepoRoot(t), "testdata", "golden", "vendor"), files)
}

// sourceText is what a report was read from, refanged and in lower case.
func sourceText(t *testing.T, source string) string {
	text := strings.ToLower(defang.Refang(sourceTextRaw(t, source)))
	// A LOKI filename IOC states a literal name as a regular expression (lantern\.exe).
	return text + "\n" + strings.ReplaceAll(text, `\.`, ".")
}

var (
	hashWord = regexp.MustCompile(`\b(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})\b`)
	// defangedName is a name or address written with [.] or (.), wherever it stands.
	defangedName = regexp.MustCompile(`[A-Za-z0-9_-]+(?:(?:\[\.\]|\(\.\)|\.)[A-Za-z0-9_-]+)*(?:\[\.\]|\(\.\))[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*`)
	plainIPv4    = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b`)
)

// Every hash a publication states becomes a rule (or is skipped with a reason), with its file
// name where the publication gives one; every network value becomes a rule or is skipped with
// its reason.
func TestVendorValuesAllAccountedFor(t *testing.T) {
	outcomes, _ := generateVendor(t, render.LayoutReadable)
	for _, o := range outcomes {
		r := o.Report
		var rules, skipped strings.Builder
		for _, f := range o.Files {
			rules.WriteString(strings.ToLower(string(f.Body)))
		}
		for _, s := range r.Skipped {
			skipped.WriteString(strings.ToLower(defang.Refang(s.Value)) + "\n")
		}
		text := sourceText(t, r.Source)
		accounted := func(v string) bool {
			v = strings.ToLower(v)
			return strings.Contains(rules.String(), v) || strings.Contains(skipped.String(), v)
		}
		// A hash is detected when its file is, by it or by a stronger hash of the same file.
		detected := map[string]bool{}
		for _, f := range r.Files {
			for _, h := range []string{f.SHA256, f.SHA1, f.MD5} {
				if h != "" && strings.Contains(rules.String(), `"`+h+`"`) {
					detected[f.SHA256], detected[f.SHA1], detected[f.MD5] = true, true, true
				}
			}
		}
		for _, h := range hashWord.FindAllString(text, -1) {
			if !detected[h] && !accounted(h) {
				t.Errorf("%s: hash %s makes no rule and is not skipped", r.Source, h)
			}
		}
		raw := strings.ToLower(sourceTextRaw(t, r.Source))
		for _, v := range append(defangedName.FindAllString(raw, -1), plainIPv4.FindAllString(raw, -1)...) {
			if v = defang.Refang(v); !accounted(v) {
				t.Errorf("%s: network value %s makes no rule and is not skipped", r.Source, v)
			}
		}
		for _, f := range r.Files {
			if f.SHA1 == "40b8af12ea6f89db6ed635037f468aadee7f4ca6" && f.Name != "app.exe" {
				t.Errorf("%s: the sample %s lost its name: %+v", r.Source, f.SHA1, f)
			}
		}
	}
}

// sourceTextRaw is what a report was read from (a file, or a publication folder's files),
// without the publisher's YARA rules (which pass through as written) and licences.
func sourceTextRaw(t *testing.T, source string) string {
	t.Helper()
	paths := []string{source}
	if info, err := os.Stat(source); err == nil && info.IsDir() {
		paths, _ = filepath.Glob(filepath.Join(source, "*"))
	}
	var b strings.Builder
	for _, p := range paths {
		if ext := filepath.Ext(p); ext == ".yar" || ext == ".yara" || strings.HasPrefix(filepath.Base(p), "LICENSE") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

var (
	yaraTextString = regexp.MustCompile(`\$\w* = "((?:[^"\\]|\\.)*)"`)
	yaraHashValue  = regexp.MustCompile(`\(0, filesize\) == "([0-9a-f]+)"`)
)

// Precision: every string in a rule rulegen writes for a publication (every YARA text string
// and hash, every Sigma value) appears, refanged, in the publication. The publisher's own YARA
// rules pass through as written and are not rulegen's strings.
func TestVendorRulesHoldOnlyStatedValues(t *testing.T) {
	outcomes, _ := generateVendor(t, render.LayoutReadable)
	checked := 0
	for _, o := range outcomes {
		text := sourceText(t, o.Report.Source)
		for _, f := range o.Files {
			for _, v := range ruleValues(t, f) {
				if v = strings.ToLower(v); !strings.Contains(text, v) {
					t.Errorf("%s: %q is not in %s", f.Path, v, o.Report.Source)
				}
				checked++
			}
		}
	}
	if checked < 200 {
		t.Errorf("only %d values checked", checked)
	}
}

// ruleValues are the values a generated file's rules look for.
func ruleValues(t *testing.T, f render.File) []string {
	var out []string
	switch {
	case strings.HasSuffix(f.Path, ".yar"):
		for _, rule := range strings.Split(string(f.Body), "\nrule ") {
			if strings.Contains(rule, "original_name = ") {
				continue // the publisher's own rule
			}
			for _, m := range yaraTextString.FindAllStringSubmatch(rule, -1) {
				v, err := strconv.Unquote(`"` + m[1] + `"`)
				if err != nil {
					t.Fatalf("%s: string %q: %v", f.Path, m[1], err)
				}
				out = append(out, v)
			}
			for _, m := range yaraHashValue.FindAllStringSubmatch(rule, -1) {
				out = append(out, m[1])
			}
		}
	case strings.HasSuffix(f.Path, ".yml"):
		var rule struct {
			Detection map[string]any `yaml:"detection"`
		}
		if err := yaml.Unmarshal(f.Body, &rule); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		for key, sel := range rule.Detection {
			if key != "condition" {
				out = append(out, sigmaStrings(sel)...)
			}
		}
	}
	return out
}

// sigmaStrings are a selection's string values, without the wildcards, leading separators and
// Hashes field prefixes that say how they match.
func sigmaStrings(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for _, sub := range v {
			out = append(out, sigmaStrings(sub)...)
		}
	case []any:
		for _, sub := range v {
			out = append(out, sigmaStrings(sub)...)
		}
	case string:
		s := sigmaUnescape(strings.Trim(v, "*"))
		if _, value, ok := strings.Cut(s, "="); ok && slices.Contains([]string{"MD5", "SHA1", "SHA256", "IMPHASH"}, strings.SplitN(s, "=", 2)[0]) {
			s = value
		}
		out = append(out, strings.TrimLeft(s, `\.`))
	}
	return out
}

// sigmaUnescape undoes Sigma's escaping of its wildcards: \* \? and \\ stand for themselves.
func sigmaUnescape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && strings.ContainsRune(`*?\`, rune(v[i+1])) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// The rules the publications make fire where their values are and nowhere else: YARA compiled
// by libyara and scanned over text, Sigma evaluated by sigma-go over log events. A URL given
// without its scheme is found inside requested URLs, under either scheme.
func TestVendorRulesFire(t *testing.T) {
	_, files := generateVendor(t, "")
	compiled, rules := loadRules(t, files)
	defer compiled.Destroy()
	for buf, want := range map[string]string{
		"POST /API/hpb_gate.php HTTP/1.1 ... https://egscorp.net/API/hpb_gate.php": "MAL_BlackLotus_Indicators_of_Compromise_C2",
		"connect 193.37.69.153 for update.cbu.net":                                 "MAL_Scarabs_colon_izing_vulnerable_servers_Indicators_of_Compromise_C2",
		`mutex Global\ExampleLoaderMtx_31 held`:                                    "MAL_Operation_Example_indicators_of_compromise_Mutexes",
		// The rule beside one libyara refuses in the same file passes through on its own.
		"LynxLoaderMarker/2.0":                             "MAL_Harvest_Lynx_campaign_lynx_loader_marker",
		"egscorp.net/API/other.php and update.cbu.network": "",
	} {
		hits, err := compiled.ScanMem([]byte(buf))
		if err != nil || want == "" && len(hits) > 0 || want != "" && !slices.Contains(hits, want) {
			t.Errorf("YARA on %q: %v (%v), want %q", buf, hits, err, want)
		}
	}
	ev := sigma.NewEvaluator(rules)
	for _, c := range []struct {
		event map[string]any
		want  bool
	}{
		{map[string]any{"c-uri": "http://egscorp.net/API/hpb_gate.php?id=7", "cs-host": "egscorp.net"}, true},
		{map[string]any{"c-uri": "https://myrepository.name/network/API/hpb_gate.php", "cs-host": "myrepository.name"}, true},
		{map[string]any{"c-uri": "http://egscorp.net/index.html", "cs-host": "egscorp.net"}, false},
		{map[string]any{"query": "up.vctel.com"}, true},
		{map[string]any{"dst_ip": "87.251.64.19"}, true},
		{map[string]any{"query": "welivesecurity.com"}, false},
	} {
		fired, err := ev.Matches(context.Background(), c.event)
		if err != nil || (len(fired) > 0) != c.want {
			t.Errorf("Sigma on %v: %v (%v), want a match: %v", c.event, fired, err, c.want)
		}
	}
}

// loadRules compiles the YARA files among files with libyara and loads their Sigma rules with
// sigma-go, for tests that run the rules over text and events.
func loadRules(t *testing.T, files []render.File) (*yara.Rules, []sigma.Rule) {
	t.Helper()
	var sources []yara.Source
	var rules []sigma.Rule
	for _, f := range files {
		switch {
		case strings.HasSuffix(f.Path, ".yar"):
			sources = append(sources, yara.Source{Name: f.Path, Text: string(f.Body)})
		case strings.HasSuffix(f.Path, ".yml"):
			r, err := sigma.Load(f.Path, f.Body)
			if err != nil {
				t.Fatal(err)
			}
			rules = append(rules, r)
		}
	}
	compiled, err := yara.Compile(sources...)
	if err != nil {
		t.Fatal(err)
	}
	return compiled, rules
}
