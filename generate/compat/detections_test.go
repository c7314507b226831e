package compat_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/export"
	"github.com/rulegen/rulegen/generate/internal/golden"
)

// detectionIDs reads what a detection target's export holds: each deployed rule's id (as the
// platform knows it), its name and its version.
func detectionIDs(t *testing.T, target, dir string) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	switch target {
	case "elastic":
		for _, r := range readNDJSON(t, filepath.Join(dir, "rules.ndjson")) {
			out[r.RuleID] = [2]string{r.Name, strconv.Itoa(r.Version)}
		}
	case "splunk":
		for name, s := range readConf(t, filepath.Join(dir, "default", "savedsearches.conf")) {
			m := regexp.MustCompile(`"detection_version":"(\d+)"`).FindStringSubmatch(s["action.correlationsearch.metadata"])
			if m == nil {
				t.Fatalf("%s: no version in %v", name, s)
			}
			out[name] = [2]string{s["action.correlationsearch.label"], m[1]}
		}
	case "sentinel":
		for id, r := range readSentinel(t, dir) {
			out[id] = [2]string{r.Name, strings.TrimSuffix(r.Version, ".0.0")}
		}
	}
	return out
}

// deployedID is the id a detection target knows a Sigma rule's only query by.
func deployedID(target, sigmaID string) string {
	switch target {
	case "splunk":
		return export.SplunkStanza(sigmaID)
	case "sentinel":
		return export.SentinelID(sigmaID)
	}
	return sigmaID
}

// Over three runs of every detection target: a rule renamed (a new title and file name) keeps
// its id and version; a rule whose values change keeps its id and rises a version; a rule
// retired is gone from the export and listed for deletion by its id; the others stay at 1.
func TestDetectionTargetsKeepIDsRaiseVersionsListRetired(t *testing.T) {
	root := golden.RepoRoot(t)
	for _, target := range []string{"elastic", "splunk", "sentinel"} {
		t.Run(target, func(t *testing.T) {
			rules := filepath.Join(t.TempDir(), "rules")
			if err := os.CopyFS(rules, os.DirFS(filepath.Join(root, "rules"))); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(rules, "sigma", "remcos_rat_02_28_20", "*.yml"))
			slices.Sort(files)
			renamed, changed, retired := files[0], files[1], files[2]
			ids := map[string]string{}
			for _, f := range []string{renamed, changed, retired} {
				ids[f] = deployedID(target, sigmaID(t, f))
			}
			out := filepath.Join(t.TempDir(), target)
			opts := export.Options{Target: target, Rules: rules, Out: out, Python: venvPython(t, root)}
			run := func(wantDeletions int) map[string][2]string {
				t.Helper()
				res, err := export.Export(opts)
				if err != nil || res.Deletions != wantDeletions {
					t.Fatalf("%+v, %v", res, err)
				}
				return detectionIDs(t, target, out)
			}
			first := run(0)
			for _, f := range []string{renamed, changed, retired} {
				if first[ids[f]][1] != "1" {
					t.Fatalf("%s is not exported as %s, version 1: %v", f, ids[f], first[ids[f]])
				}
			}

			// Run 2: a new title and file name; new values.
			body, _ := os.ReadFile(renamed)
			title := regexp.MustCompile(`(?m)^title: .*$`)
			golden.WriteFile(t, strings.TrimSuffix(renamed, ".yml")+"_renamed.yml", title.ReplaceAllString(string(body), "title: 'A title of its own'"))
			if err := os.Remove(renamed); err != nil {
				t.Fatal(err)
			}
			body, _ = os.ReadFile(changed)
			edited := regexp.MustCompile(`(?m)^(\s+- ')([^']+)'$`).ReplaceAllString(string(body), "${1}${2}x'")
			if edited == string(body) {
				t.Fatalf("nothing to change in %s", changed)
			}
			golden.WriteFile(t, changed, edited)
			second := run(0)
			if got := second[ids[renamed]]; got[0] != "A title of its own" || got[1] != "1" {
				t.Errorf("renamed rule: %v, want its id %s kept at version 1 with its new title", got, ids[renamed])
			}
			if got := second[ids[changed]]; got[1] != "2" {
				t.Errorf("changed rule %s: version %s, want 2", ids[changed], got[1])
			}

			// Run 3: retired.
			if err := os.Remove(retired); err != nil {
				t.Fatal(err)
			}
			third := run(1)
			if _, ok := third[ids[retired]]; ok {
				t.Errorf("the retired rule %s is still exported", ids[retired])
			}
			if !deletionListed(t, out, ids[retired]) {
				t.Errorf("the retired rule %s is not listed for deletion", ids[retired])
			}
			for id, v := range third {
				if want := map[bool]string{true: "2", false: "1"}[id == ids[changed]]; v[1] != want {
					t.Errorf("%s: version %s, want %s", id, v[1], want)
				}
			}
		})
	}
}

