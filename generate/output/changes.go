package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// Changes is what a run changed, in terms a reviewer reads: reports added, changed and removed,
// the values each report's rules gained, lost or saw expire, rules retired. It is computed from
// the reports and the previous run's state, not from a diff of files.
type Changes struct {
	Out               string         `json:"out"`
	AsOf              string         `json:"as_of,omitempty"`
	Added             []ReportChange `json:"reports_added"`
	Changed           []ReportChange `json:"reports_changed"`
	Removed           []ReportChange `json:"reports_removed"`
	Retired           []Retired      `json:"rules_retired"`
	DeprecatedRemoved []string       `json:"deprecated_rules_removed"`
	Failed            []FailedInput  `json:"inputs_failed"`
	Totals            ChangeTotals   `json:"totals"`
	Skipped           map[string]int `json:"skipped_by_reason"`
}

// ReportChange is one report's part of Changes.
type ReportChange struct {
	ID           string         `json:"id"`
	Title        string         `json:"title"`
	Source       string         `json:"source"`
	Added        []string       `json:"values_added,omitempty"`
	Removed      []string       `json:"values_removed,omitempty"`
	Expired      []ExpiredValue `json:"values_expired,omitempty"`
	FilesAdded   []string       `json:"files_added,omitempty"`
	FilesRemoved []string       `json:"files_removed,omitempty"`
}

// ExpiredValue is a value that left a report's rules because it expired.
type ExpiredValue struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// ChangeTotals sums Changes up.
type ChangeTotals struct {
	Reports, Rules                            int
	ValuesAdded, ValuesRemoved, ValuesExpired int
}

// changes compares the previous state with this run's; expired holds, per report id, the
// values this run skipped as expired.
func changes(prev, next *RunState, expired map[string][]report.Skipped, ret *retirement, sum *Summary) *Changes {
	c := &Changes{Out: sum.Out, AsOf: next.AsOf, Failed: sum.Failed, Skipped: sum.skipped}
	if ret != nil {
		c.Retired, c.DeprecatedRemoved = ret.Retired, append(slices.Clone(ret.Expired), ret.Revived...)
	}
	for _, id := range sortedIDs(next.Reports) {
		now := next.Reports[id]
		before, existed := prev.Reports[id]
		rc := ReportChange{ID: id, Title: now.Title, Source: now.Source}
		if !existed {
			rc.Added, rc.FilesAdded = now.Values, now.Files
			c.Added = append(c.Added, rc)
			continue
		}
		rc.Added, rc.Removed = difference(now.Values, before.Values), difference(before.Values, now.Values)
		rc.FilesAdded, rc.FilesRemoved = difference(now.Files, before.Files), difference(before.Files, now.Files)
		rc.Removed, rc.Expired = splitExpired(rc.Removed, expired[id])
		if len(rc.Added)+len(rc.Removed)+len(rc.Expired)+len(rc.FilesAdded)+len(rc.FilesRemoved) > 0 {
			c.Changed = append(c.Changed, rc)
		}
	}
	for _, id := range sortedIDs(prev.Reports) {
		if _, kept := next.Reports[id]; !kept {
			before := prev.Reports[id]
			c.Removed = append(c.Removed, ReportChange{ID: id, Title: before.Title, Source: before.Source, Removed: before.Values, FilesRemoved: before.Files})
		}
	}
	for _, l := range [][]ReportChange{c.Added, c.Changed, c.Removed} {
		for _, rc := range l {
			c.Totals.ValuesAdded += len(rc.Added)
			c.Totals.ValuesRemoved += len(rc.Removed)
			c.Totals.ValuesExpired += len(rc.Expired)
		}
	}
	c.Totals.Reports, c.Totals.Rules = len(next.Reports), sum.rules
	return c
}

func sortedIDs(m map[string]*ReportState) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// difference lists the sorted values of a that b lacks.
func difference(a, b []string) []string {
	in := map[string]bool{}
	for _, v := range b {
		in[v] = true
	}
	var out []string
	for _, v := range a {
		if !in[v] {
			out = append(out, v)
		}
	}
	return out
}

// splitExpired moves the removed values that expired, by their skip, to expired.
func splitExpired(removed []string, skips []report.Skipped) (gone []string, expired []ExpiredValue) {
	for _, v := range removed {
		reason := ""
		for _, s := range skips {
			if key := valueKey(s); v == key || strings.HasPrefix(v, key+" ") {
				reason = strings.TrimPrefix(s.Reason, "expired: ")
				break
			}
		}
		if reason == "" {
			gone = append(gone, v)
		} else {
			expired = append(expired, ExpiredValue{Value: v, Reason: reason})
		}
	}
	return gone, expired
}

