// Package yarasrc reads YARA source as text, for what rulegen does to rules without compiling
// them: find their names, cut a file into its rules, tell a rule's meta from what it detects,
// rename identifiers. It knows YARA's lexical structure (comments, strings, regular
// expressions, hex strings, braces), not its grammar: libyara judges the rest.
package yarasrc

import (
	"fmt"
	"iter"
	"regexp"
	"strings"
)

// Token is a piece of YARA source: code, or text that holds no identifiers (a comment, a
// quoted string, a regular expression, a hex string).
type Token struct {
	Text string
	Code bool
}

var (
	ruleHeader = regexp.MustCompile(`^((?:(?:private|global)\s+)*)rule\s+([A-Za-z_][A-Za-z0-9_]*)`)
	importLine = regexp.MustCompile(`^import\s+"([^"]+)"`)
	// SectionKeyword starts the part of a rule that detects: its strings or its condition.
	sectionKeyword = regexp.MustCompile(`\b(strings|condition)\s*:`)
)

// Tokenize splits source into code and the literal pieces identifiers never occur in.
// A slash starts a regular expression after "=" or "matches"; a brace starts a hex string
// after "=". Every token's text is a slice of src: their concatenation is src.
func Tokenize(src string) ([]Token, error) {
	var out []Token
	err := Spans(src, func(start, end int, code bool) {
		out = append(out, Token{Text: src[start:end], Code: code})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Spans calls yield with each token of src as Tokenize finds them, in order, as offsets into
// src: [start, end) and whether it is code. It allocates nothing per token, so that a
// generated file of hundreds of megabytes can be walked without a copy.
func Spans(src string, yield func(start, end int, code bool)) error {
	codeStart := 0
	flush := func(i int) {
		if i > codeStart {
			yield(codeStart, i, true)
		}
	}
	literal := func(i, end int) int {
		flush(i)
		yield(i, end, false)
		codeStart = end
		return end
	}
	// follows says whether the code before i ends with word, as a regex or hex string needs.
	follows := func(i int, word string) bool {
		return strings.HasSuffix(strings.TrimRight(src[codeStart:i], " \t\r\n"), word)
	}
	for i := 0; i < len(src); {
		switch {
		case strings.HasPrefix(src[i:], "//"):
			i = literal(i, lineEnd(src, i))
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return fmt.Errorf("unterminated comment")
			}
			i = literal(i, i+2+end+2)
		case src[i] == '"':
			end, err := quotedEnd(src, i, '"')
			if err != nil {
				return err
			}
			i = literal(i, end)
		case src[i] == '/' && (follows(i, "=") || follows(i, "matches")):
			end, err := quotedEnd(src, i, '/')
			if err != nil {
				return err
			}
			i = literal(i, end)
		case src[i] == '{' && follows(i, "="):
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return fmt.Errorf("unterminated hex string")
			}
			i = literal(i, i+end+1)
		default:
			i++
		}
	}
	flush(len(src))
	return nil
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

// Rule is one rule of a source: its name and its text, from its modifiers to its closing
// brace, as the source writes it.
type Rule struct {
	Name, Text string
}

// Split parses a source into its imports and its rules. Comments between rules are dropped;
// anything else outside a rule is an error.
func Split(src string) (imports []string, rules []Rule, err error) {
	var body strings.Builder
	for line := range strings.Lines(strings.ReplaceAll(src, "\r\n", "\n")) {
		if m := importLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			imports = append(imports, m[1])
			continue
		}
		body.WriteString(line)
	}
	tokens, err := Tokenize(body.String())
	if err != nil {
		return nil, nil, err
	}
	var cur strings.Builder
	depth := 0
	name := ""
	for _, t := range tokens {
		if !t.Code {
			if name != "" {
				cur.WriteString(t.Text)
			}
			continue
		}
		for i := 0; i < len(t.Text); {
			rest := t.Text[i:]
			if name == "" { // between rules: rule headers, blank space
				if m := ruleHeader.FindStringSubmatch(rest); m != nil && WordStart(t.Text, i) {
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
					rules = append(rules, Rule{Name: name, Text: cur.String()})
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

// Names are the names of the rules src declares, in order; none when src cannot be split.
func Names(src string) []string {
	_, rules, err := Split(src)
	if err != nil {
		return nil
	}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
	}
	return names
}

// DetectionStart is the offset in a rule's text of the keyword that starts what it detects:
// its strings: or condition: section. Everything before is its header and meta.
func DetectionStart(rule string) (int, error) {
	tokens, err := Tokenize(rule)
	if err != nil {
		return 0, err
	}
	offset := 0
	for _, t := range tokens {
		if m := sectionKeyword.FindStringIndex(t.Text); t.Code && m != nil {
			return offset + m[0], nil
		}
		offset += len(t.Text)
	}
	return 0, fmt.Errorf("rule without a condition")
}

// WordStart says whether an identifier may start at s[i].
func WordStart(s string, i int) bool {
	return i == 0 || !IsIdentByte(s[i-1])
}

// IsIdentByte says whether c may be part of an identifier.
func IsIdentByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if r := []rune(line); len(r) > 60 {
		return strings.TrimSpace(string(r[:60])) + "…"
	}
	return line
}

// Identifiers are the identifiers the code of text names (keywords, rule names, module names),
// in order of first use, but members (after a dot) and string references ($a, #a, @a, !a).
func Identifiers(text string) ([]string, error) {
	tokens, err := Tokenize(text)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range tokens {
		if !t.Code {
			continue
		}
		for start, end := range EachIdentifier(t.Text) {
			if name := t.Text[start:end]; !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// EachIdentifier yields where identifiers stand in code (a code token's text), as start and end
// offsets: not members (after a dot) nor string references ($a, #a, @a, !a).
//
// An identifier is [A-Za-z_][A-Za-z0-9_]*, scanned by hand and yielded, not collected: a bulk
// hash list's source has millions, and a regular expression's match slices were a tenth of
// its run's allocations.
func EachIdentifier(code string) iter.Seq2[int, int] {
	return func(yield func(start, end int) bool) {
		for i := 0; i < len(code); {
			c := code[i]
			if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				i++
				continue
			}
			end := i + 1
			for end < len(code) && IsIdentByte(code[end]) {
				end++
			}
			if i == 0 || !IsIdentByte(code[i-1]) && strings.IndexByte(".$#@!", code[i-1]) < 0 {
				if !yield(i, end) {
					return
				}
			}
			i = end
		}
	}
}

// Modifiers are the words before a rule's name: private, global.
func Modifiers(rule string) []string {
	m := ruleHeader.FindStringSubmatch(strings.TrimLeft(rule, " \t\r\n"))
	if m == nil {
		return nil
	}
	return strings.Fields(m[1])
}

// metaKey is a meta entry's key at the start of a line.
var metaKey = regexp.MustCompile(`(?m)^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=`)

// MetaKeys are the keys of a rule's meta entries (a rule without a meta section has none).
func MetaKeys(rule string) []string {
	at, err := DetectionStart(rule)
	if err != nil {
		return nil
	}
	head := rule[:at]
	i := strings.Index(head, "meta:")
	if i < 0 {
		return nil
	}
	var keys []string
	for _, m := range metaKey.FindAllStringSubmatch(strings.ReplaceAll(head[i+len("meta:"):], "\r", ""), -1) {
		keys = append(keys, m[1])
	}
	return keys
}

var (
	// anySection is a rule section's keyword.
	anySection = regexp.MustCompile(`\b(meta|strings|condition)\s*:`)
	// entryStart starts an entry of a meta or strings section: key = or $name =.
	metaEntry   = regexp.MustCompile(`\b[A-Za-z_][A-Za-z0-9_]*\s*=`)
	stringEntry = regexp.MustCompile(`\$[A-Za-z0-9_]*\s*=`)
)

// Layout lays a rule written compactly (sections sharing a line, `rule x { condition: true }`)
// out as rulegen writes rules: the header, the brace and each section keyword on lines of
// their own, one meta entry or string a line, the closing brace alone. A rule whose sections
// and closing brace already start their lines is returned as written: its author's layout.
func Layout(rule string) (string, error) {
	tokens, err := Tokenize(rule)
	if err != nil {
		return "", err
	}
	var masked strings.Builder // rule with every literal blanked, offsets kept
	for _, t := range tokens {
		if t.Code {
			masked.WriteString(t.Text)
		} else {
			masked.WriteString(strings.Repeat("\x00", len(t.Text)))
		}
	}
	m := masked.String()
	open, end := strings.IndexByte(m, '{'), strings.LastIndexByte(m, '}')
	if open < 0 || end < open {
		return "", fmt.Errorf("rule without braces")
	}
	sections := anySection.FindAllStringIndex(m[open:end], -1)
	if len(sections) == 0 || !compact(m, open, end, sections) {
		return rule, nil
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(rule[:open]) + "\n{\n")
	for i, s := range sections {
		start, stop := open+s[0], end
		if i+1 < len(sections) {
			stop = open + sections[i+1][0]
		}
		keyword := strings.Fields(strings.ReplaceAll(rule[start:open+s[1]], ":", " "))[0]
		b.WriteString("    " + keyword + ":\n")
		body := open + s[1]
		cuts := []int{body}
		switch keyword {
		case "meta":
			cuts = append(cuts, offsets(metaEntry, m, body, stop)...)
		case "strings":
			cuts = append(cuts, offsets(stringEntry, m, body, stop)...)
		}
		cuts = append(cuts, stop)
		for j := 0; j+1 < len(cuts); j++ {
			if entry := strings.TrimSpace(rule[cuts[j]:cuts[j+1]]); entry != "" {
				b.WriteString("        " + entry + "\n")
			}
		}
	}
	b.WriteString("}")
	return b.String() + rule[end+1:], nil
}

// compact says whether a section keyword or the closing brace shares its line with other code.
func compact(m string, open, end int, sections [][]int) bool {
	alone := func(at int) bool {
		line := strings.LastIndexByte(m[:at], '\n') + 1
		return strings.TrimSpace(strings.ReplaceAll(m[line:at], "\x00", "x")) == ""
	}
	for _, s := range sections {
		if !alone(open + s[0]) {
			return true
		}
	}
	return !alone(end)
}

// offsets are where re matches m between from and to.
func offsets(re *regexp.Regexp, m string, from, to int) []int {
	var out []int
	for _, loc := range re.FindAllStringIndex(m[from:to], -1) {
		if loc[0] > 0 {
			out = append(out, from+loc[0])
		}
	}
	return out
}