// deletionListed says whether the export's deletion list names id on a line or as a rule_id.
func deletionListed(t *testing.T, dir, id string) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "delete.*"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == id || line == `"rule_id": "`+id+`"` {
				return true
			}
		}
	}
	return false
}

// TestExportTableInREADME exports rules/ for every target and writes the README's table of
// targets: what each writes, how the platform loads it, what it takes, and what it took of
// rules/ (as of 2026-12-01, so that expiry does not move the figures).
func TestExportTableInREADME(t *testing.T) {
	root := golden.RepoRoot(t)
	var b strings.Builder
	b.WriteString("| target | files | loaded by | takes | limits | of `rules/` |\n|---|---|---|---|---|---|\n")
	for _, target := range export.Targets() {
		doc, ok := export.Docs[target]
		if !ok {
			t.Fatalf("target %s has no doc", target)
		}
		res, err := export.Export(export.Options{Target: target, Rules: filepath.Join(root, "rules"),
			Out: filepath.Join(t.TempDir(), target), Python: venvPython(t, root), AsOf: "2026-12-01"})
		if err != nil {
			t.Fatal(err)
		}
		var took string
		if export.WritesDetections(target) {
			took = fmt.Sprintf("%d rules of %d Sigma rules", res.Rules, res.Sigma)
			if res.Split > 0 {
				took += fmt.Sprintf(" (%d past the limit, in parts)", res.Split)
			}
		} else {
			took = fmt.Sprintf("%d indicators; %d listed", res.Indicators, res.Unsupported)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", target, doc.Files, doc.LoadedBy, doc.Needs, doc.Limits, took)
	}
	assertREADMEBlock(t, root, "export table", "TestExportTableInREADME", b.String())
}

// Rules a third party wrote are untrusted: a title that would close a .conf stanza and open
// another, a description ending in a backslash, an id that is no UUID (with a tab in it). Every
// detection target writes the first as data that its format's parser reads back as one rule,
// and lists the second with the backend's reason, its line intact.
func TestDetectionExportOfHostileRules(t *testing.T) {
	root := golden.RepoRoot(t)
	rules := filepath.Join(t.TempDir(), "rules")
	hostile := "title: \"Evil]\\n[rulegen injected]\\nsearch = | delete\"\nid: 5d1e0f9b-8a53-4c5e-9d43-6a1f0b0c2e11\n" +
		"description: 'ends in a backslash \\'\nlogsource:\n    product: windows\n    category: process_creation\n" +
		"detection:\n    selection:\n        Image|endswith: '\\evil.exe'\n    condition: selection\nlevel: high\n"
	golden.WriteFile(t, filepath.Join(rules, "sigma", "passed", "proc_creation_hostile.yml"), hostile)
	golden.WriteFile(t, filepath.Join(rules, "sigma", "passed", "proc_creation_bad_id.yml"),
		strings.Replace(hostile, "5d1e0f9b-8a53-4c5e-9d43-6a1f0b0c2e11", "\"not-a-uuid\\tx\"", 1))
	for _, target := range []string{"elastic", "splunk", "sentinel"} {
		out := filepath.Join(t.TempDir(), target)
		res, err := export.Export(export.Options{Target: target, Rules: rules, Out: out, Python: venvPython(t, root)})
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		deployed := detectionIDs(t, target, out)
		if res.Rules != 1 || res.Unsupported != 1 || len(deployed) != 1 {
			t.Errorf("%s: %+v, read back %v", target, res, deployed)
		}
		for _, v := range deployed {
			if !strings.HasPrefix(v[0], "Evil]") {
				t.Errorf("%s: the title read back is %q", target, v[0])
			}
		}
		listed, _ := os.ReadFile(filepath.Join(out, "unsupported.tsv"))
		for line := range strings.Lines(string(listed)) {
			if !strings.HasPrefix(line, "#") && len(strings.Split(line, "\t")) != 3 {
				t.Errorf("%s: unsupported.tsv line of %d fields: %q", target, len(strings.Split(line, "\t")), line)
			}
		}
	}
}
