package compat_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/export"
	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/pysigma"
	"github.com/rulegen/rulegen/generate/normalize"
)

// sentinelTactics are the tactics Sentinel takes (Azure-Sentinel's AttackTactic).
var sentinelTactics = []string{"InitialAccess", "Execution", "Persistence", "PrivilegeEscalation", "DefenseEvasion",
	"CredentialAccess", "Discovery", "LateralMovement", "Collection", "Exfiltration", "CommandAndControl", "Impact",
	"Reconnaissance", "ResourceDevelopment", "ImpairProcessControl", "InhibitResponseFunction"}

// readSentinel parses every <id>.yaml of dir back, refusing a field the rule schema does not
// have, and holds each to the checks Azure-Sentinel's template validation makes.
func readSentinel(t *testing.T, dir string) map[string]export.SentinelRule {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	out := map[string]export.SentinelRule{}
	version := regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		var r export.SentinelRule
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := uuid.Parse(r.ID); err != nil || filepath.Base(f) != r.ID+".yaml" {
			t.Errorf("%s: id %q is not the file's GUID", f, r.ID)
		}
		n := utf8.RuneCountInString
		freq, period := sentinelSpan(t, r.QueryFrequency), sentinelSpan(t, r.QueryPeriod)
		if r.Name == "" || n(r.Name) > 256 || r.Description == "" || n(r.Description) > 5000 || r.Query == "" ||
			n(r.Query) > export.SentinelMaxQuery || r.Kind != "Scheduled" || !version.MatchString(r.Version) ||
			!slices.Contains([]string{"Informational", "Low", "Medium", "High"}, r.Severity) ||
			!slices.Contains([]string{"gt", "lt", "eq", "ne"}, r.TriggerOperator) || r.TriggerThreshold < 0 || r.TriggerThreshold > 10000 ||
			freq < 5*time.Minute || freq > 14*24*time.Hour || period < freq || period > 14*24*time.Hour || r.RequiredDataConnectors == nil {
			t.Errorf("%s: a rule Sentinel's validation refuses: %+v", f, r)
		}
		for _, ta := range r.Tactics {
			if !slices.Contains(sentinelTactics, ta) {
				t.Errorf("%s: tactic %q", f, ta)
			}
		}
		for _, id := range r.RelevantTechniques { // each technique's tactics must all be listed
			tech, err := normalize.Technique(id)
			if err != nil {
				t.Errorf("%s: technique %q: %v", f, id, err)
			}
			for _, name := range tech.Tactics {
				if name == "stealth" || name == "defense-impairment" { // ATT&CK v18's; Sentinel's predate it
					name = "defense-evasion"
				}
				words := strings.Split(name, "-")
				for i, w := range words {
					words[i] = strings.ToUpper(w[:1]) + w[1:]
				}
				if name != "" && !slices.Contains(r.Tactics, strings.Join(words, "")) {
					t.Errorf("%s: technique %s without its tactic %s", f, id, name)
				}
			}
		}
		out[r.ID] = r
	}
	return out
}

// sentinelSpan reads a rule's <number><m|h|d> duration.
func sentinelSpan(t *testing.T, s string) time.Duration {
	t.Helper()
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}
	n, err := strconv.Atoi(s[:max(0, len(s)-1)])
	if err != nil || s == "" || unit[s[len(s)-1]] == 0 {
		t.Errorf("duration %q", s)
		return 0
	}
	return time.Duration(n) * unit[s[len(s)-1]]
}

// TestSentinelExportOfCommittedRules exports rules/ for Sentinel and reads the YAML back: a rule
// per Sigma rule, or its parts when its query is past 10,000 characters, each query the one
// pySigma's Kusto backend gives with the same pipelines (the harness converts as sigma-cli);
// the parts of a rule together hold every value of its query.
func TestSentinelExportOfCommittedRules(t *testing.T) {
	root := golden.RepoRoot(t)
	out := filepath.Join(t.TempDir(), "sentinel")
	res, err := export.Export(export.Options{Target: "sentinel", Rules: filepath.Join(root, "rules"), Out: out, Python: venvPython(t, root)})
	if err != nil {
		t.Fatal(err)
	}
	rules := readSentinel(t, out)
	verdicts, err := pysigma.Convert(root, filepath.Join(root, "rules", "sigma"))
	if err != nil {
		t.Fatal(err)
	}
	whole, split := 0, 0
	for _, v := range verdicts {
		if v.Target != "kusto, Sentinel ASIM + rulegen's tables (export)" {
			continue
		}
		if v.Error != "" || len(v.Queries) != 1 {
			t.Fatalf("%s: the harness does not convert it: %s", v.Rule, v.Error)
		}
		id := sigmaID(t, filepath.Join(root, "rules", "sigma", v.Rule+".yml"))
		if r, ok := rules[id]; ok {
			whole++
			if r.Query != v.Queries[0] {
				t.Errorf("%s: exported query differs from pySigma's:\n%s\n%s", v.Rule, r.Query, v.Queries[0])
			}
			continue
		}
		if utf8.RuneCountInString(v.Queries[0]) <= export.SentinelMaxQuery {
			t.Errorf("%s: a query within the limit is not exported whole", v.Rule)
			continue
		}
		split++
		var parts []string
		for n := 1; ; n++ {
			r, ok := rules[export.SentinelID(id+"-part"+strconv.Itoa(n))]
			if !ok {
				break
			}
			parts = append(parts, r.Query)
		}
		if len(parts) < 2 {
			t.Errorf("%s: a query of %d characters has %d parts", v.Rule, len(v.Queries[0]), len(parts))
		}
		for _, value := range regexp.MustCompile(`"[^"]+"`).FindAllString(v.Queries[0], -1) {
			if !slices.ContainsFunc(parts, func(p string) bool { return strings.Contains(p, value) }) {
				t.Errorf("%s: value %s is in no part", v.Rule, value)
			}
		}
	}
	if whole == 0 || split == 0 || res.Rules != len(rules) || res.Unsupported != 0 {
		t.Errorf("%d exported whole, %d in parts, %d rules written, export says %+v", whole, split, len(rules), res)
	}
	t.Logf("%d rules whole, %d in parts: %d Sentinel rules", whole, split, len(rules))
}
