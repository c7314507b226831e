package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/yarasrc"
)

// Analysts' own YARA rules in a report (MISP yara attributes) are written into the report's
// YARA file as they are, but for their names: every rule is renamed into the report's
// namespace (RuleBase_name), so that two reports' rules never collide in a rules repository,
// references to renamed rules follow (private rules included), a private rule that several of
// the report's rules repeat word for word is written once, imports go to the top of the file,
// and rulegen's meta is added after the author's. The text is not otherwise parsed: libyara
// compiles the result like every generated rule.

// passedRule is one analyst rule as written into the report's file.
type passedRule struct {
	Name string // the new name
	Text string // the rule, renamed, with rulegen's meta added
}

// renameIdentifiers replaces, in the code of text, each identifier names maps, unless it is a
// member (after a dot) or a string reference ($a, #a, @a, !a).
func renameIdentifiers(text string, names map[string]string) (string, error) {
	tokens, err := yarasrc.Tokenize(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, t := range tokens {
		if !t.Code {
			b.WriteString(t.Text)
			continue
		}
		last := 0
		for start, end := range yarasrc.EachIdentifier(t.Text) {
			if to, ok := names[t.Text[start:end]]; ok {
				b.WriteString(t.Text[last:start])
				b.WriteString(to)
				last = end
			}
		}
		b.WriteString(t.Text[last:])
	}
	return b.String(), nil
}

// CheckPassedYARA says whether an analyst's YARA source can be passed through: the pipeline
// skips one that cannot, with the reason, rather than fail its report.
func CheckPassedYARA(src string) error {
	_, _, err := passThrough([]string{src}, "R", func(string, []string) ([]string, error) { return nil, nil })
	return err
}

// SplitPassedYARA cuts an analyst's YARA source into one source per rule, each with the
// source's imports: a file whose rules libyara does not compile all together is then passed
// through rule by rule. A rule that uses another is cut from it, and compiles only with it.
func SplitPassedYARA(src string) ([]string, error) {
	imports, rules, err := yarasrc.Split(src)
	if err != nil {
		return nil, err
	}
	var head strings.Builder
	for _, imp := range imports {
		fmt.Fprintf(&head, "import %q\n", imp)
	}
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = head.String() + r.Text + "\n"
	}
	return out, nil
}

// passThrough rewrites a report's analyst rules (sources) for its YARA file: renamed into
// base_, identical repeated rules written once, rulegen's meta added. It returns the imports
// they need, sorted, and the rules; an error names the source that cannot be rewritten.
func passThrough(sources []string, base string, meta func(original string, has []string) ([]string, error)) ([]string, []passedRule, error) {
	var imports []string
	var out []passedRule
	texts := map[string]string{} // new name → its text before meta, to drop exact repeats
	for i, src := range sources {
		imp, rules, err := yarasrc.Split(src)
		if err != nil {
			return nil, nil, fmt.Errorf("YARA rule %d of the report: %w", i+1, err)
		}
		imports = append(imports, imp...)
		names := map[string]string{}
		for _, r := range rules {
			name := r.Name
			if generatedKind(name) {
				name += "_own" // MAL_<Title>_C2 and the like are rulegen's own rules
			}
			to := base + "_" + name
			for n := 2; texts[to] != "" && texts[to] != r.Text; n++ {
				to = fmt.Sprintf("%s_%s_%d", base, name, n)
			}
			names[r.Name] = to
		}
		for _, r := range rules {
			to := names[r.Name]
			if texts[to] == r.Text {
				continue // the same rule again (a private helper each source repeats)
			}
			texts[to] = r.Text
			renamed, err := renameIdentifiers(r.Text, names)
			if err != nil {
				return nil, nil, fmt.Errorf("YARA rule %s: %w", r.Name, err)
			}
			lines, err := meta(r.Name, yarasrc.MetaKeys(r.Text))
			if err != nil {
				return nil, nil, err
			}
			text, err := withMeta(renamed, lines)
			if err != nil {
				return nil, nil, fmt.Errorf("YARA rule %s: %w", r.Name, err)
			}
			out = append(out, passedRule{Name: to, Text: text})
		}
	}
	slices.Sort(imports)
	return slices.Compact(imports), out, nil
}

// generatedKind says whether an analyst's rule name, prefixed with the report's rule base,
// could be one of the rules rulegen writes (_Hashes, _Hashes_2, _C2, _C2_2, ...).
func generatedKind(name string) bool {
	kind, _, _ := strings.Cut(name, "_")
	switch kind {
	case "Hashes", "C2", "Persistence", "Mutexes", "Imphash":
		return true
	}
	return false
}

// withMeta adds lines to a rule's meta section, after the author's entries, or gives the rule
// one: they go before the line of its strings: or condition: section, indented as the author's.
// A rule written compactly (rule x { condition: true }) is first laid out as generated rules
// are (yarasrc.Layout).
func withMeta(rule string, lines []string) (string, error) {
	rule, err := yarasrc.Layout(rule)
	if err != nil {
		return "", err
	}
	at, err := yarasrc.DetectionStart(rule)
	if err != nil {
		return "", err
	}
	lineStart, indent := at, "    "
	if line := strings.LastIndexByte(rule[:at], '\n') + 1; strings.TrimSpace(rule[line:at]) == "" {
		lineStart, indent = line, rule[line:at]
	}
	var add strings.Builder
	if !strings.Contains(rule[:at], "meta:") {
		add.WriteString(indent + "meta:\n")
	}
	for _, l := range lines {
		add.WriteString(indent + indent + l + "\n")
	}
	if lineStart == at {
		add.WriteString(indent)
	}
	return rule[:lineStart] + add.String() + rule[lineStart:], nil
}
