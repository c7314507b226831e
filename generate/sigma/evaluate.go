package sigma

import (
	"context"
	"embed"
	"fmt"
	"slices"
	"strings"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
)

//go:embed configs/*.yml
var configFS embed.FS

// Config returns a bundled field-mapping config by name: "winlogbeat" maps Sysmon's field names
// to winlog.event_data.* for ECS events. Flat Sysmon JSON needs none.
func Config(name string) (sigmago.Config, error) {
	b, err := configFS.ReadFile("configs/" + name + ".yml")
	if err != nil {
		return sigmago.Config{}, fmt.Errorf("sigma config %q: %w", name, err)
	}
	return sigmago.ParseConfig(b)
}

// Rule is a validated rule ready to evaluate, named by its caller (e.g. its path).
type Rule struct {
	Name string
	Rule sigmago.Rule
}

// Load validates a rule file and parses it with sigma-go.
func Load(name string, body []byte) (Rule, error) {
	node, err := parseAndValidate(name, body)
	if err != nil {
		return Rule{}, err
	}
	var r sigmago.Rule
	if err := node.Decode(&r); err != nil {
		return Rule{}, fmt.Errorf("%s: sigma-go: %w", name, err)
	}
	if err := literalValues(&r); err != nil {
		return Rule{}, fmt.Errorf("%s: %w", name, err)
	}
	return Rule{Name: name, Rule: r}, nil
}

// literalValues decodes Sigma's string escapes (\* \? \\) into the literal values they stand
// for. sigma-go v0.6.6 compares values literally and implements no wildcards, so a value with
// an unescaped wildcard cannot be evaluated faithfully and is refused; generated rules never
// hold one.
func literalValues(r *sigmago.Rule) error {
	for name, search := range r.Detection.Searches {
		for _, em := range search.EventMatchers {
			for i := range em {
				fm := &em[i]
				if slices.Contains(fm.Modifiers, "re") {
					continue
				}
				for j, v := range fm.Values {
					s, ok := v.(string)
					if !ok {
						continue
					}
					lit, err := unescape(s)
					if err != nil {
						return fmt.Errorf("search %s, field %s, value %q: %w", name, fm.Field, s, err)
					}
					fm.Values[j] = lit
				}
			}
		}
	}
	return nil
}

func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, `*?\`) { // most values: literal already, no copy
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte(`*?\`, s[i+1]) >= 0:
			i++
			b.WriteByte(s[i])
		case c == '*' || c == '?':
			return "", fmt.Errorf("unescaped wildcard %q: the evaluator matches literal values only", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// Evaluator runs a set of rules over events.
type Evaluator struct {
	names      []string
	evaluators []*evaluator.RuleEvaluator
}

// NewEvaluator prepares rules for evaluation with the given field-mapping configs.
func NewEvaluator(rules []Rule, configs ...sigmago.Config) *Evaluator {
	e := &Evaluator{}
	for _, r := range rules {
		var opts []evaluator.Option
		if len(configs) > 0 {
			opts = append(opts, evaluator.WithConfig(configs...))
		}
		e.names = append(e.names, r.Name)
		e.evaluators = append(e.evaluators, evaluator.ForRule(r.Rule, opts...))
	}
	return e
}

// Matches returns the names of the rules that fire on event, sorted.
func (e *Evaluator) Matches(ctx context.Context, event map[string]any) ([]string, error) {
	var fired []string
	for i, ev := range e.evaluators {
		res, err := ev.Matches(ctx, event)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", e.names[i], err)
		}
		if res.Match {
			fired = append(fired, e.names[i])
		}
	}
	slices.Sort(fired)
	return fired, nil
}
