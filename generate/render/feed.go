package render

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/report"
)

// FeedSample is one report's sample, kept for the shared hash rules of --yara-layout feed.
type FeedSample struct {
	File     report.File
	ReportID string
	Date     string
	TLP      string
}

// FeedSamples takes a rendered report's samples for the shared rules: in the feed layout the
// report's own YARA has none.
func FeedSamples(r *report.Normalized) []FeedSample {
	var out []FeedSample
	for _, f := range r.Samples() {
		out = append(out, FeedSample{File: f, ReportID: r.ID, Date: r.Date, TLP: r.TLP})
	}
	return out
}

// FeedPath is where the shared hash rules of the feed layout are written.
const FeedPath = "yara/rulegen_feed_hashes.yar"

// feedKey tells samples apart: the same hash and size from two reports is one sample.
func feedKey(f hashSample) string {
	return f.Algo + ":" + strings.ToLower(f.Digest) + ":" + strconv.FormatInt(f.Size, 10)
}

type feedView struct {
	Author  string
	Reports int
	Rules   []feedRule
}

type feedRule struct {
	Rule        hashRule
	Date, TLP   string   // the latest date and the most restrictive TLP of its samples' reports
	Attribution []string // "<hash> <report id> ...", one per sample
}

// RenderFeed writes the samples of all reports as shared hash rules, laid out as one large
// report's. A sample several reports list is one term, attributed to all of them. It returns
// no file when there are no samples.
func (rd *Renderer) RenderFeed(samples []FeedSample) ([]File, error) {
	type entry struct {
		sample  hashSample
		key     string
		reports []FeedSample
	}
	byKey := map[string]*entry{}
	reports := map[string]bool{}
	for _, s := range samples {
		sample := newHashSample(s.File)
		k := feedKey(sample)
		e := byKey[k]
		if e == nil {
			e = &entry{sample: sample, key: k}
			byKey[k] = e
		}
		e.reports = append(e.reports, s)
		reports[s.ReportID] = true
	}
	if len(byKey) == 0 {
		return nil, nil
	}
	entries := slices.Collect(maps.Values(byKey))
	// By size, then digest; the key breaks what ties are left, whatever order the map gave.
	// Keys are computed once per sample, not in every comparison.
	slices.SortFunc(entries, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.sample.Size, b.sample.Size), strings.Compare(a.sample.Digest, b.sample.Digest), strings.Compare(a.key, b.key))
	})
	sorted := make([]hashSample, len(entries))
	for i, e := range entries {
		sorted[i] = e.sample
	}
	view := feedView{Author: rd.opts.Author, Reports: len(reports)}
	for _, h := range hashRules(sorted, LayoutFast) {
		fr := feedRule{Rule: h}
		for _, f := range h.Samples {
			e := byKey[feedKey(f)]
			ids := []string{e.sample.Digest}
			// Reports in id order, whatever order the workers finished them in.
			slices.SortFunc(e.reports, func(a, b FeedSample) int { return strings.Compare(a.ReportID, b.ReportID) })
			for _, s := range e.reports {
				ids = append(ids, s.ReportID)
				fr.Date = max(fr.Date, s.Date)
				if fr.TLP == "" || normalize.AboveTLP(s.TLP, fr.TLP) {
					fr.TLP = s.TLP
				}
			}
			fr.Attribution = append(fr.Attribution, strings.Join(slices.Compact(ids), " "))
		}
		view.Rules = append(view.Rules, fr)
	}
	body, err := rd.yara.execute("feedSamples", view)
	if err != nil {
		return nil, err
	}
	return []File{{Path: FeedPath, Body: body}}, nil
}
