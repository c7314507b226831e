package runreport

import (
	"cmp"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
)

// Runs with at most this many reports print a paragraph per report; larger runs (feeds) print
// the totals only, and the skip lists in OUT/skipped/ hold the detail.
const maxDetailReports = 50

// A report with more skipped values than this prints them grouped by reason.
const maxListedSkips = 20

// Summary adds up a run's outcomes and what was written; Add is safe for concurrent use. Write
// prints it as the run's closing text.
type Summary struct {
	Out      string
	MaxTLP   string
	BulkC2   int               // the --yara-bulk-c2 limit, for the blocklist message
	Written  atomicdir.Written // set by the commit
	Orphans  []string
	Pruned   bool
	Compiled *Compiled // the --yara-compiled file, when written
	// AttackLayer is the --attack-layer file, when written, and AttackTechniques how many
	// technique and tactic entries it scores.
	AttackLayer      string
	AttackTechniques int
	// InputSkips are entries of the inputs that name no report (feed manifest keys that are
	// not event uuids).
	InputSkips []report.Skipped
	AsOf       string        // the date ages were judged against; "" when nothing expires
	Failed     []FailedInput // inputs that failed in a run that kept going
	Retired    *Retirement   // what a pruning run retired
	// CacheHits of Inputs came from the cache.
	CacheHits, Inputs int

	mu                       sync.Mutex
	reports, withheld        int
	unflagged                int // reports with attributes but none flagged to_ids
	unsized                  int // samples without a size: YARA hashes every scanned file for them
	bulk                     int // blocklists: reports whose C2 strings YARA matches as listed, in ASCII
	indicators, rules, files int
	skipped                  map[string]int
	details                  []reportDetail // only while reports <= maxDetailReports
}

// reportDetail is what the paragraph of one report needs, without the report itself.
type reportDetail struct {
	source, title, slug, withheld string
	outputs                       []string
	counts                        string
	unflagged                     bool
	skipped                       []report.Skipped
}

// Compiled is the compiled ruleset a run wrote besides the rule files.
type Compiled struct {
	Path         string
	Rules, Files int
}

// AddShared counts the files no single report owns (the shared rules of --yara-layout feed).
func (s *Summary) AddShared(files []render.File, rules int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules += rules
	s.files += len(files)
}

// NewSummary starts the summary of a run writing out.
func NewSummary(out, maxTLP string, bulkC2 int) *Summary {
	return &Summary{Out: out, MaxTLP: maxTLP, BulkC2: bulkC2, skipped: map[string]int{}}
}

