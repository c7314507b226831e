package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/pysigma"
	"github.com/rulegen/rulegen/generate/internal/yarax"
	"github.com/rulegen/rulegen/generate/verify"
	"github.com/rulegen/rulegen/generate/yara"
)

// The committed rules pass the same gate rulegen test gives a rules repository, and every
// rule is proven by a positive case.
func TestCommittedRulesPassTheGate(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo: the YARA half of the gate cannot run")
	}
	root := golden.RepoRoot(t)
	manifest := filepath.Join(root, "testdata", "fixtures", "manifest.yaml")
	events := filepath.Join(root, "testdata", "events")
	cases, err := verify.Test(context.Background(), filepath.Join(root, "rules"), verify.TestOptions{Fixtures: []string{manifest}, Events: []string{events}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.Status != verify.Pass {
			t.Errorf("%s %s: %s: %s", c.Suite, c.Where(), c.Name, c.Message)
		}
	}
	// Every Sigma rule has an event that fires it, and every fixture file is in the manifest.
	fired := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(events, "*.jsonl"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		for line := range strings.Lines(string(raw)) {
			var ec verify.EventCase
			if json.Unmarshal([]byte(line), &ec) == nil {
				for _, r := range ec.Fires {
					fired[r] = true
				}
			}
		}
	}
	listed := map[string]bool{"manifest.yaml": true, "make-fixtures.sh": true}
	raw, _ := os.ReadFile(manifest)
	for _, c := range cases {
		switch c.Suite {
		case "sigma-validate":
			if !fired[c.Name] {
				t.Errorf("rule %s has no positive event in testdata/events", c.Name)
			}
		case "yara-fixtures":
			listed[c.Name] = true
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(manifest))
	for _, e := range entries {
		if !listed[e.Name()] {
			t.Errorf("fixture %s is not in manifest.yaml (%d bytes read)", e.Name(), len(raw))
		}
	}
}

// writeTree writes files under a new directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	return golden.WriteTree(t, t.TempDir(), files)
}

const goodYARA = `rule Good_C2 {
    meta:
        description = "Detects c2-a.net"
        author = "t"
        date = "2024-01-01"
        reference = "https://example.org/r"
    strings:
        $a = "c2-a.net" ascii
    condition:
        $a
}
`

const goodSigma = `title: 'T - C2 DNS Query'
id: 9ab97f99-8e6a-5bc5-b044-268ed969c04d
status: experimental
description: 'Detects DNS queries for c2-a.net.'
references:
    - 'https://example.org/r'
author: 't'
date: 2024-01-01
tags:
    - attack.command-and-control
logsource:
    product: windows
    category: dns_query
detection:
    selection:
        QueryName: 'c2-a.net'
    condition: selection
falsepositives:
    - Unlikely
level: high
`

func statuses(cases []verify.Case, suite string) map[string]verify.Status {
	out := map[string]verify.Status{}
	for _, c := range cases {
		if c.Suite == suite {
			out[c.Name] = c.Status
		}
	}
	return out
}

func find(cases []verify.Case, suite, nameOrMessage string) *verify.Case {
	for i, c := range cases {
		if c.Suite == suite && (strings.Contains(c.Name, nameOrMessage) || strings.Contains(c.Message, nameOrMessage)) {
			return &cases[i]
		}
	}
	return nil
}

