package normalize

import (
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// A report's slug names its files and, through them, its rules (render's RuleBase and Sigma
// titles carry the short id when the slug does). It is decided here, once: from the title, with
// the report's short id where titles do not keep reports apart.

// reportSlug is a report's slug before the run's other reports are known.
func reportSlug(r *report.Normalized) string {
	slug := Slug(r.Title, r.ID)
	if (r.Format == report.FormatMISP || r.Format == report.FormatSTIX) && !strings.HasSuffix(slug, report.ShortID(r.ID)) {
		// Feed events share titles ("... (part 2 of 5)" cut at 60 characters) and arrive
		// one by one; the event id makes each event's files and rule names its own
		// whatever else the feed holds, so names never move when events are added.
		slug += "_" + report.ShortID(r.ID)
	}
	return slug
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// Slug turns a title into a file-name-safe [a-z0-9_] name of at most 60 characters.
func Slug(title, id string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "_"), "_")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "_")
	}
	if s == "" { // a title in a script without [a-z0-9], e.g. Cyrillic
		s = "report_" + report.ShortID(id)
	}
	return s
}

// UniqueSlugs suffixes slugs shared by several reports with the report id, in id order, so
// every report has its own output files whatever order the inputs come in. Reports whose
// derived ids collide (two publications of the same title and date) first get ids of their
// own, from their sources.
func UniqueSlugs(reports []*report.Normalized) {
	byID := map[string][]*report.Normalized{}
	for _, r := range reports {
		if r.DerivedID {
			byID[r.ID] = append(byID[r.ID], r)
		}
	}
	for _, group := range byID {
		if len(group) < 2 {
			continue
		}
		for _, r := range group {
			r.ID = report.StableID("report", r.ID, filepath.ToSlash(r.Source))
		}
	}
	bySlug := map[string][]*report.Normalized{}
	for _, r := range reports {
		bySlug[r.Slug] = append(bySlug[r.Slug], r)
	}
	for _, group := range bySlug {
		if len(group) < 2 {
			continue
		}
		for _, r := range group {
			r.Slug += "_" + report.ShortID(r.ID)
		}
	}
}
