package output_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/output"
	"github.com/rulegen/rulegen/generate/runreport"
)

// copyEvent writes a bundled real MISP event into dir as <name>, after edit.
func copyEvent(t *testing.T, dir, name, as string, edit func(ev map[string]any)) {
	t.Helper()
	ev := golden.MISPEvent(t, name)
	edit(ev)
	out, _ := json.Marshal(map[string]any{"Event": ev})
	if err := os.WriteFile(filepath.Join(dir, as), out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func attributesOf(ev map[string]any) []any { return ev["Attribute"].([]any) }

// Two days of a reports directory of real events: the change summary says which reports were
// added, changed and removed, which values each gained, lost or saw expire, in Markdown and
// JSON, from the reports and the previous run's state.
func TestChangeSummaryOverTwoDays(t *testing.T) {
	reports := t.TempDir()
	out := filepath.Join(t.TempDir(), "rules")
	ursnif := func(ev map[string]any) { // seen lately, so that its domains and URL are alive
		for _, a := range attributesOf(ev) {
			a.(map[string]any)["last_seen"] = "2024-05-01T00:00:00+00:00"
		}
	}
	copyEvent(t, reports, "pymisp_ursnif_domains_url.json", "ursnif.json", ursnif)
	copyEvent(t, reports, "eset_telebots_misp-telebots.json", "telebots.json", func(ev map[string]any) {
		for _, a := range attributesOf(ev) {
			if am := a.(map[string]any); am["type"] == "ip-dst" {
				am["last_seen"] = "2024-05-20T00:00:00+00:00"
			}
		}
	})
	copyEvent(t, reports, "pymisp_xorist_ransomware_regkeyvalue.json", "xorist.json", func(map[string]any) {})
	run := func(asOf, format string) []byte {
		t.Helper()
		changes := filepath.Join(t.TempDir(), "changes")
		opts := output.Options{Out: out, Prune: true, Changes: changes, ChangesFormat: format}
		opts.Pipeline.Normalize.Expiry.AsOf = asOf
		_, err := output.Generate(context.Background(), []string{reports}, opts)
		if err != nil {
			t.Fatal(err)
		}
		body, err := os.ReadFile(changes)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	day1 := run("2024-06-01", "markdown")
	if !bytes.Contains(day1, []byte("3 reports added, 0 changed, 0 removed")) || !bytes.Contains(day1, []byte("added `domain")) {
		t.Errorf("day 1:\n%s", day1)
	}

	// Day 2: the Ursnif event loses a domain and gains one, TeleBots' addresses expire, the
	// Xorist event is gone.
	var removedDomain string
	copyEvent(t, reports, "pymisp_ursnif_domains_url.json", "ursnif.json", func(ev map[string]any) {
		ursnif(ev)
		for _, a := range attributesOf(ev) {
			if am := a.(map[string]any); am["type"] == "domain" && removedDomain == "" {
				removedDomain = am["value"].(string)
				am["value"] = "c2-added-on-day-two.net"
			}
		}
	})
	os.Remove(filepath.Join(reports, "xorist.json"))
	var c runreport.Changes
	if err := json.Unmarshal(run("2024-07-15", "json"), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Added) != 0 || len(c.Changed) != 2 || len(c.Removed) != 1 || c.AsOf != "2024-07-15" {
		t.Fatalf("day 2: %+v", c)
	}
	changed := map[string]runreport.ReportChange{}
	for _, rc := range c.Changed {
		changed[rc.Source] = rc
	}
	u := changed[filepath.Join(reports, "ursnif.json")]
	if strings.Join(u.Added, ",") != "domain c2-added-on-day-two.net" || strings.Join(u.Removed, ",") != "domain "+removedDomain || len(u.Expired) != 0 {
		t.Errorf("ursnif: %+v", u)
	}
	tb := changed[filepath.Join(reports, "telebots.json")]
	if len(tb.Expired) != 3 || !strings.HasPrefix(tb.Expired[0].Value, "ip ") || !strings.HasPrefix(tb.Expired[0].Reason, "last seen 2024-05-20, addresses expire after 30 days") {
		t.Errorf("telebots: %+v", tb)
	}
	if c.Removed[0].Title == "" || len(c.Removed[0].FilesRemoved) == 0 || c.Totals.ValuesExpired != 3 {
		t.Errorf("removed %+v, totals %+v", c.Removed, c.Totals)
	}
}

// The Markdown summary stays within GitHub's 1 MiB and says where it was cut.
func TestChangeSummaryBounded(t *testing.T) {
	c := &runreport.Changes{Out: "rules"}
	rc := runreport.ReportChange{Title: "Blocklist", Source: "feed/x.json"}
	for i := range 60000 {
		rc.Added = append(rc.Added, "domain c2-"+strings.Repeat("x", 8)+string(rune('a'+i%26))+".example-blocklist.net")
	}
	c.Added = []runreport.ReportChange{rc}
	var b bytes.Buffer
	if err := c.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if b.Len() > runreport.MaxChangesBytes || !strings.Contains(b.String(), "Cut at 1 MiB") {
		t.Errorf("%d bytes; ends %q", b.Len(), b.String()[max(0, b.Len()-200):])
	}
}
