package output_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/output"
)

// --attack-layer writes a Navigator layer of format 4.5 with the fields and types the format
// requires, one entry per technique and tactic that the Sigma rules tag, each scored by the
// number of rules tagging it and naming them and their reports; a rerun writes the same bytes.
func TestAttackLayer(t *testing.T) {
	reports := filepath.Join(golden.RepoRoot(t), "testdata", "reports")
	out := filepath.Join(t.TempDir(), "rules")
	layerPath := filepath.Join(t.TempDir(), "layer.json")
	sum, err := output.Generate(context.Background(), []string{reports}, output.Options{Out: out, AttackLayer: layerPath})
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(layerPath)
	if err != nil {
		t.Fatal(err)
	}
	var layer map[string]any
	if err := json.Unmarshal(first, &layer); err != nil {
		t.Fatal(err)
	}
	versions, _ := layer["versions"].(map[string]any)
	if name, _ := layer["name"].(string); name == "" || layer["domain"] != "enterprise-attack" ||
		versions["layer"] != "4.5" || versions["navigator"] != "4.9.0" || versions["attack"] == nil {
		t.Fatalf("layer header: %.300s", first)
	}
	// What the rules tag, read here from the rule files: technique id → rule paths.
	tagged := map[string][]string{}
	sigmaFiles, _ := filepath.Glob(filepath.Join(out, "sigma", "*", "*.yml"))
	for _, f := range sigmaFiles {
		var rule struct{ Tags []string }
		data, _ := os.ReadFile(f)
		if err := yaml.Unmarshal(data, &rule); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(out, f)
		for _, tag := range rule.Tags {
			if regexp.MustCompile(`^attack\.t\d{4}(\.\d{3})?$`).MatchString(tag) {
				id := strings.ToUpper(strings.TrimPrefix(tag, "attack."))
				tagged[id] = append(tagged[id], filepath.ToSlash(rel))
			}
		}
	}
	techniques, _ := layer["techniques"].([]any)
	if len(techniques) == 0 || len(techniques) != sum.AttackTechniques {
		t.Fatalf("%d technique entries, summary says %d", len(techniques), sum.AttackTechniques)
	}
	scored := map[string]bool{}
	for _, e := range techniques {
		entry := e.(map[string]any)
		id, _ := entry["techniqueID"].(string)
		tactic, _ := entry["tactic"].(string)
		score, isNumber := entry["score"].(float64)
		if !regexp.MustCompile(`^T\d{4}(\.\d{3})?$`).MatchString(id) || tactic == "" || !isNumber {
			t.Errorf("bad entry %v", entry)
			continue
		}
		var rules []string
		reports := 0
		for _, m := range entry["metadata"].([]any) {
			meta := m.(map[string]any)
			value, _ := meta["value"].(string)
			switch meta["name"] {
			case "rule":
				rules = append(rules, value)
			case "report":
				reports++
			default:
				t.Errorf("%s: metadata %v", id, meta)
			}
		}
		slices.Sort(tagged[id])
		if int(score) != len(tagged[id]) || !slices.Equal(rules, tagged[id]) || reports == 0 {
			t.Errorf("%s %s: score %v, rules %v, want %v", id, tactic, score, rules, tagged[id])
		}
		scored[id] = true
	}
	for id := range tagged {
		if !scored[id] {
			t.Errorf("%s is tagged but not in the layer", id)
		}
	}
	if !scored["T1571"] || !scored["T1547.001"] {
		t.Errorf("the seed report's C2 and Run-key techniques are missing: %v", scored)
	}
	if _, err := output.Generate(context.Background(), []string{reports}, output.Options{Out: out, AttackLayer: layerPath}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(layerPath); !bytes.Equal(again, first) {
		t.Error("a rerun wrote another layer")
	}
}
