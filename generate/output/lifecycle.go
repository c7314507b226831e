package output

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A rules repository lives for years: rules whose detection changes are dated (modified), and
// rules that nothing produces any more are retired rather than dropped. This file holds both,
// for Generate and Check alike, so that --check reproduces what generate --prune writes.

// DeprecatedDir is where retired Sigma rules are kept, below sigma/: SigmaHQ's layout.
const DeprecatedDir = "sigma/deprecated"

// DefaultRetention is how long a retired Sigma rule stays in DeprecatedDir.
const DefaultRetention = 180

// settle returns a rule file's new body with its modified date settled against the old one:
// set to day (the date of a change made now) when its detection changed, carried over when it
// did not. A new file (old nil) has no modified date.
func settle(rel string, old, body []byte, day string) []byte {
	if old == nil {
		return body
	}
	// Most files of a rerun are as they were: the old file, but for its modified date, is the
	// new one.
	if bytes.Equal(old, body) || bytes.Equal(withoutModified(old), body) {
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

// withoutModified drops the modified lines of a Sigma rule or of a YARA file's meta.
func withoutModified(b []byte) []byte {
	if !bytes.Contains(b, []byte("modified")) {
		return b
	}
	var out bytes.Buffer
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("modified: ")) || bytes.HasPrefix(l, []byte("        modified = ")) {
			continue
		}
		out.Write(l)
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
	lines := strings.SplitAfter(string(body), "\n")
	var out strings.Builder
	for _, l := range lines {
		if strings.HasPrefix(l, "modified: ") {
			continue
		}
		out.WriteString(l)
		if strings.HasPrefix(l, "date: ") {
			out.WriteString("modified: " + day + "\n")
		}
	}
	return []byte(out.String())
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

// yaraRule is one rule of a generated YARA file: its meta block and the rest (strings and
// condition), which is what it detects.
var yaraRule = regexp.MustCompile(`(?ms)^rule (\w+)\n\{\n(.*?)^\}`)

// dateYARA gives each rule whose strings or condition changed a modified meta, and carries
// the old one over for the others.
func dateYARA(old, body []byte, day string) []byte {
	before := map[string]string{}
	modifiedBefore := map[string]string{}
	for _, m := range yaraRule.FindAllSubmatch(old, -1) {
		meta, rest := splitMeta(string(m[2]))
		before[string(m[1])] = rest
		if mod := metaValue(meta, "modified"); mod != "" {
			modifiedBefore[string(m[1])] = mod
		}
	}
	return yaraRule.ReplaceAllFunc(body, func(rule []byte) []byte {
		m := yaraRule.FindSubmatch(rule)
		name := string(m[1])
		_, rest := splitMeta(string(m[2]))
		prev, existed := before[name]
		modified := ""
		switch {
		case existed && prev != rest:
			modified = day
		case existed:
			modified = modifiedBefore[name]
		}
		if modified == "" {
			return rule
		}
		return setYARAModified(rule, modified)
	})
}

// splitMeta cuts a rule body into its meta block and the rest.
func splitMeta(body string) (meta, rest string) {
	i := strings.Index(body, "\n    strings:\n")
	if i < 0 {
		i = strings.Index(body, "\n    condition:\n")
	}
	if i < 0 {
		return "", body
	}
	return body[:i], body[i:]
}

var metaLine = regexp.MustCompile(`(?m)^        (\w+) = "((?:[^"\\]|\\.)*)"$`)

func metaValue(meta, key string) string {
	for _, m := range metaLine.FindAllStringSubmatch(meta, -1) {
		if m[1] == key {
			return m[2]
		}
	}
	return ""
}

func setYARAModified(rule []byte, day string) []byte {
	var out bytes.Buffer
	for _, l := range bytes.SplitAfter(rule, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("        modified = ")) {
			continue
		}
		out.Write(l)
		if bytes.HasPrefix(l, []byte("        date = ")) {
			fmt.Fprintf(&out, "        modified = %q\n", day)
		}
	}
	return out.Bytes()
}

// retirement is what a pruning run does with the files nothing produces any more: YARA rules
// and skip lists go; a Sigma rule is deprecated into DeprecatedDir, where it stays for the
// retention period, or until its report makes it again.
type retirement struct {
	Retired []Retired // Sigma rules deprecated by this run
	Expired []string  // deprecated rules removed after the retention period
	Revived []string  // deprecated rules removed because their rule is made again
}

// Retired is a Sigma rule moved to DeprecatedDir.
type Retired struct{ From, To string }

// retire plans the retirements of a run over out: it puts the deprecated rules, marks what stays
// as produced, and returns what it did and the orphans left (retired rules among them: they
// move). day dates a retirement and judges retention.
func retire(out string, produced, liveIDs map[string]bool, day string, retentionDays int, put func(File) error) (*retirement, []string, error) {
	r := &retirement{}
	if day == "" { // nothing to date a retirement with: the orphans stay orphans
		orphans, err := Orphans(out, produced)
		return r, orphans, err
	}
	today, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, nil, err
	}
	deprecated, err := listFiles(out, DeprecatedDir)
	if err != nil {
		return nil, nil, err
	}
	for _, rel := range deprecated {
		live := "sigma/" + strings.TrimPrefix(rel, DeprecatedDir+"/")
		body, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil {
			return nil, nil, err
		}
		if produced[live] || liveIDs[sigmaID(rel, body)] { // back, under its name or another
			r.Revived = append(r.Revived, rel)
			continue
		}
		var rule map[string]any
		yaml.Unmarshal(body, &rule)
		since, err := time.Parse(time.DateOnly, yamlDate(rule["modified"]))
		if err == nil && today.Sub(since) > time.Duration(retentionDays)*24*time.Hour {
			r.Expired = append(r.Expired, rel)
			continue
		}
		produced[rel] = true // kept as it is
	}
	orphans, err := Orphans(out, produced)
	if err != nil {
		return nil, nil, err
	}
	for _, rel := range orphans {
		if !strings.HasPrefix(rel, "sigma/") || strings.HasPrefix(rel, DeprecatedDir+"/") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil {
			return nil, nil, err
		}
		if liveIDs[sigmaID(rel, body)] { // renamed, not retired: its id lives on in another file
			continue
		}
		to := path.Join(DeprecatedDir, strings.TrimPrefix(rel, "sigma/"))
		if err := put(File{Path: to, Body: deprecate(body, today)}); err != nil {
			return nil, nil, err
		}
		produced[to] = true
		r.Retired = append(r.Retired, Retired{From: rel, To: to})
	}
	// A retired rule may land where a deprecated one outlived its retention: it stays.
	return r, slices.DeleteFunc(orphans, func(rel string) bool { return produced[rel] }), nil
}

