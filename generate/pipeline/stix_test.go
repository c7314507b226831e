package pipeline_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/sigma"
)

// generateSTIX runs every bundled STIX file on its own, as generate would, keyed by file.
func generateSTIX(t *testing.T) (map[string][]*pipeline.Outcome, map[string][]render.File) {
	t.Helper()
	dir := filepath.Join(golden.RepoRoot(t), "testdata", "stix")
	bundles, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(bundles) == 0 {
		t.Fatalf("no bundles in %s: %v", dir, err)
	}
	outcomes, files := map[string][]*pipeline.Outcome{}, map[string][]render.File{}
	for _, b := range bundles {
		name := strings.TrimSuffix(filepath.Base(b), ".json")
		o, f, err := pipeline.Collect(context.Background(), []string{b}, pipeline.Options{Render: render.Options{Author: committedAuthor}})
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		outcomes[name], files[name] = o, f
	}
	return outcomes, files
}

// TestSTIXGolden keeps the rules of each bundled STIX file under testdata/stix/golden/<file>/:
// a change in what a bundle makes is a golden diff to review (UPDATE_GOLDEN=1 refreshes it).
// Every rule compiled in libyara and validated on the way (Collect fails otherwise).
func TestSTIXGolden(t *testing.T) {
	outcomes, files := generateSTIX(t)
	var all []render.File
	for _, name := range slices.Sorted(maps.Keys(files)) {
		for _, f := range files[name] {
			all = append(all, render.File{Path: name + "/" + f.Path, Body: f.Body})
		}
		t.Logf("%s: %s", name, stixSummary(outcomes[name]))
	}
	assertGoldenTree(t, filepath.Join(golden.RepoRoot(t), "testdata", "stix", "golden"), all)
}

// assertGoldenTree holds files, by slash path below root, to the golden tree at root.
func assertGoldenTree(t *testing.T, root string, files []render.File) {
	t.Helper()
	tree := map[string][]byte{}
	for _, f := range files {
		tree[f.Path] = f.Body
	}
	golden.AssertTree(t, root, tree)
}

// stixSummary is what a bundle made: reports, indicators, rules and skips by reason.
func stixSummary(outcomes []*pipeline.Outcome) string {
	indicators, rules := 0, 0
	reasons := map[string]int{}
	for _, o := range outcomes {
		indicators += len(o.Tally.Values)
		rules += o.Rules
		for _, s := range o.Tally.Skipped {
			reasons[s.Reason]++
		}
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(reasons)) {
		parts = append(parts, fmt.Sprintf("%d %s", reasons[r], r))
	}
	return fmt.Sprintf("%d reports, %d indicators, %d rules; skipped: %s", len(outcomes), indicators, rules, strings.Join(parts, "; "))
}

// The rules of a real vendor bundle detect what the bundle names and nothing beside it:
// Talos's PowerRAT/DCRat C2 domain in a memory buffer (libyara) and in DNS and proxy logs
// (sigma-go), with near misses that must not fire.
func TestSTIXRulesDetect(t *testing.T) {
	_, all := generateSTIX(t)
	files := all["talos_2024-10_gophish_powerrat_dcrat_stix20"]
	compiled, rules := loadRules(t, files)
	defer compiled.Destroy()
	for buf, want := range map[string]bool{
		"GET /api/texts/ HTTP/1.1\r\nHost: strepsils.top\r\n":     true,
		"GET / HTTP/1.1\r\nHost: strepsils.topaz.example.org\r\n": false,
	} {
		hits, err := compiled.ScanMem([]byte(buf))
		if err != nil || (len(hits) > 0) != want {
			t.Errorf("YARA on %q: %v (%v), want a hit: %v", buf, hits, err, want)
		}
	}
	ev := sigma.NewEvaluator(rules)
	for _, c := range []struct {
		event map[string]any
		want  bool
	}{
		{map[string]any{"query": "strepsils.top"}, true},
		{map[string]any{"query": "strepsils.top.example.org"}, false},
		{map[string]any{"cs-host": "94.103.85.47", "c-uri": "http://94.103.85.47/dashboard/usa.bin"}, true},
		{map[string]any{"cs-host": "94.103.85.47", "c-uri": "http://94.103.85.47/dashboard/other.bin"}, false},
		{map[string]any{"dst_ip": "5.252.176.55"}, true},
		{map[string]any{"dst_ip": "5.252.176.56"}, false},
	} {
		fired, err := ev.Matches(context.Background(), c.event)
		if err != nil || (len(fired) > 0) != c.want {
			t.Errorf("Sigma on %v: %v (%v), want a match: %v", c.event, fired, err, c.want)
		}
	}
}
