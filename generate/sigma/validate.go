// Package sigma proves generated Sigma rules: each must validate against the Sigma rule JSON
// schema and SigmaHQ's conventions, parse with sigma-go, and fire on exactly the events it
// should when evaluated by sigma-go.
package sigma

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

//go:embed schema/sigma-detection-rule-schema.json
var schemaJSON []byte

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // the schema says id is a uuid: check it
	if err := c.AddResource("sigma-detection-rule-schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("sigma-detection-rule-schema.json")
})

var (
	tagPattern  = regexp.MustCompile(`^[a-z0-9_-]+\.[a-z0-9._-]+$`)
	datePattern = regexp.MustCompile(`^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$`)
	// SigmaHQ requires these beyond the schema's title, logsource and detection.
	conventionFields = []string{"id", "status", "description", "author", "date", "tags", "falsepositives", "level"}
	tagNamespaces    = map[string]bool{"attack": true, "car": true, "cve": true, "d3fend": true, "detection": true, "stp": true, "tlp": true}
	levels           = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}
)

// Validate checks a rule file against the JSON schema and the conventions every generated rule
// follows, and returns every problem found, each naming the file.
func Validate(name string, body []byte) error {
	_, err := parseAndValidate(name, body)
	return err
}

// parseAndValidate parses a rule file once and validates it; the node it returns decodes into
// sigma-go's rule without a second YAML parse.
func parseAndValidate(name string, body []byte) (*yaml.Node, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(body, &node); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &node, validateNode(name, &node)
}

func validateNode(name string, node *yaml.Node) error {
	if len(node.Content) == 0 {
		return fmt.Errorf("%s: empty rule", name)
	}
	doc := plain(node.Content[0])
	var problems []string
	schema, err := compiledSchema()
	if err != nil {
		return fmt.Errorf("sigma schema: %w", err)
	}
	if err := schema.Validate(doc); err != nil {
		problems = append(problems, "schema: "+strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	m, _ := doc.(map[string]any)
	problems = append(problems, conventions(m)...)
	if len(problems) > 0 {
		return fmt.Errorf("%s:\n  %s", name, strings.Join(problems, "\n  "))
	}
	return nil
}

func conventions(m map[string]any) []string {
	var problems []string
	for _, f := range conventionFields {
		if _, ok := m[f]; !ok {
			problems = append(problems, "missing field "+f)
		}
	}
	if id, ok := m["id"].(string); ok {
		if _, err := uuid.Parse(id); err != nil {
			problems = append(problems, fmt.Sprintf("id %q is not a UUID", id))
		}
	}
	if d, ok := m["date"].(string); !ok || !datePattern.MatchString(d) {
		problems = append(problems, fmt.Sprintf("date %v: want YYYY-MM-DD", m["date"]))
	}
	if l, _ := m["level"].(string); !levels[l] {
		problems = append(problems, fmt.Sprintf("level %q: want informational, low, medium, high or critical", l))
	}
	tags, _ := m["tags"].([]any)
	for _, t := range tags {
		s, _ := t.(string)
		ns, _, _ := strings.Cut(s, ".")
		if !tagPattern.MatchString(s) || !tagNamespaces[ns] {
			problems = append(problems, fmt.Sprintf("tag %q: want <namespace>.<value> in lowercase, namespace one of attack, car, cve, d3fend, detection, stp, tlp", s))
		}
	}
	return problems
}

// plain turns a YAML node into JSON-like values for schema validation. Scalars keep their
// source text unless YAML tags them as numbers, booleans or null, so an unquoted date stays the
// string the schema's pattern checks rather than becoming a timestamp.
func plain(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return plain(n.Content[0])
		}
		return nil
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = plain(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			s = append(s, plain(c))
		}
		return s
	}
	switch n.ShortTag() {
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	case "!!bool":
		return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
	case "!!null":
		return nil
	}
	return n.Value
}