// valueKey writes an expired skip as report.Values writes the value it was.
func valueKey(s report.Skipped) string {
	switch s.Kind {
	case "ip":
		ip, port, ok := strings.Cut(s.Value, "|")
		if ok {
			return "ip " + ip + " port " + port
		}
		return "ip " + ip
	case "hash":
		return "sample " + s.Value
	case "filename":
		return "file " + s.Value
	}
	return s.Kind + " " + s.Value
}

// MaxChangesBytes bounds the Markdown summary: GitHub's job summary takes 1 MiB.
const MaxChangesBytes = 1 << 20

// WriteMarkdown writes the changes for a pull request's body or $GITHUB_STEP_SUMMARY, cut with
// a note where it would pass MaxChangesBytes.
func (c *Changes) WriteMarkdown(w io.Writer) error {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	add("## rulegen: changes in %s", c.Out)
	add("")
	head := fmt.Sprintf("%d reports added, %d changed, %d removed; values %+d, -%d, %d expired",
		len(c.Added), len(c.Changed), len(c.Removed), c.Totals.ValuesAdded, c.Totals.ValuesRemoved, c.Totals.ValuesExpired)
	if c.AsOf != "" {
		head += " (as of " + c.AsOf + ")"
	}
	add("%s; %d Sigma rules retired, %d deprecated rules removed; %d reports, %d rules in all.", head, len(c.Retired), len(c.DeprecatedRemoved), c.Totals.Reports, c.Totals.Rules)
	section := func(title string, list []ReportChange) {
		if len(list) == 0 {
			return
		}
		add("")
		add("### %s", title)
		for _, rc := range list {
			add("")
			add("- **%s** (`%s`)", mdText(rc.Title), mdCode(rc.Source))
			for _, v := range rc.Added {
				add("  - added `%s`", mdCode(v))
			}
			for _, v := range rc.Removed {
				add("  - removed `%s`", mdCode(v))
			}
			for _, e := range rc.Expired {
				add("  - expired `%s`: %s", mdCode(e.Value), mdText(e.Reason))
			}
			for _, f := range rc.FilesAdded {
				add("  - new rule file `%s`", mdCode(f))
			}
			for _, f := range rc.FilesRemoved {
				add("  - rule file gone `%s`", mdCode(f))
			}
		}
	}
	section("Reports added", c.Added)
	section("Reports changed", c.Changed)
	section("Reports removed", c.Removed)
	if len(c.Retired)+len(c.DeprecatedRemoved) > 0 {
		add("")
		add("### Rules retired")
		add("")
		for _, r := range c.Retired {
			add("- `%s` → `%s` (status: deprecated)", mdCode(r.From), mdCode(r.To))
		}
		for _, p := range c.DeprecatedRemoved {
			add("- `%s` removed", mdCode(p))
		}
	}
	if len(c.Failed) > 0 {
		add("")
		add("### Inputs that failed (their previous rules are kept)")
		add("")
		for _, f := range c.Failed {
			add("- `%s`: %s", mdCode(f.Input), mdText(f.Reason))
		}
	}
	if len(c.Skipped) > 0 {
		add("")
		add("### Values skipped, by reason")
		add("")
		add("| reason | values |")
		add("|---|---|")
		for _, reason := range sortedByCount(c.Skipped) {
			add("| %s | %d |", strings.ReplaceAll(mdText(reason), "|", `\|`), c.Skipped[reason])
		}
	}
	var b strings.Builder
	for i, l := range lines {
		if b.Len()+len(l)+200 > MaxChangesBytes {
			fmt.Fprintf(&b, "\n_Cut at 1 MiB: %d more lines. `--changes-format json` writes them all._\n", len(lines)-i)
			break
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the changes for machines.
func (c *Changes) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// Save writes the changes to path, whole or not at all, as Markdown or JSON.
func (c *Changes) Save(path, format string) error {
	write := c.WriteMarkdown
	if format == "json" {
		write = c.WriteJSON
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("changes: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	err = write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("changes %s: %w", path, err)
	}
	return nil
}

func sortedByCount(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	return keys
}

// mdText keeps a value from the outside on one line and from being read as Markdown markup.
func mdText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, s)
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "`", "'").Replace(s)
}

// mdCode keeps a value inside a code span.
func mdCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == '`' {
			return ' '
		}
		return r
	}, s)
}
