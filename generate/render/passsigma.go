package render

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/report"
)

// PassedSigma writes an analyst's Sigma rule of the report (a MISP sigma attribute, a
// publication's Sigma file; the i-th passed through, from 0) as the file
// sigma/<slug>/passed_<i+1>_<slug>.yml: as written, but with a stable id when it has none (or
// one that is no UUID), the report's TLP among its tags, and what rulegen lint asks of every
// rule when the rule lacks it (see fillConventions), its title in title case. The pipeline validates the result like
// every generated rule, and quarantines it, and skips a rule that fails.
func PassedSigma(r *report.Normalized, a report.Attribute, i int) (File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(a.Value), &doc); err != nil {
		return File{}, fmt.Errorf("not YAML: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return File{}, fmt.Errorf("not a Sigma rule: a YAML mapping is expected")
	}
	rule := doc.Content[0]
	title := mappingValue(rule, "title")
	if id := mappingValue(rule, "id"); id == nil || !report.IsUUID(id.Value) {
		setMapping(rule, "id", report.StableID(r.ID, "sigma-passed", fmt.Sprint(i)), "title")
	}
	if tlp := sigmaTLP[r.TLP]; tlp != "" {
		addTag(rule, tlp)
	}
	if title != nil {
		fillConventions(rule, r, title.Value)
		// SigmaHQ's tools flag a title word in lower case, and the repository's gate runs them.
		title.Value = TitleCase(title.Value)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(4)
	if err := enc.Encode(&doc); err != nil {
		return File{}, err
	}
	if title == nil {
		return File{}, fmt.Errorf("a Sigma rule without a title")
	}
	name := SigmaFileName(fmt.Sprintf("passed_%d", i+1), r.Slug)
	return File{Path: path.Join("sigma", r.Slug, name), Body: b.Bytes()}, nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setMapping sets key to a string value, after the key named after (or first) when it is new.
func setMapping(m *yaml.Node, key, value, after string) {
	if v := mappingValue(m, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Style = yaml.ScalarNode, "!!str", value, 0
		return
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	at := 0
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == after {
			at = i + 2
		}
	}
	m.Content = append(m.Content[:at], append([]*yaml.Node{k, v}, m.Content[at:]...)...)
}

// addTag adds tag to the rule's tags unless a tag of its namespace is there.
func addTag(m *yaml.Node, tag string) {
	tags := sequence(m, "tags", "date")
	ns, _, _ := strings.Cut(tag, ".")
	for _, t := range tags.Content {
		if strings.HasPrefix(t.Value, ns+".") {
			return
		}
	}
	tags.Content = append(tags.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: tag})
}

// fillConventions gives a rule written elsewhere what rulegen lint asks of every rule, where
// it lacks it: a description naming it and its publication, the publication's authors and
// date (a date written 2024/03/04 is written 2024-03-04), a status of experimental (rulegen
// has not seen it fire), unknown false positives, a medium level, and tags.
func fillConventions(rule *yaml.Node, r *report.Normalized, title string) {
	defaults := []struct{ key, value, after string }{
		{"status", "experimental", "id"},
		{"description", title + ", a rule of " + r.Title, "status"},
		{"author", "the authors of " + r.Title, "description"},
		{"date", r.Date, "author"},
		{"level", "medium", ""},
	}
	for _, d := range defaults {
		if v := mappingValue(rule, d.key); v == nil || strings.TrimSpace(v.Value) == "" && v.Kind == yaml.ScalarNode {
			setMapping(rule, d.key, d.value, d.after)
		}
	}
	if date := mappingValue(rule, "date"); date != nil && slashedDate.MatchString(date.Value) {
		date.Value, date.Style = strings.ReplaceAll(date.Value, "/", "-"), 0
	}
	sequence(rule, "tags", "date")
	if mappingValue(rule, "falsepositives") == nil {
		sequence(rule, "falsepositives", "detection").Content = []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "Unknown"}}
	}
}

// sequence is the rule's list under key, a new empty one (after the key named after) when it
// has none.
func sequence(m *yaml.Node, key, after string) *yaml.Node {
	if v := mappingValue(m, key); v != nil {
		return v
	}
	setMapping(m, key, "", after)
	v := mappingValue(m, key)
	v.Kind, v.Tag, v.Value = yaml.SequenceNode, "!!seq", ""
	return v
}

// slashedDate is a date written with slashes, as older Sigma rules do.
var slashedDate = regexp.MustCompile(`^\d{4}/\d{2}/\d{2}$`)