// Add counts one report's outcome.
func (s *Summary) Add(o *pipeline.Outcome) {
	t := o.Tally
	d := reportDetail{source: t.Source, title: t.Title, slug: t.Slug, withheld: o.Withheld, unflagged: t.Unflagged}
	for _, f := range o.Files {
		if f.Path == "yara/"+t.Slug+".yar" || path.Dir(f.Path) == "sigma/"+t.Slug {
			d.outputs = append(d.outputs, f.Path)
		}
	}
	d.counts = fmt.Sprintf("%d samples, %d dropped files, %d registry values, %d domains, %d endpoints, %d URLs, %d mutexes, %d imphashes; %d skipped",
		t.Samples, t.Dropped, t.Registry, t.Domains, t.Endpoints, t.URLs, t.Mutexes, t.Imphashes, len(t.Skipped))
	if t.BulkC2 {
		d.counts += fmt.Sprintf("; a blocklist: its %d C2 values are matched as listed, in ASCII only (more than --yara-bulk-c2 %d)", t.C2, s.BulkC2)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports++
	if o.Withheld != "" {
		s.withheld++
	} else {
		s.indicators += t.Indicators()
		s.unsized += t.Unsized
		if t.BulkC2 {
			s.bulk++
		}
		for _, sk := range t.Skipped {
			s.skipped[reasonGroup(sk)]++
		}
		d.skipped = t.Skipped
	}
	if d.unflagged {
		s.unflagged++
	}
	s.rules += o.Rules
	s.files += len(o.Files)
	if s.reports <= maxDetailReports {
		s.details = append(s.details, d)
	} else {
		s.details = nil
	}
}

// Write prints a paragraph per report (runs of up to maxDetailReports), then the totals.
func (s *Summary) Write(w io.Writer) {
	out, written, unchanged, orphans, pruned := s.Out, s.Written.Files, s.Written.Unchanged, s.Orphans, s.Pruned
	slices.SortFunc(s.details, func(a, b reportDetail) int {
		return cmp.Or(strings.Compare(a.source, b.source), strings.Compare(a.slug, b.slug))
	})
	if s.reports <= maxDetailReports {
		for _, d := range s.details {
			d.print(w, out)
		}
	}
	for _, f := range s.Failed {
		fmt.Fprintf(w, "FAILED %s: %s\n", f.Input, f.Reason)
		if len(f.Kept) > 0 {
			fmt.Fprintf(w, "  its previous rules are kept as they were: %s\n", strings.Join(f.Kept, ", "))
		} else {
			fmt.Fprintf(w, "  it had no previous rules\n")
		}
	}
	for _, sk := range s.InputSkips {
		fmt.Fprintf(w, "%s: skipped %s %q: %s\n", sk.Source.File, sk.Kind, shorten(sk.Value), sk.Why())
	}
	line := fmt.Sprintf("%d reports, %d indicators, %d rules, %d files in %s (%d written, %d unchanged)",
		s.reports, s.indicators, s.rules, s.files, out, written, unchanged)
	if s.withheld > 0 {
		line += fmt.Sprintf("; %d withheld by TLP (--max-tlp %s)", s.withheld, s.MaxTLP)
	}
	if s.AsOf != "" {
		line += fmt.Sprintf("; ages judged as of %s", s.AsOf)
	}
	if s.CacheHits > 0 {
		line += fmt.Sprintf("; %d of %d inputs unchanged, taken from the cache", s.CacheHits, s.Inputs)
	}
	if s.unsized > 0 {
		line += fmt.Sprintf("; %d samples without a size (YARA hashes every scanned file for them)", s.unsized)
	}
	if s.bulk > 0 {
		line += fmt.Sprintf("; blocklists, their C2 matched as listed, in ASCII only (more than --yara-bulk-c2 %d values): %d", s.BulkC2, s.bulk)
	}
	if s.unflagged > 0 {
		line += fmt.Sprintf("; %d with no attribute flagged to_ids (--all-attributes uses them)", s.unflagged)
	}
	if len(s.Failed) > 0 {
		line += fmt.Sprintf("; %d inputs FAILED (--keep-going)", len(s.Failed))
	}
	if len(s.skipped) > 0 {
		line += "; skipped " + countsByReason(s.skipped)
	}
	switch {
	case ruleCount(orphans) > 0 && pruned:
		line += fmt.Sprintf("; %d orphaned files removed", ruleCount(orphans))
	case ruleCount(orphans) > 0:
		line += fmt.Sprintf("; %d orphaned files no input produces (--prune removes them)", ruleCount(orphans))
	}
	if r := s.Retired; r != nil && len(r.Retired)+len(r.Expired)+len(r.Revived) > 0 {
		line += fmt.Sprintf("; Sigma rules retired to %s/: %d, removed from it: %d (after the retention period: %d; made again: %d)",
			DeprecatedDir, len(r.Retired), len(r.Expired)+len(r.Revived), len(r.Expired), len(r.Revived))
	}
	if s.Written.Mode == atomicdir.PerFile {
		line += fmt.Sprintf("; moved in file by file, as %s cannot be replaced whole (a mount point)", out)
	}
	fmt.Fprintln(w, line)
	if s.Compiled != nil {
		fmt.Fprintf(w, "%d YARA rules from %d files compiled into %s\n", s.Compiled.Rules, s.Compiled.Files, s.Compiled.Path)
	}
	if s.AttackLayer != "" {
		fmt.Fprintf(w, "ATT&CK Navigator layer of %d techniques by tactic written to %s\n", s.AttackTechniques, s.AttackLayer)
	}
}

// countsByReason writes "N (reason: n; reason: n)", the most frequent reason first.
func countsByReason(m map[string]int) string {
	type group struct {
		reason string
		n      int
	}
	var groups []group
	total := 0
	for reason, n := range m {
		groups = append(groups, group{reason, n})
		total += n
	}
	slices.SortFunc(groups, func(a, b group) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.reason, b.reason)) })
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = fmt.Sprintf("%s: %d", g.reason, g.n)
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, "; "))
}

// print writes one report's paragraph: its outputs, its counts and what was skipped.
func (d reportDetail) print(w io.Writer, out string) {
	if d.withheld != "" {
		fmt.Fprintf(w, "%s: %q: %s\n", d.source, d.title, d.withheld)
		return
	}
	fmt.Fprintf(w, "%s: %q → %s\n", d.source, d.title, orNone(strings.Join(d.outputs, ", ")))
	fmt.Fprintf(w, "  %s\n", d.counts)
	if d.unflagged {
		fmt.Fprintf(w, "  no attribute is flagged to_ids, so none became a rule: --all-attributes uses them\n")
	}
	if len(d.skipped) <= maxListedSkips {
		for _, s := range d.skipped {
			fmt.Fprintf(w, "  skipped %s %s %q: %s\n", s.Source, s.Kind, shorten(s.Value), s.Why())
		}
		return
	}
	reasons := map[string]int{}
	for _, s := range d.skipped {
		reasons[reasonGroup(s)]++
	}
	fmt.Fprintf(w, "  skipped %s, listed in %s\n", countsByReason(reasons), path.Join(out, "skipped", d.slug+".tsv"))
}

// shorten keeps a skipped value to one readable line; the skip list keeps it whole.
func shorten(v string) string {
	const max = 80
	if r := []rune(v); len(r) > max {
		return string(r[:max]) + "…"
	}
	return v
}

func orNone(s string) string {
	if s == "" {
		return "no rules"
	}
	return s
}

// ruleCount counts the rule files among paths, not the run's own bookkeeping.
func ruleCount(paths []string) int {
	n := 0
	for _, p := range paths {
		if !atomicdir.Bookkeeping(p) {
			n++
		}
	}
	return n
}

// reasonGroup is the reason a skip is counted under: expiries carry their dates, and are
// counted together.
func reasonGroup(s report.Skipped) string {
	if s.Expired() {
		return "expired"
	}
	return s.Reason
}