// sigmaID is a generated Sigma rule's id ("" for another file).
func sigmaID(rel string, body []byte) string {
	if !strings.HasPrefix(rel, "sigma/") || !strings.HasSuffix(rel, ".yml") {
		return ""
	}
	for line := range bytes.Lines(body) {
		if id, ok := bytes.CutPrefix(line, []byte("id: ")); ok {
			// A copy: the run keeps every rule's id, and a slice of the body would keep the body.
			return string(bytes.Trim(bytes.TrimSpace(id), `'"`))
		}
	}
	return ""
}

// renamedFrom is the file in place that a Sigma rule new at its path was before: the rule of
// the same id in its report's directory (rulegen once named rule files without the slug), or
// nil.
func renamedFrom(out string, f File) []byte {
	id := sigmaID(f.Path, f.Body)
	if id == "" {
		return nil
	}
	dir := path.Dir(f.Path)
	entries, err := os.ReadDir(filepath.Join(out, filepath.FromSlash(dir)))
	if err != nil {
		return nil
	}
	for _, e := range entries {
		rel := path.Join(dir, e.Name())
		if e.IsDir() || rel == f.Path {
			continue
		}
		if body, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel))); err == nil && sigmaID(rel, body) == id {
			return body
		}
	}
	return nil
}

// deprecate marks a Sigma rule retired on day: status deprecated, modified day (or its own
// date, when the rule is younger than the day a run without an as-of date goes by).
func deprecate(body []byte, day time.Time) []byte {
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
