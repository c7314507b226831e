package runreport

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/atomicfile"
	"github.com/rulegen/rulegen/generate/normalize"
)

// An ATT&CK Navigator layer shows, on the ATT&CK matrix, which techniques the rules detect:
// each technique a Sigma rule of the output tags, under each of its tactics, scored by how many
// rules tag it, with those rules and their reports in its metadata. Layer format 4.5
// (mitre-attack/attack-navigator layers/spec/v4.5/layerformat.md).
const (
	layerFormat     = "4.5"
	layerNavigator  = "4.9.0" // the oldest Navigator that reads format 4.5
	layerAttackData = "19"    // the ATT&CK version of the bundled technique table
)

type navigatorLayer struct {
	Name        string           `json:"name"`
	Versions    layerVersions    `json:"versions"`
	Domain      string           `json:"domain"`
	Description string           `json:"description"`
	Techniques  []layerTechnique `json:"techniques"`
	Gradient    layerGradient    `json:"gradient"`
}

type layerVersions struct {
	Attack    string `json:"attack"`
	Navigator string `json:"navigator"`
	Layer     string `json:"layer"`
}

type layerTechnique struct {
	TechniqueID string      `json:"techniqueID"`
	Tactic      string      `json:"tactic"`
	Score       int         `json:"score"`
	Metadata    []layerMeta `json:"metadata"`
}

type layerMeta struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type layerGradient struct {
	Colors   []string `json:"colors"`
	MinValue int      `json:"minValue"`
	MaxValue int      `json:"maxValue"`
}

// WriteAttackLayer writes the layer of the Sigma rules under out (retired ones left out) to
// path, atomically, and returns how many techniques it scores. Reports are named by the
// report index the run wrote.
func WriteAttackLayer(out, path string) (int, error) {
	layer, err := attackLayer(out)
	if err != nil {
		return 0, fmt.Errorf("--attack-layer: %w", err)
	}
	err = atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(layer)
	})
	if err != nil {
		return 0, fmt.Errorf("--attack-layer: %w", err)
	}
	return len(layer.Techniques), nil
}

func attackLayer(out string) (*navigatorLayer, error) {
	taggedBy, err := techniqueRules(out)
	if err != nil {
		return nil, err
	}
	layer := &navigatorLayer{
		Name:        "rulegen: " + filepath.Base(out),
		Versions:    layerVersions{Attack: layerAttackData, Navigator: layerNavigator, Layer: layerFormat},
		Domain:      "enterprise-attack",
		Description: "ATT&CK techniques the Sigma rules tag, scored by the number of rules",
		Techniques:  []layerTechnique{},
		Gradient:    layerGradient{Colors: []string{"#ffffff", "#66b1ff"}, MinValue: 0, MaxValue: 1},
	}
	for id, rules := range taggedBy {
		t, err := normalize.Technique(id)
		if err != nil || t.ID != id {
			continue // not a current technique: lint reports it
		}
		var meta []layerMeta
		reports := map[string]bool{}
		for _, r := range rules {
			meta = append(meta, layerMeta{Name: "rule", Value: r.path})
			reports[r.report] = true
		}
		for _, id := range slices.Sorted(maps.Keys(reports)) {
			meta = append(meta, layerMeta{Name: "report", Value: id})
		}
		for _, tactic := range t.Tactics {
			layer.Techniques = append(layer.Techniques, layerTechnique{TechniqueID: id, Tactic: tactic, Score: len(rules), Metadata: meta})
		}
		layer.Gradient.MaxValue = max(layer.Gradient.MaxValue, len(rules))
	}
	slices.SortFunc(layer.Techniques, func(a, b layerTechnique) int {
		return cmp.Or(strings.Compare(a.TechniqueID, b.TechniqueID), strings.Compare(a.Tactic, b.Tactic))
	})
	return layer, nil
}

type taggedRule struct{ path, report string }

// techniqueRules maps each technique id the Sigma rules under out tag to those rules, sorted by
// path, reading the report index for which report each rule belongs to.
func techniqueRules(out string) (map[string][]taggedRule, error) {
	indexes, err := filepath.Glob(filepath.Join(out, filepath.FromSlash(IndexDir), "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(indexes)
	taggedBy := map[string][]taggedRule{}
	for _, p := range indexes {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var ri ReportIndex
		if err := json.Unmarshal(data, &ri); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, f := range ri.Files {
			if !strings.HasPrefix(f, "sigma/") || strings.HasPrefix(f, DeprecatedDir+"/") {
				continue
			}
			ids, err := sigmaTechniques(filepath.Join(out, filepath.FromSlash(f)))
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				taggedBy[id] = append(taggedBy[id], taggedRule{path: f, report: ri.ID})
			}
		}
	}
	for _, rules := range taggedBy {
		slices.SortFunc(rules, func(a, b taggedRule) int { return strings.Compare(a.path, b.path) })
	}
	return taggedBy, nil
}

// sigmaTechniques reads the technique ids (T1234, T1234.001) a Sigma rule's attack.t* tags name.
func sigmaTechniques(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rule struct{ Tags []string }
	if err := yaml.Unmarshal(data, &rule); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var ids []string
	for _, tag := range rule.Tags {
		if id, ok := strings.CutPrefix(tag, "attack.t"); ok && id != "" && id[0] >= '0' && id[0] <= '9' {
			ids = append(ids, "T"+strings.ToUpper(id))
		}
	}
	return ids, nil
}
