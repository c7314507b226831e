package runreport

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/rulegen/rulegen/generate/internal/atomicfile"
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
	// Truncated says that past maxListedValues values, reports give counts instead of lists.
	Truncated bool `json:"values_truncated,omitempty"`
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
	Counts       *ValueCounts   `json:"value_counts,omitempty"` // instead of the lists, past the bound
}

// ValueCounts stand for a report's value lists once Changes lists no more.
type ValueCounts struct{ Added, Removed, Expired int }

// ExpiredValue is a value that left a report's rules because it expired.
type ExpiredValue struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// ChangeTotals sums Changes up.
type ChangeTotals struct {
	Reports, Rules                               int
	ReportsAdded, ReportsChanged, ReportsRemoved int
	ValuesAdded, ValuesRemoved, ValuesExpired    int
}

// maxListedValues and maxListedReports bound what a Changes lists, so that a first run over a
// large feed (everything added) keeps memory flat; counts stay exact past them.
const (
	maxListedValues  = 20000
	maxListedReports = 1000
)

// ChangeLog gathers Changes report by report, from several goroutines.
type ChangeLog struct {
	mu     sync.Mutex
	c      Changes
	listed int
}

// Report records one report of this run against what the last run wrote for it (nil: new).
func (l *ChangeLog) Report(old, now *ReportIndex, expired []report.Skipped) {
	rc := ReportChange{ID: now.ID, Title: now.Title, Source: now.Source}
	if old == nil {
		rc.Added, rc.FilesAdded = now.Values, now.Files
	} else {
		rc.Added, rc.Removed = difference(now.Values, old.Values), difference(old.Values, now.Values)
		rc.FilesAdded, rc.FilesRemoved = difference(now.Files, old.Files), difference(old.Files, now.Files)
		rc.Removed, rc.Expired = splitExpired(rc.Removed, expired)
		if len(rc.Added)+len(rc.Removed)+len(rc.Expired)+len(rc.FilesAdded)+len(rc.FilesRemoved) == 0 {
			return
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	kind := "changed"
	if old == nil {
		kind = "added"
	}
	if !l.bound(&rc, kind) {
		return
	}
	if old == nil {
		l.c.Added = append(l.c.Added, rc)
	} else {
		l.c.Changed = append(l.c.Changed, rc)
	}
}

// Removed records a report the last run wrote and this one did not.
func (l *ChangeLog) Removed(old *ReportIndex) {
	rc := ReportChange{ID: old.ID, Title: old.Title, Source: old.Source, Removed: old.Values, FilesRemoved: old.Files}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bound(&rc, "removed") {
		l.c.Removed = append(l.c.Removed, rc)
	}
}

// bound counts a change of a kind ("added", "changed", "removed") and says whether it is
// listed: past maxListedReports reports it is counted only; past maxListedValues values its
// lists give way to counts.
func (l *ChangeLog) bound(rc *ReportChange, kind string) bool {
	t := &l.c.Totals
	t.ValuesAdded += len(rc.Added)
	t.ValuesRemoved += len(rc.Removed)
	t.ValuesExpired += len(rc.Expired)
	switch kind {
	case "added":
		t.ReportsAdded++
	case "changed":
		t.ReportsChanged++
	default:
		t.ReportsRemoved++
	}
	if len(l.c.Added)+len(l.c.Changed)+len(l.c.Removed) >= maxListedReports {
		l.c.Truncated = true
		return false
	}
	n := len(rc.Added) + len(rc.Removed) + len(rc.Expired) + len(rc.FilesAdded) + len(rc.FilesRemoved)
	if l.listed+n > maxListedValues {
		rc.Counts = &ValueCounts{Added: len(rc.Added), Removed: len(rc.Removed), Expired: len(rc.Expired)}
		rc.Added, rc.Removed, rc.Expired, rc.FilesAdded, rc.FilesRemoved = nil, nil, nil, nil, nil
		l.c.Truncated = true
		return true
	}
	l.listed += n
	return true
}

// Result completes the changes of a run.
func (l *ChangeLog) Result(asOf string, ret *Retirement, sum *Summary) *Changes {
	c := &l.c
	c.Out, c.AsOf, c.Failed, c.Skipped = sum.Out, asOf, sum.Failed, sum.skipped
	if ret != nil {
		c.Retired, c.DeprecatedRemoved = ret.Retired, append(slices.Clone(ret.Expired), ret.Revived...)
	}
	for _, list := range [][]ReportChange{c.Added, c.Changed, c.Removed} {
		slices.SortFunc(list, func(a, b ReportChange) int {
			return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.ID, b.ID))
		})
	}
	c.Totals.Reports, c.Totals.Rules = sum.reports-sum.withheld, sum.rules
	return c
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
				reason = s.Reason
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
		c.Totals.ReportsAdded, c.Totals.ReportsChanged, c.Totals.ReportsRemoved, c.Totals.ValuesAdded, c.Totals.ValuesRemoved, c.Totals.ValuesExpired)
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
			if n := rc.Counts; n != nil {
				add("  - values: %d added, %d removed, %d expired (too many to list)", n.Added, n.Removed, n.Expired)
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
	if c.Truncated {
		add("")
		add("_More changed than is listed here: the totals above count everything._")
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
	if err := atomicfile.Write(path, write); err != nil {
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