func TestTestReportsEachKindOfFailure(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	dir := writeTree(t, map[string]string{
		"rules/yara/good.yar":    goodYARA,
		"rules/yara/warns.yar":   "rule Warns { strings: $a = \"x\" condition: $a }\n",
		"rules/sigma/r/dns.yml":  goodSigma,
		"rules/sigma/r/bad.yml":  "title: no detection\n",
		"fixtures/manifest.yaml": "fixtures:\n  - file: hit.txt\n    why: the domain\n    match: [Good_C2]\n  - file: miss.txt\n    why: nothing\n    match: [Good_C2]\n",
		"fixtures/hit.txt":       "call c2-a.net now",
		"fixtures/miss.txt":      "nothing here",
		"events/e.jsonl":         `{"why":"the query","format":"sysmon","fires":["r/dns"],"event":{"EventID":22,"QueryName":"c2-a.net"}}` + "\n" + `{"why":"wrong expectation","format":"sysmon","fires":[],"event":{"EventID":22,"QueryName":"c2-a.net"}}` + "\n",
		"benign/readme.txt":      "mentions c2-a.net",
	})
	opts := verify.TestOptions{
		Fixtures: []string{filepath.Join(dir, "fixtures", "manifest.yaml")},
		Events:   []string{filepath.Join(dir, "events")},
		Benign:   []string{filepath.Join(dir, "benign")},
	}
	cases, err := verify.Test(context.Background(), filepath.Join(dir, "rules"), opts)
	if err != nil {
		t.Fatal(err)
	}
	// A warning fails unless allowed; with it failing, nothing is scanned.
	if c := find(cases, "yara-compile", "warns.yar"); c == nil || c.Status != verify.Fail || c.Line != 1 || !strings.Contains(c.Message, "slow down scanning") {
		t.Fatalf("warning: %+v", c)
	}
	if c := find(cases, "yara-fixtures", "hit.txt"); c == nil || c.Status != verify.Fail || !strings.Contains(c.Message, "did not compile") {
		t.Errorf("fixture scanned without rules: %+v", c)
	}
	opts.AllowWarnings = true
	cases, err = verify.Test(context.Background(), filepath.Join(dir, "rules"), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]verify.Status{
		"yara-compile":   {filepath.Join(dir, "rules", "yara", "good.yar"): verify.Pass, filepath.Join(dir, "rules", "yara", "warns.yar"): verify.Warn},
		"sigma-validate": {"r/dns": verify.Pass, "r/bad": verify.Fail},
		"yara-fixtures":  {"hit.txt": verify.Pass, "miss.txt": verify.Fail},
		"sigma-events":   {"the query": verify.Pass, "wrong expectation": verify.Fail},
		"benign":         {filepath.Join(dir, "benign"): verify.Fail},
	}
	for suite, names := range want {
		got := statuses(cases, suite)
		for name, status := range names {
			if got[name] != status {
				t.Errorf("%s %s: %q, want %q", suite, name, got[name], status)
			}
		}
	}
	if c := find(cases, "yara-fixtures", "miss.txt"); c.Line != 5 || !strings.Contains(c.Message, "matched none, want [Good_C2]") && !strings.Contains(c.Message, "matched [], want [Good_C2]") {
		t.Errorf("fixture message: %+v", c)
	}
	if c := find(cases, "sigma-events", "wrong expectation"); c.Line != 2 || !strings.Contains(c.Message, "fired [r/dns], want none") {
		t.Errorf("event message: %+v", c)
	}
	if c := find(cases, "benign", "benign"); !strings.Contains(c.Message, "readme.txt matched [Good_C2]") {
		t.Errorf("benign message: %+v", c)
	}

	// The three report formats say the same.
	var table, js, junit bytes.Buffer
	if err := verify.WriteTable(&table, cases); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "FAIL sigma-events "+filepath.Join(dir, "events", "e.jsonl")+":2: wrong expectation") {
		t.Errorf("table:\n%s", table.String())
	}
	if err := verify.WriteJSON(&js, cases); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Failed int           `json:"failed"`
		Cases  []verify.Case `json:"cases"`
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil || decoded.Failed != verify.Count(cases, verify.Fail) || len(decoded.Cases) != len(cases) {
		t.Errorf("json: %v %+v", err, decoded.Failed)
	}
	if err := verify.WriteJUnit(&junit, cases); err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(junit.Bytes(), &suites); err != nil || suites.Failures != verify.Count(cases, verify.Fail) || len(suites.Suites) != 5 {
		t.Errorf("junit: %v %+v", err, suites)
	}
}

func TestTestRefusesAnEmptyDirectory(t *testing.T) {
	if _, err := verify.Test(context.Background(), t.TempDir(), verify.TestOptions{}); err == nil || !strings.Contains(err.Error(), "no .yar") {
		t.Errorf("got %v", err)
	}
}

