package export

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/sigma"
)

// eventsOf makes an event from each alternative of a rule (a value of a one-field selection,
// or a selection of several fields whole), whose field holds the value itself, which every
// modifier rulegen writes (none, endswith, contains, startswith) matches; and one event per
// field that no value matches.
func eventsOf(t *testing.T, text []byte) []map[string]any {
	t.Helper()
	var rule struct {
		Detection map[string]any `yaml:"detection"`
	}
	if err := yaml.Unmarshal(text, &rule); err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	for name, sel := range rule.Detection {
		fields, ok := sel.(map[string]any)
		if name == "condition" || !ok {
			continue
		}
		whole := map[string]any{}
		for key, v := range fields {
			field, _, _ := strings.Cut(key, "|")
			events = append(events, map[string]any{field: "rulegen-matches-nothing"})
			if list, ok := v.([]any); ok && len(fields) == 1 {
				for _, item := range list {
					events = append(events, map[string]any{field: item})
				}
				continue
			}
			whole[field] = v
		}
		if len(whole) > 0 {
			events = append(events, whole)
		}
	}
	return events
}

// Every committed Sigma rule of alternatives, cut into three parts: each part is a valid Sigma
// rule with fewer alternatives, and on an event of each alternative and on events that match
// none, some part fires exactly when the whole rule does (sigma-go evaluates both).
func TestSplitRulePartsMatchWhatTheRuleMatches(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(golden.RepoRoot(t), "rules", "sigma", "*", "*.yml"))
	split := 0
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := splitRule(text, 3)
		if err == errNotSplittable {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		split++
		whole, err := sigma.Load(file, text)
		if err != nil {
			t.Fatal(err)
		}
		var loaded []sigma.Rule
		for i, p := range parts {
			r, err := sigma.Load(file+" part", p)
			if err != nil {
				t.Fatalf("%s: part %d is no valid Sigma rule: %v\n%s", file, i+1, err, p)
			}
			if len(p) >= len(text) {
				t.Errorf("%s: part %d is no smaller than the rule", file, i+1)
			}
			loaded = append(loaded, r)
		}
		ruleEval, partsEval := sigma.NewEvaluator([]sigma.Rule{whole}), sigma.NewEvaluator(loaded)
		fired := 0
		for _, event := range eventsOf(t, text) {
			want, err := ruleEval.Matches(context.Background(), event)
			if err != nil {
				t.Fatal(err)
			}
			got, err := partsEval.Matches(context.Background(), event)
			if err != nil {
				t.Fatal(err)
			}
			if (len(want) > 0) != (len(got) > 0) {
				t.Errorf("%s: on %v the rule fires %v, its parts %v", file, event, want, got)
			}
			if len(want) > 0 {
				fired++
			}
		}
		if fired == 0 {
			t.Errorf("%s: no event of its own values fires the rule: the test proves nothing", file)
		}
	}
	if split < 10 {
		t.Errorf("only %d committed rules split", split)
	}
}

// A rule that is not one of a set of alternatives is not cut: a filter, an all-of list, a
// condition joining selections with and.
func TestSplitRuleRefusesWhatItCannotCutSafely(t *testing.T) {
	for _, detection := range []string{
		"selection:\n    Image|endswith: ['a.exe', 'b.exe']\nfilter:\n    User: 'x'\ncondition: selection and not filter",
		"selection_a:\n    CommandLine|contains|all: ['a', 'b', 'c']\ncondition: 1 of selection_*",
		"selection_a:\n    Image: ['a', 'b']\nselection_b:\n    User: ['c', 'd']\ncondition: selection_a and selection_b",
	} {
		text := "title: t\nid: 00000000-0000-4000-8000-000000000000\nlogsource:\n    category: process_creation\ndetection:\n    " +
			strings.ReplaceAll(detection, "\n", "\n    ") + "\n"
		if parts, err := splitRule([]byte(text), 2); err == nil {
			t.Errorf("cut a rule whose alternatives are not separable:\n%s\ninto %q", text, parts)
		}
	}
}
