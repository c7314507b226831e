package render

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
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

// yaraToken is a piece of YARA source: code, or text that holds no identifiers (a comment, a
// quoted string, a regular expression, a hex string).
type yaraToken struct {
	text string
	code bool
}

var (
	ruleHeader = regexp.MustCompile(`^((?:(?:private|global)\s+)*)rule\s+([A-Za-z_][A-Za-z0-9_]*)`)
	importLine = regexp.MustCompile(`^import\s+"([^"]+)"`)
)

// tokenizeYARA splits source into code and the literal pieces identifiers never occur in.
// A slash starts a regular expression after "=" or "matches"; a brace starts a hex string
// after "=".
func tokenizeYARA(src string) ([]yaraToken, error) {
	var out []yaraToken
	code := strings.Builder{}
	flush := func() {
		if code.Len() > 0 {
			out = append(out, yaraToken{text: code.String(), code: true})
			code.Reset()
		}
	}
	literal := func(end int, i int) int {
		flush()
		out = append(out, yaraToken{text: src[i:end]})
		return end
	}
	for i := 0; i < len(src); {
		prev := strings.TrimRight(code.String(), " \t\r\n")
		switch {
		case strings.HasPrefix(src[i:], "//"):
			i = literal(lineEnd(src, i), i)
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment")
			}
			i = literal(i+2+end+2, i)
		case src[i] == '"':
			end, err := quotedEnd(src, i, '"')
			if err != nil {
				return nil, err
			}
			i = literal(end, i)
		case src[i] == '/' && (strings.HasSuffix(prev, "=") || strings.HasSuffix(prev, "matches")):
			end, err := quotedEnd(src, i, '/')
			if err != nil {
				return nil, err
			}
			i = literal(end, i)
		case src[i] == '{' && strings.HasSuffix(prev, "="):
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated hex string")
			}
			i = literal(i+end+1, i)
		default:
			code.WriteByte(src[i])
			i++
		}
	}
	flush()
	return out, nil
}

func lineEnd(s string, i int) int {
	if n := strings.IndexByte(s[i:], '\n'); n >= 0 {
		return i + n
	}
	return len(s)
}

// quotedEnd is the index after the closing quote of a string or regex starting at i.
func quotedEnd(s string, i int, quote byte) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case quote:
			return j + 1, nil
		case '\n':
			return 0, fmt.Errorf("unterminated %c at %q", quote, s[i:j])
		}
	}
	return 0, fmt.Errorf("unterminated %c", quote)
}

// sourceRule is one rule of an analyst's source: its name and its text, from its modifiers
// to its closing brace.
type sourceRule struct {
	name, text string
}

// splitYARA parses an analyst's source into its imports and its rules.
func splitYARA(src string) (imports []string, rules []sourceRule, err error) {
	var body strings.Builder
	for line := range strings.Lines(strings.ReplaceAll(src, "\r\n", "\n")) {
		if m := importLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			imports = append(imports, m[1])
			continue
		}
		body.WriteString(line)
	}
	tokens, err := tokenizeYARA(body.String())
	if err != nil {
		return nil, nil, err
	}
	var cur strings.Builder
	depth := 0
	name := ""
	for _, t := range tokens {
		if !t.code {
			if name != "" {
				cur.WriteString(t.text)
			}
			continue
		}
		for i := 0; i < len(t.text); {
			rest := t.text[i:]
			if name == "" { // between rules: rule headers, blank space
				if m := ruleHeader.FindStringSubmatch(rest); m != nil && wordStart(t.text, i) {
					name = m[2]
					cur.WriteString(m[0])
					i += len(m[0])
					continue
				}
				if c := rest[0]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
					return nil, nil, fmt.Errorf("unexpected %q outside a rule", firstLine(rest))
				}
				i++
				continue
			}
			c := rest[0]
			cur.WriteByte(c)
			i++
			switch c {
			case '{':
				depth++
			case '}':
				if depth--; depth == 0 {
					rules = append(rules, sourceRule{name: name, text: cur.String()})
					cur.Reset()
					name = ""
				}
			}
		}
	}
	if name != "" {
		return nil, nil, fmt.Errorf("rule %s is not closed", name)
	}
	if len(rules) == 0 {
		return nil, nil, fmt.Errorf("no rule")
	}
	return imports, rules, nil
}

func wordStart(s string, i int) bool {
	return i == 0 || !isIdentByte(s[i-1])
}

