package render

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/yarasrc"
)

// A rules repository lives for years: a rule whose detection changes carries the day of the
// change (modified), and one that only moves or is rewritten alike keeps its date. Dating reads
// the rule text it writes by its structure (YAML keys, YARA rules and meta entries), not by the
// bundled templates' layout, so that templates indented their own way are dated alike.
//
// The modified entry rulegen owns is the one right after the rule's date entry: that is where
// it writes it, and an analyst's rule passed through keeps its own.

// Date returns a rule file's new body with its modified date settled against the file it
// replaces (old; nil for a new file): set to day when the rule's detection changed, carried over
// when it did not. rel, the file's slash path below the output directory, says its kind.
func Date(rel string, old, body []byte, day string) []byte {
	if old == nil {
		return body
	}
	// Most files of a rerun are as they were: the old file, but for its modified date, is the
	// new one.
	if bytes.Equal(old, body) || bytes.Equal(WithoutModified(old), body) {
		return old
	}
	switch {
	case strings.HasPrefix(rel, "sigma/") && strings.HasSuffix(rel, ".yml"):
		return dateSigma(old, body, day)
	case strings.HasPrefix(rel, "yara/") && strings.HasSuffix(rel, ".yar"):
		return dateYARA(old, body, day)
	}
	return body
}

var (
	sigmaDate     = regexp.MustCompile(`^date:`)
	sigmaModified = regexp.MustCompile(`^modified:`)
	yaraDate      = regexp.MustCompile(`^[ \t]*date[ \t]*=`)
	yaraModified  = regexp.MustCompile(`^[ \t]*modified[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"`)
)

// WithoutModified drops the modified entries from a Sigma rule or a YARA file that follow a
// date entry, where rulegen writes its own. (An analyst's rule dated that way loses its own
// too: a comparison of files without their dates then falls back to dating rule by rule.)
func WithoutModified(b []byte) []byte {
	if !bytes.Contains(b, []byte("modified")) {
		return b
	}
	var out bytes.Buffer
	var prev []byte
	for line := range bytes.Lines(b) {
		owned := sigmaDate.Match(prev) && sigmaModified.Match(line) || yaraDate.Match(prev) && yaraModified.Match(line)
		if !owned {
			out.Write(line)
		}
		prev = line
	}
	return out.Bytes()
}

// sigmaDetection are the fields whose change dates a Sigma rule (SigmaHQ's convention: not
// tags, not the order of values).
var sigmaDetection = []string{"title", "logsource", "detection", "level"}

// dateSigma sets modified when title, logsource, detection or level changed; otherwise it
// keeps the old rule's modified, if any. A modified not after the rule's date is left out.
func dateSigma(old, body []byte, day string) []byte {
	var before, after map[string]any
	if yaml.Unmarshal(old, &before) != nil || yaml.Unmarshal(body, &after) != nil {
		return body
	}
	changed := false
	for _, k := range sigmaDetection {
		if !reflect.DeepEqual(canonical(before[k]), canonical(after[k])) {
			changed = true
		}
	}
	modified := ""
	if changed {
		modified = day
	} else if m, ok := before["modified"]; ok {
		modified = yamlDate(m)
	}
	// A change on the rule's own date is part of its first version: SigmaHQ's tools flag a
	// modified that is not after the date.
	if modified == "" || modified <= yamlDate(after["date"]) {
		return body
	}
	return setSigmaModified(body, modified)
}

// setSigmaModified writes "modified: day" after the date line (replacing one that is there).
func setSigmaModified(body []byte, day string) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(body) {
		if sigmaModified.Match(line) {
			continue
		}
		out.Write(line)
		if sigmaDate.Match(line) {
			out.WriteString("modified: " + day + "\n")
		}
	}
	return out.Bytes()
}

// SigmaModified is a Sigma rule's modified date, "" when it has none.
func SigmaModified(body []byte) string {
	var rule struct {
		Modified any `yaml:"modified"`
	}
	yaml.Unmarshal(body, &rule)
	return yamlDate(rule.Modified)
}

