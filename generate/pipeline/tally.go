package pipeline

import "github.com/rulegen/rulegen/generate/report"

// Tally is what a run's summary, index and change log need of a report, counted where its
// outcome is made: small enough to keep (and cache) without the report.
type Tally struct {
	ID, Source, Title, Slug string
	Date, Changed           string
	DatedByRun              bool // report.Report.DatedByRun
	Samples, Unsized        int  // samples, and those without a size
	Dropped, Registry       int
	Domains, Endpoints      int // domains and hostnames; addresses (with their ports)
	URLs, Mutexes           int
	Imphashes               int
	C2                      int  // C2 values as YARA writes them (report.C2Count)
	BulkC2                  bool // a blocklist (report.BulkC2)
	Unflagged               bool // attributes, but none flagged to_ids
	Skipped                 []report.Skipped
	Values                  []string // report.Values
	// What `export` writes indicator lists and detections from.
	TLP         string              // report.Detections.TLP
	Techniques  []string            // ATT&CK technique ids
	Deployables []report.Deployable // report.Deployables
}

// Indicators counts what the report's rules detect.
func (t *Tally) Indicators() int {
	return t.Samples + t.Dropped + t.Registry + t.Domains + t.Endpoints + t.URLs + t.Mutexes + t.Imphashes
}

func newTally(r *report.Normalized) *Tally {
	t := &Tally{ID: r.ID, Source: r.Source, Title: r.Title, Slug: r.Slug, Date: r.Date, Changed: r.Changed, DatedByRun: r.DatedByRun,
		Registry: len(r.Registry), Domains: len(r.Domains) + len(r.Hostnames), Endpoints: len(r.Endpoints),
		URLs: len(r.URLs), Mutexes: len(r.Mutexes), Imphashes: len(r.Imphashes), C2: r.C2Count(), BulkC2: r.BulkC2, Unflagged: r.Unflagged,
		Skipped: r.Skipped, Values: r.Values(), TLP: r.TLP, Deployables: r.Deployables()}
	for _, tech := range r.Techniques {
		t.Techniques = append(t.Techniques, tech.ID)
	}
	for _, f := range r.Files {
		if f.Role != report.RoleSample {
			t.Dropped++
			continue
		}
		t.Samples++
		if f.Size == 0 {
			t.Unsized++
		}
	}
	return t
}
