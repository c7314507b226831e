package verify

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/yara"
)

// LintOptions tune `rulegen lint`.
type LintOptions struct {
	// MaxValues is the most values one Sigma field may list before the rule should be split
	// (SigmaHQ splits long IOC lists); 0 means DefaultMaxValues.
	MaxValues int
}

// DefaultMaxValues is the default of LintOptions.MaxValues: what generate writes at most.
const DefaultMaxValues = render.SigmaMaxValues

// MinAtom is the shortest YARA string that makes a good atom: libyara looks for a string by
// up to four of its bytes, and shorter strings are found in nearly every file.
const MinAtom = 4

var (
	requiredYARAMeta  = []string{"description", "author", "date"}
	requiredSigma     = []string{"title", "id", "status", "description", "author", "date", "tags", "logsource", "detection", "falsepositives", "level"}
	techniqueInMeta   = regexp.MustCompile(`\bT\d{4}(?:\.\d{3})?\b`)
	techniqueTag      = regexp.MustCompile(`^attack\.(t\d{4}(?:\.\d{3})?)$`)
	stringDeclaration = regexp.MustCompile(`^\s*\$([A-Za-z0-9_]*)\s*=\s*(.*)$`)
)

// linter collects findings as cases of the lint suite.
type linter struct {
	cases []Case
}

func (l *linter) add(status Status, check, file string, line int, format string, args ...any) {
	l.cases = append(l.cases, Case{Suite: "lint", Name: check, File: file, Line: line, Status: status, Message: fmt.Sprintf(format, args...)})
}

// Lint checks that the rules under dir are well made. Every file checked without a finding
// is a passing case, so reports list what was looked at.
func Lint(dir string, opts LintOptions) ([]Case, error) {
	if opts.MaxValues <= 0 {
		opts.MaxValues = DefaultMaxValues
	}
	rf, err := Find(dir)
	if err != nil {
		return nil, err
	}
	l := &linter{cases: rf.skippedCases("lint")}
	if err := l.yaraFiles(rf.YARA); err != nil {
		return nil, err
	}
	if err := l.sigmaFiles(rf.Sigma, opts.MaxValues); err != nil {
		return nil, err
	}
	sortCases(l.cases)
	return l.cases, nil
}

// pass adds a passing case for file when the checks since before found nothing in it.
func (l *linter) pass(file string, before int) {
	for _, c := range l.cases[before:] {
		if c.File == file {
			return
		}
	}
	l.add(Pass, "clean", file, 0, "")
}

// yaraFiles lints each YARA file and rule names across files.
func (l *linter) yaraFiles(paths []string) error {
	sources, err := yara.ReadSources(paths...)
	if err != nil {
		return err
	}
	declared := map[string]string{} // rule name → file:line that declares it first
	for _, s := range sources {
		before := len(l.cases)
		decls := yara.Declarations(s.Text)
		for _, d := range decls {
			where := fmt.Sprintf("%s:%d", s.Name, d.Line)
			if prev, dup := declared[d.Name]; dup {
				l.add(Fail, "duplicate-rule-name", s.Name, d.Line, "rule %s is also defined at %s: a scanner loading both files fails", d.Name, prev)
			} else {
				declared[d.Name] = where
			}
		}
		l.shortStrings(s)
		l.yaraxPortability(s)
		if yara.Available {
			l.compiled(s, decls)
		}
		l.pass(s.Name, before)
	}
	return nil
}

// compiled checks what needs the compiled rules: required meta, a match on an empty file and
// ATT&CK ids in meta.
func (l *linter) compiled(s yara.Source, decls []yara.Declaration) {
	rules, _, err := yara.CompileLenient(s)
	if err != nil {
		l.add(Fail, "compile", s.Name, 0, "%v", err)
		return
	}
	defer rules.Destroy()
	lineOf := map[string]int{}
	for _, d := range decls {
		lineOf[d.Name] = d.Line
	}
	metas := map[string]map[string]bool{}
	for _, m := range rules.Metas() {
		if metas[m.Rule] == nil {
			metas[m.Rule] = map[string]bool{}
		}
		metas[m.Rule][m.Key] = true
		if str, ok := m.Value.(string); ok && strings.Contains(strings.ToLower(m.Key), "attack") {
			for _, id := range techniqueInMeta.FindAllString(str, -1) {
				l.technique(s.Name, lineOf[m.Rule], "rule "+m.Rule+" meta "+m.Key, id)
			}
		}
	}
	for _, name := range rules.RuleNames() {
		for _, key := range requiredYARAMeta {
			if !metas[name][key] {
				l.add(Fail, "missing-meta", s.Name, lineOf[name], "rule %s has no %s meta", name, key)
			}
		}
		if !metas[name]["reference"] {
			l.add(Warn, "missing-meta", s.Name, lineOf[name], "rule %s has no reference meta", name)
		}
	}
	matched, err := rules.ScanMem(nil)
	if err != nil {
		l.add(Fail, "compile", s.Name, 0, "%v", err)
		return
	}
	for _, name := range matched {
		l.add(Fail, "matches-empty-file", s.Name, lineOf[name], "rule %s matches an empty file: it would fire on any file its other terms do not rule out", name)
	}
}

