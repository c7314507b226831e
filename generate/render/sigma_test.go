package render_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/render"
)

// Each Sigma rule of the seed report claims only the report's techniques whose tactics its log
// source observes, and every tactic of each technique it claims. The seed lists T1036 and
// T1070.006, T1202 (stealth), T1059 (execution), T1547.001 (persistence, privilege-escalation),
// T1566.001 (initial-access), T1571 (command-and-control) and T1685 (defense-impairment).
func TestSigmaTagsPerRule(t *testing.T) {
	r := load(t, filepath.Join(golden.RepoRoot(t), "testdata", "reports", "remcos-rat-2020-03-03.md"))
	files := renderOne(t, r)
	want := map[string][]string{
		"dns_query":          {"attack.command-and-control", "attack.t1571"},
		"network_connection": {"attack.command-and-control", "attack.t1571"},
		"dns":                {"attack.command-and-control", "attack.t1571"},
		"firewall":           {"attack.command-and-control", "attack.t1571"},
		"proxy":              {"attack.command-and-control", "attack.t1571"},
		"registry_set":       {"attack.persistence", "attack.privilege-escalation", "attack.t1547.001"},
		"process_creation":   {"attack.execution", "attack.stealth", "attack.t1036", "attack.t1059", "attack.t1070.006", "attack.t1202"},
		"file_event":         {"attack.persistence", "attack.privilege-escalation", "attack.stealth", "attack.t1036", "attack.t1070.006", "attack.t1202", "attack.t1547.001"},
	}
	seen := 0
	for _, f := range files {
		if !strings.HasPrefix(f.Path, "sigma/") {
			continue
		}
		var rule struct {
			Tags      []string
			Logsource struct{ Category string }
		}
		if err := yaml.Unmarshal(f.Body, &rule); err != nil {
			t.Fatal(err)
		}
		var attack []string
		for _, tag := range rule.Tags {
			if strings.HasPrefix(tag, "attack.") {
				attack = append(attack, tag)
			}
		}
		if !slices.Equal(attack, want[rule.Logsource.Category]) {
			t.Errorf("%s: %v, want %v", f.Path, attack, want[rule.Logsource.Category])
		}
		// Every tagged technique's tactics are tagged too.
		for _, tag := range attack {
			if tech, err := normalize.Technique(strings.TrimPrefix(tag, "attack.")); err == nil {
				for _, tactic := range tech.Tactics {
					if !slices.Contains(attack, "attack."+tactic) {
						t.Errorf("%s: %s without its tactic %s", f.Path, tag, tactic)
					}
				}
			}
		}
		seen++
	}
	if seen != len(want) {
		t.Errorf("%d Sigma rules, want %d", seen, len(want))
	}
	// Every category a template writes has a row in the table.
	for category := range want {
		if render.ObservedTactics[category] == nil {
			t.Errorf("no tactics for %s", category)
		}
	}
}