// yamlDate reads a date YAML may have decoded as a time.
func yamlDate(v any) string {
	switch t := v.(type) {
	case time.Time:
		return t.Format(time.DateOnly)
	case string:
		return t
	}
	return ""
}

// canonical sorts lists of scalars, so that the order of values does not count as a change.
func canonical(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			out[k] = canonical(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = canonical(x)
		}
		slices.SortFunc(out, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		return out
	}
	return v
}

// Deprecate marks a Sigma rule retired on day: status deprecated, modified day (or its own
// date, when the rule is younger than the day a run without an as-of date goes by).
func Deprecate(body []byte, day time.Time) []byte {
	var rule map[string]any
	yaml.Unmarshal(body, &rule)
	modified := max(day.Format(time.DateOnly), yamlDate(rule["date"]))
	var out strings.Builder
	for _, l := range strings.SplitAfter(string(body), "\n") {
		if strings.HasPrefix(l, "status: ") {
			l = "status: deprecated\n"
		}
		out.WriteString(l)
	}
	return setSigmaModified([]byte(out.String()), modified)
}

// yaraDated is what dating needs of a generated YARA rule: what it detects (its strings and
// condition, as written) and its modified date.
type yaraDated struct {
	detects, modified string
}

// dateYARA gives each generated rule whose strings or condition changed a modified meta entry,
// and carries the old one over for the others. Analysts' rules passed through are theirs.
func dateYARA(old, body []byte, day string) []byte {
	before := map[string]yaraDated{}
	if _, rules, err := yarasrc.Split(string(old)); err == nil {
		for _, r := range rules {
			if d, ok := readYARADated(r.Text); ok {
				before[r.Name] = d
			}
		}
	}
	_, rules, err := yarasrc.Split(string(body))
	if err != nil {
		return body
	}
	var out strings.Builder
	rest := string(body)
	for _, r := range rules {
		at := strings.Index(rest, r.Text)
		if at < 0 { // a file Split rewrote (CRLF): leave it undated rather than guess
			return body
		}
		out.WriteString(rest[:at])
		out.WriteString(dateYARARule(r, before, day))
		rest = rest[at+len(r.Text):]
	}
	out.WriteString(rest)
	return []byte(out.String())
}

// dateYARARule is one rule of a new file, dated against the old file's rule of its name.
func dateYARARule(r yarasrc.Rule, before map[string]yaraDated, day string) string {
	now, ok := readYARADated(r.Text)
	prev, existed := before[r.Name]
	if !ok || !existed {
		return r.Text
	}
	modified := prev.modified
	if prev.detects != now.detects {
		modified = day
	}
	if modified == "" {
		return r.Text
	}
	return setYARAModified(r.Text, modified)
}

// readYARADated reads a rule rulegen dates: one with a date entry and without an
// original_name (the mark of an analyst's rule).
func readYARADated(rule string) (yaraDated, bool) {
	at, err := yarasrc.DetectionStart(rule)
	if err != nil {
		return yaraDated{}, false
	}
	meta := rule[:at]
	var d yaraDated
	dated := false
	var prev string
	for line := range strings.Lines(meta) {
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "original_name"):
			return yaraDated{}, false
		case yaraDate.MatchString(line):
			dated = true
		case yaraDate.MatchString(prev):
			if m := yaraModified.FindStringSubmatch(line); m != nil {
				d.modified = m[1]
			}
		}
		prev = line
	}
	d.detects = rule[at:]
	return d, dated
}

// setYARAModified writes a modified entry after a rule's date entry, indented as it is,
// replacing the one there.
func setYARAModified(rule, day string) string {
	var out strings.Builder
	var prev string
	for line := range strings.Lines(rule) {
		if yaraDate.MatchString(prev) && yaraModified.MatchString(line) {
			prev = line
			continue
		}
		out.WriteString(line)
		if yaraDate.MatchString(line) {
			indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
			fmt.Fprintf(&out, "%smodified = %q\n", indent, day)
		}
		prev = line
	}
	return out.String()
}