func isIdentByte(c byte) bool { return c == '_' || isAlnum(c) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return cutRunes(line, 60)
}

var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// renameIdentifiers replaces, in the code of text, each identifier names maps, unless it is a
// member (after a dot) or a string reference ($a, #a, @a, !a).
func renameIdentifiers(text string, names map[string]string) (string, error) {
	tokens, err := tokenizeYARA(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, t := range tokens {
		if !t.code {
			b.WriteString(t.text)
			continue
		}
		last := 0
		for _, loc := range identifier.FindAllStringIndex(t.text, -1) {
			start, end := loc[0], loc[1]
			if start > 0 && (isIdentByte(t.text[start-1]) || strings.ContainsRune(".$#@!", rune(t.text[start-1]))) {
				continue
			}
			if to, ok := names[t.text[start:end]]; ok {
				b.WriteString(t.text[last:start])
				b.WriteString(to)
				last = end
			}
		}
		b.WriteString(t.text[last:])
	}
	return b.String(), nil
}

// CheckPassedYARA says whether an analyst's YARA source can be passed through: the pipeline
// skips one that cannot, with the reason, rather than fail its report.
func CheckPassedYARA(src string) error {
	_, _, err := passThrough([]string{src}, "R", nil)
	return err
}

// SplitPassedYARA cuts an analyst's YARA source into one source per rule, each with the
// source's imports: a file whose rules libyara does not compile all together is then passed
// through rule by rule. A rule that uses another is cut from it, and compiles only with it.
func SplitPassedYARA(src string) ([]string, error) {
	imports, rules, err := splitYARA(src)
	if err != nil {
		return nil, err
	}
	var head strings.Builder
	for _, imp := range imports {
		fmt.Fprintf(&head, "import %q\n", imp)
	}
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = head.String() + r.text + "\n"
	}
	return out, nil
}

// passThrough rewrites a report's analyst rules (sources) for its YARA file: renamed into
// base_, identical repeated rules written once, rulegen's meta added. It returns the imports
// they need, sorted, and the rules; an error names the source that cannot be rewritten.
func passThrough(sources []string, base string, meta []string) ([]string, []passedRule, error) {
	var imports []string
	var out []passedRule
	texts := map[string]string{} // new name → its text before meta, to drop exact repeats
	for i, src := range sources {
		imp, rules, err := splitYARA(src)
		if err != nil {
			return nil, nil, fmt.Errorf("YARA rule %d of the report: %w", i+1, err)
		}
		imports = append(imports, imp...)
		names := map[string]string{}
		for _, r := range rules {
			name := r.name
			if generatedKind(name) {
				name += "_own" // MAL_<Title>_C2 and the like are rulegen's own rules
			}
			to := base + "_" + name
			for n := 2; texts[to] != "" && texts[to] != r.text; n++ {
				to = fmt.Sprintf("%s_%s_%d", base, name, n)
			}
			names[r.name] = to
		}
		for _, r := range rules {
			to := names[r.name]
			if texts[to] == r.text {
				continue // the same rule again (a private helper each source repeats)
			}
			texts[to] = r.text
			renamed, err := renameIdentifiers(r.text, names)
			if err != nil {
				return nil, nil, fmt.Errorf("YARA rule %s: %w", r.name, err)
			}
			text, err := withMeta(renamed, append(slices.Clone(meta), "original_name = "+YaraString(r.name)))
			if err != nil {
				return nil, nil, fmt.Errorf("YARA rule %s: %w", r.name, err)
			}
			out = append(out, passedRule{Name: to, Text: text})
		}
	}
	slices.Sort(imports)
	return slices.Compact(imports), out, nil
}

var sectionKeyword = regexp.MustCompile(`\b(strings|condition)\s*:`)

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
func withMeta(rule string, lines []string) (string, error) {
	tokens, err := tokenizeYARA(rule)
	if err != nil {
		return "", err
	}
	offset := 0
	for _, t := range tokens {
		m := sectionKeyword.FindStringIndex(t.text)
		if !t.code || m == nil {
			offset += len(t.text)
			continue
		}
		at := offset + m[0]
		lineStart := strings.LastIndexByte(rule[:at], '\n') + 1
		indent := rule[lineStart:at]
		if strings.TrimSpace(indent) != "" { // "rule x { condition: ..." on one line
			indent, lineStart = "    ", at
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
	return "", fmt.Errorf("rule without a condition")
}
