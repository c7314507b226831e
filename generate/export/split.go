package export

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// errNotSplittable says a Sigma rule is not a list of alternatives that parts can share.
var errNotSplittable = errors.New("its condition is not one of a set of selections (1 of selection_*), which rulegen splits")

// splitRule cuts a Sigma rule whose condition is any one of its selections ("1 of
// selection_*", "1 of them" or a single selection) into n rules of the same meta, each with
// about a 1/n share of the alternatives: a value of a one-field selection's list is an
// alternative, as is a selection of several fields (which must all match) whole. An event one
// of the parts matches is one the rule matches, and the other way round.
func splitRule(text []byte, n int) ([][]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || len(doc.Content) != 1 {
		return nil, fmt.Errorf("not one YAML document: %v", err)
	}
	detection := mapValue(doc.Content[0], "detection")
	if detection == nil || detection.Kind != yaml.MappingNode {
		return nil, errNotSplittable
	}
	cond := mapValue(detection, "condition")
	if cond == nil || cond.Kind != yaml.ScalarNode {
		return nil, errNotSplittable
	}
	chosen, ok := alternativesOf(cond.Value)
	if !ok {
		return nil, errNotSplittable
	}
	type alternative struct {
		selection int        // index of the selection's key in detection.Content
		value     *yaml.Node // a value of the selection's one field; nil for the whole selection
	}
	var alts []alternative
	for i := 0; i+1 < len(detection.Content); i += 2 {
		name, sel := detection.Content[i].Value, detection.Content[i+1]
		if name == "condition" {
			continue
		}
		if !chosen(name) || sel.Kind != yaml.MappingNode {
			return nil, errNotSplittable // a selection the condition does not take as an alternative
		}
		if len(sel.Content) == 2 && sel.Content[1].Kind == yaml.SequenceNode && !strings.Contains(sel.Content[0].Value, "|all") {
			for _, v := range sel.Content[1].Content {
				alts = append(alts, alternative{i, v})
			}
			continue
		}
		alts = append(alts, alternative{selection: i})
	}
	if len(alts) < 2 || n < 2 {
		return nil, errNotSplittable
	}
	n = min(n, len(alts))
	original := detection.Content
	var parts [][]byte
	for p := range n {
		share := alts[p*len(alts)/n : (p+1)*len(alts)/n]
		var content []*yaml.Node
		for i := 0; i+1 < len(original); i += 2 {
			if original[i].Value == "condition" {
				content = append(content, original[i], original[i+1])
				continue
			}
			sel := original[i+1]
			var values []*yaml.Node
			whole := false
			for _, a := range share {
				if a.selection == i {
					if a.value == nil {
						whole = true
					} else {
						values = append(values, a.value)
					}
				}
			}
			switch {
			case whole:
				content = append(content, original[i], sel)
			case len(values) > 0:
				list := *sel.Content[1]
				list.Content = values
				part := *sel
				part.Content = []*yaml.Node{sel.Content[0], &list}
				content = append(content, original[i], &part)
			}
		}
		detection.Content = content
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(4)
		if err := enc.Encode(&doc); err != nil {
			return nil, err
		}
		enc.Close()
		parts = append(parts, b.Bytes())
	}
	detection.Content = original
	return parts, nil
}

// alternativesOf says which selections a condition takes any one of: "1 of NAME*", "1 of
// them", or a single selection's name.
func alternativesOf(condition string) (func(string) bool, bool) {
	c := strings.Join(strings.Fields(condition), " ")
	if c == "1 of them" || c == "any of them" {
		return func(string) bool { return true }, true
	}
	for _, lead := range []string{"1 of ", "any of "} {
		if prefix, ok := strings.CutPrefix(c, lead); ok && strings.HasSuffix(prefix, "*") && !strings.ContainsAny(prefix, " ()") {
			prefix = strings.TrimSuffix(prefix, "*")
			return func(name string) bool { return strings.HasPrefix(name, prefix) }, true
		}
	}
	if c != "" && !strings.ContainsAny(c, " ()*|") {
		return func(name string) bool { return name == c }, true
	}
	return nil, false
}

// mapValue is the value of key in a YAML mapping, nil when it has none.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