// technique reports ATT&CK ids that are revoked, deprecated or unknown.
func (l *linter) technique(file string, line int, where, id string) {
	t, err := normalize.Technique(id)
	switch {
	case err != nil:
		l.add(Warn, "attack-id", file, line, "%s: %v", where, err)
	case t.ReplacedID != "":
		l.add(Warn, "attack-id", file, line, "%s: %s is revoked or deprecated: use %s (%s)", where, id, t.ID, t.Name)
	}
}

// shortStrings reports text and hex strings shorter than MinAtom bytes.
func (l *linter) shortStrings(s yara.Source) {
	n := 0
	for line := range strings.Lines(s.Text) {
		n++
		m := stringDeclaration.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
		if m == nil {
			continue
		}
		size, ok := literalSize(strings.TrimSpace(m[2]))
		if ok && size < MinAtom {
			l.add(Warn, "short-string", s.Name, n, "string $%s is %d bytes: under %d bytes libyara finds it in almost every file", m[1], size, MinAtom)
		}
	}
}

// literalSize is the byte length of a text string literal, or the longest run of fixed bytes
// of a hex string; regular expressions are not measured.
func literalSize(v string) (int, bool) {
	switch {
	case strings.HasPrefix(v, `"`):
		size := 0
		for i := 1; i < len(v); i++ {
			switch v[i] {
			case '"':
				return size, true
			case '\\':
				if i+1 < len(v) && v[i+1] == 'x' {
					i += 3
				} else {
					i++
				}
			}
			size++
		}
	case strings.HasPrefix(v, "{"):
		body, _, ok := strings.Cut(v[1:], "}")
		if !ok {
			return 0, false
		}
		longest, run := 0, 0
		for _, tok := range strings.FieldsFunc(body, func(r rune) bool { return r == ' ' || r == '\t' }) {
			if len(tok) == 2 && !strings.ContainsAny(tok, "?~[]()|-") {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
		return longest, true
	}
	return 0, false
}

// sigmaFiles lints each Sigma rule, and ids and file names across files.
func (l *linter) sigmaFiles(paths []string, maxValues int) error {
	ids := map[string]string{}
	names := map[string]string{}  // file name → the first file of that name
	titles := map[string]string{} // title → the first file of that title
	for _, p := range paths {
		before := len(l.cases)
		l.fileName(p, names)
		body, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("lint: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(body, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			l.add(Fail, "not-a-rule", p, 0, "not a YAML mapping: %v", err)
			continue
		}
		root := doc.Content[0]
		fields := map[string]*yaml.Node{}
		for i := 0; i+1 < len(root.Content); i += 2 {
			fields[root.Content[i].Value] = root.Content[i+1]
		}
		for _, key := range requiredSigma {
			if fields[key] == nil {
				l.add(Fail, "missing-field", p, 1, "no %s", key)
			}
		}
		if fields["references"] == nil {
			l.add(Warn, "missing-field", p, 1, "no references")
		}
		if id := fields["id"]; id != nil {
			if prev, dup := ids[id.Value]; dup {
				l.add(Fail, "duplicate-id", p, id.Line, "id %s is also the id of %s", id.Value, prev)
			} else {
				ids[id.Value] = fmt.Sprintf("%s:%d", p, id.Line)
			}
		}
		if tags := fields["tags"]; tags != nil {
			for _, t := range tags.Content {
				if m := techniqueTag.FindStringSubmatch(t.Value); m != nil {
					l.technique(p, t.Line, "tag "+t.Value, strings.ToUpper(m[1]))
				}
			}
		}
		if det := fields["detection"]; det != nil {
			l.longLists(p, det, maxValues)
		}
		l.sigmaHQConventions(p, fields)
		if title := fields["title"]; title != nil {
			if prev, dup := titles[title.Value]; dup {
				l.add(Fail, "duplicate-title", p, title.Line, "title %q is also %s's: sigma check wants a title once in a repository", title.Value, prev)
			} else {
				titles[title.Value] = p
			}
		}
		l.pass(p, before)
	}
	return nil
}

// fileName reports a Sigma file name used before anywhere under the directory (SigmaHQ's
// sigma check fails a repository on it) or not written as SigmaHQ's tools want it.
func (l *linter) fileName(p string, names map[string]string) {
	name := filepath.Base(p)
	if prev, dup := names[name]; dup {
		l.add(Fail, "duplicate-file-name", p, 0, "file name %s is also %s's: sigma check wants a file name once in a repository", name, prev)
	} else {
		names[name] = p
	}
	if !render.SigmaFileNameOK(name) {
		l.add(Warn, "file-name", p, 0, "file name %s: sigma check wants [a-z0-9_] with an underscore, 10 to 90 characters with .yml", name)
	}
}

// sigmaHQConventions reports what SigmaHQ's validators flag in a title and dates.
func (l *linter) sigmaHQConventions(p string, fields map[string]*yaml.Node) {
	if title := fields["title"]; title != nil {
		var miscased []string
		for _, w := range strings.Split(title.Value, " ") {
			if render.MiscasedTitleWord(w) {
				miscased = append(miscased, w)
			}
		}
		if len(miscased) > 0 {
			l.add(Warn, "title", p, title.Line, "title words in lower case: %s (SigmaHQ writes titles in title case)", strings.Join(miscased, ", "))
		}
		if n := utf8.RuneCountInString(title.Value); n > render.MaxTitle {
			l.add(Warn, "title", p, title.Line, "title of %d characters: SigmaHQ's tools want at most %d", n, render.MaxTitle)
		}
	}
	if date, modified := fields["date"], fields["modified"]; date != nil && modified != nil && modified.Value <= date.Value {
		l.add(Warn, "modified", p, modified.Line, "modified %s is not after date %s: SigmaHQ's tools want it left out", modified.Value, date.Value)
	}
}

// longLists reports fields of a detection listing more than max values.
func (l *linter) longLists(file string, detection *yaml.Node, max int) {
	var walk func(n *yaml.Node, field string)
	walk = func(n *yaml.Node, field string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], n.Content[i].Value)
			}
		case yaml.SequenceNode:
			scalars := slices.IndexFunc(n.Content, func(c *yaml.Node) bool { return c.Kind != yaml.ScalarNode }) < 0
			if scalars && len(n.Content) > max {
				l.add(Warn, "long-value-list", file, n.Line, "field %s lists %d values (more than %d): split the rule", field, len(n.Content), max)
				return
			}
			for _, c := range n.Content {
				walk(c, field)
			}
		}
	}
	walk(detection, "detection")
}