func TestLintFindings(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	long := "title: long\nid: 9ab97f99-8e6a-5bc5-b044-268ed969c04d\nstatus: experimental\ndescription: d\nauthor: a\ndate: 2024-01-01\ntags:\n    - attack.t1060\nlogsource:\n    category: dns_query\ndetection:\n    selection:\n        QueryName:\n"
	for i := range 5 {
		long += "            - 'c2-" + string(rune('a'+i)) + ".net'\n"
	}
	long += "    condition: selection\nfalsepositives:\n    - Unlikely\nlevel: high\n"
	dir := writeTree(t, map[string]string{
		"yara/a.yar":      goodYARA,
		"yara/b.yar":      strings.Replace(goodYARA, `reference = "https://example.org/r"`, `mitre_attack = "T1060, T1059"`, 1),
		"yara/short.yar":  "rule Short {\n    meta:\n        description = \"d\"\n        author = \"a\"\n        date = \"2024-01-01\"\n        reference = \"r\"\n    strings:\n        $a = \"ab\"\n        $h = { 4D 5A ?? 00 }\n    condition:\n        $a or $h or filesize < 10\n}\n",
		"yara/nometa.yar": "rule NoMeta { condition: false }\n",
		"sigma/a.yml":     goodSigma,
		"sigma/b.yml":     long,
	})
	cases, err := verify.Lint(dir, verify.LintOptions{MaxValues: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		check, file string
		line        int
		status      verify.Status
		message     string
	}{
		{"duplicate-rule-name", "yara/b.yar", 1, verify.Fail, "rule Good_C2 is also defined at " + filepath.Join(dir, "yara", "a.yar") + ":1"},
		{"missing-meta", "yara/b.yar", 1, verify.Warn, "no reference"},
		{"attack-id", "yara/b.yar", 1, verify.Warn, "T1060 is revoked or deprecated: use T1547.001"},
		{"short-string", "yara/short.yar", 8, verify.Warn, "string $a is 2 bytes"},
		{"short-string", "yara/short.yar", 9, verify.Warn, "string $h is 2 bytes"},
		{"matches-empty-file", "yara/short.yar", 1, verify.Fail, "rule Short matches an empty file"},
		{"missing-meta", "yara/nometa.yar", 1, verify.Fail, "rule NoMeta has no description meta"},
		{"duplicate-id", "sigma/b.yml", 2, verify.Fail, "id 9ab97f99-8e6a-5bc5-b044-268ed969c04d is also the id of " + filepath.Join(dir, "sigma", "a.yml") + ":2"},
		{"missing-field", "sigma/b.yml", 1, verify.Warn, "no references"},
		{"long-value-list", "sigma/b.yml", 14, verify.Warn, "field QueryName lists 5 values (more than 4)"},
		{"attack-id", "sigma/b.yml", 8, verify.Warn, "tag attack.t1060: T1060 is revoked"},
	} {
		found := false
		for _, c := range cases {
			if c.Name == want.check && c.File == filepath.Join(dir, filepath.FromSlash(want.file)) && c.Line == want.line && c.Status == want.status && strings.Contains(c.Message, want.message) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s %s %s:%d %q in\n%+v", want.status, want.check, want.file, want.line, want.message, cases)
		}
	}
	if c := find(cases, "lint", filepath.Join(dir, "sigma", "a.yml")); c == nil {
		t.Error("a clean file has no passing case")
	}
}

// lint reports, without YARA-X, what libyara accepts and YARA-X refuses or warns of. Each case
// is checked against both engines: libyara compiles it, YARA-X does not compile it clean.
func TestLintYARAXIncompatibilities(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	rule := func(strs, condition string) string {
		return "rule Portable\n{\n    meta:\n        description = \"d\"\n        author = \"a\"\n        date = \"2024-01-01\"\n        reference = \"r\"\n    strings:\n" +
			strs + "    condition:\n        " + condition + "\n}\n"
	}
	for _, c := range []struct {
		name, strs, condition string
		line                  int
		status                verify.Status
		message               string
	}{
		{"brace", "        $a = /config{x/ ascii\n", "$a", 9, verify.Fail, "{ starts no repetition"},
		{"escape", "        $a = /%TEMP%\\\\NewGame\\Release/ ascii\n", "$a", 9, verify.Fail, `\R is not an escape`},
		{"base64", "        $a = \"ab\" base64\n", "$a", 9, verify.Fail, "with base64"},
		{"duplicate", "        $a = \"same value\" ascii\n        $b = \"same value\" ascii\n", "any of them", 10, verify.Warn, "$b repeats $a"},
		// Rule sets in of came with YARA 4.3: libyara 4.2 refuses them too.
		{"of-wildcard", "        $a = \"value\" ascii\n", "$a and 1 of (Port*)", 11, verify.Fail, "rule-name wildcard"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := rule(c.strs, c.condition)
			dir := writeTree(t, map[string]string{"yara/p.yar": src})
			if _, _, err := yara.CompileLenient(yara.Source{Name: "p.yar", Text: src}); err != nil && c.name != "of-wildcard" {
				t.Fatalf("libyara refuses it: %v", err)
			}
			res, err := yarax.Check(golden.RepoRoot(t), filepath.Join(dir, "yara"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Clean() {
				t.Fatalf("YARA-X compiles it clean:\n%s", src)
			}
			cases, err := verify.Lint(dir, verify.LintOptions{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, lc := range cases {
				found = found || lc.Name == "yara-x" && lc.Line == c.line && lc.Status == c.status && strings.Contains(lc.Message, c.message)
			}
			if !found {
				t.Errorf("no %s yara-x finding at line %d %q in %+v", c.status, c.line, c.message, cases)
			}
		})
	}
	// The committed rules have no such finding.
	cases, err := verify.Lint(filepath.Join(golden.RepoRoot(t), "rules"), verify.LintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.Name == "yara-x" {
			t.Errorf("committed rules: %+v", c)
		}
	}
}

// TestLintAgreesWithSigmaCheck: rulegen lint finds in a Sigma rules directory what SigmaHQ's
// sigma check (under testdata/pysigma/sigma-check.yml) fails it on, so that a repository
// without Python gets the same verdict: a file name used twice, a file name SigmaHQ's tools
// refuse, a title used twice, a title word in lower case, a title over 120 characters, a
// modified not after date.
func TestLintAgreesWithSigmaCheck(t *testing.T) {
	rule := func(id, title, dates string) string {
		r := strings.Replace(goodSigma, "9ab97f99-8e6a-5bc5-b044-268ed969c04d", id, 1)
		r = strings.Replace(r, "'T - C2 DNS Query'", "'"+title+"'", 1)
		return strings.Replace(r, "date: 2024-01-01\n", dates, 1)
	}
	good := func(id string) string {
		return rule(id, "Evil Corp ("+strings.ToUpper(id[:8])+") - C2 DNS Query", "date: 2024-01-01\n")
	}
	const goodID, id2 = "9ab97f99-8e6a-5bc5-b044-268ed969c04d", "0d3b7c55-2f0e-5b9e-9a51-4a8b8f3c6e21"
	for _, c := range []struct {
		name  string
		files map[string]string
		check string // the lint finding expected; "" for none
	}{
		{"clean", map[string]string{"sigma/a/dns_query_win_evil_a.yml": good(goodID), "sigma/b/dns_query_win_evil_b.yml": good(id2)}, ""},
		{"duplicate-file-name", map[string]string{"sigma/a/dns_query_win_evil.yml": good(goodID), "sigma/b/dns_query_win_evil.yml": good(id2)}, "duplicate-file-name"},
		{"duplicate-title", map[string]string{"sigma/a/dns_query_win_evil_a.yml": good(goodID), "sigma/b/dns_query_win_evil_b.yml": strings.Replace(good(id2), "(0D3B7C55)", "(9AB97F99)", 1)}, "duplicate-title"},
		{"file-name", map[string]string{"sigma/a/Dns-Query.yml": good(goodID)}, "file-name"},
		{"title-case", map[string]string{"sigma/a/dns_query_win_evil.yml": rule(goodID, "evil corp beacons - C2 DNS Query", "date: 2024-01-01\n")}, "title"},
		{"title-length", map[string]string{"sigma/a/dns_query_win_evil.yml": rule(goodID, strings.Repeat("Evil ", 30)+"- C2", "date: 2024-01-01\n")}, "title"},
		{"modified", map[string]string{"sigma/a/dns_query_win_evil.yml": rule(goodID, "Evil Corp - C2 DNS Query", "date: 2024-01-01\nmodified: 2024-01-01\n")}, "modified"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeTree(t, c.files)
			cases, err := verify.Lint(dir, verify.LintOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var found []string
			for _, lc := range cases {
				if lc.Status != verify.Pass {
					found = append(found, lc.Name+": "+lc.Message)
				}
			}
			out, checkErr := pysigma.Check(golden.RepoRoot(t), filepath.Join(dir, "sigma"))
			if c.check == "" {
				if len(found) > 0 || checkErr != nil {
					t.Fatalf("lint %v; sigma check: %v\n%s", found, checkErr, out)
				}
				return
			}
			if checkErr == nil {
				t.Fatalf("sigma check passes it:\n%s", out)
			}
			if !slices.ContainsFunc(found, func(f string) bool { return strings.HasPrefix(f, c.check+": ") }) {
				t.Fatalf("lint found %v, want %s; sigma check:\n%s", found, c.check, out)
			}
		})
	}
}