// The YARA-X checks find what libyara accepts and YARA-X refuses, without YARA-X: rules a user
// loads must work in both engines (VirusTotal's yara-x docs, writing_rules/differences.md).
var (
	ofRuleWildcard = regexp.MustCompile(`\bof\s*\(\s*[A-Za-z_][A-Za-z0-9_]*\*`)
	repetition     = regexp.MustCompile(`^\{\d*(,\d*)?\}`)
)

// validRegexEscapes are the escapes of letters and digits YARA-X's regular expressions accept;
// any other (\R of \Release, \N of %TEMP%\NewGame) is error E029 there, and escaping a
// punctuation character is always accepted.
const validRegexEscapes = "wWsSdDbBntrfavx"

// yaraxPortability reports, per string declaration and condition line, a regular expression
// with a `{` that starts no repetition (E014), an invalid escape in one (E029), base64 on a
// string under 3 bytes, and rule-name wildcards in `of` (none is valid in YARA-X), and warns of
// a string declared twice with the same value in one rule (YARA-X's duplicate_pattern_value).
func (l *linter) yaraxPortability(s yara.Source) {
	values := map[string]string{} // string value and modifiers → $name, within the current rule
	n := 0
	for line := range strings.Lines(s.Text) {
		n++
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(strings.TrimSpace(line), "rule ") || strings.Contains(line, " rule ") {
			clear(values)
		}
		if ofRuleWildcard.MatchString(line) {
			l.add(Fail, "yara-x", s.Name, n, "rule-name wildcard in of: YARA-X accepts only a tuple of rule names or boolean expressions")
		}
		m := stringDeclaration.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, value := m[1], strings.TrimSpace(m[2])
		if name != "" {
			if first, dup := values[value]; dup {
				l.add(Warn, "yara-x", s.Name, n, "string $%s repeats $%s: YARA-X warns (duplicate_pattern_value) and both cost the scan", name, first)
			} else {
				values[value] = name
			}
		}
		if strings.HasPrefix(value, "/") {
			l.regexPortability(s.Name, n, name, value)
		}
		if size, ok := literalSize(value); ok && size < 3 && strings.Contains(value, "base64") {
			l.add(Fail, "yara-x", s.Name, n, "string $%s is %d bytes with base64: YARA-X requires at least 3", name, size)
		}
	}
}

// regexPortability checks the body of a regular expression string /body/modifiers.
func (l *linter) regexPortability(file string, line int, name, value string) {
	inClass := false
	for i := 1; i < len(value); i++ {
		switch c := value[i]; {
		case c == '\\' && i+1 < len(value):
			next := value[i+1]
			isAlnum := 'a' <= next && next <= 'z' || 'A' <= next && next <= 'Z' || '0' <= next && next <= '9'
			if isAlnum && !strings.ContainsRune(validRegexEscapes, rune(next)) {
				l.add(Fail, "yara-x", file, line, `string $%s: \%c is not an escape YARA-X accepts (E029): write \\%c for a backslash`, name, next, next)
			}
			i++
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		case c == '{' && !inClass && !repetition.MatchString(value[i:]):
			l.add(Fail, "yara-x", file, line, "string $%s: { starts no repetition, which YARA-X refuses (E014): write \\{", name)
		case c == '/' && !inClass:
			return // the end of the expression; modifiers follow
		}
	}
}
