package pipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/sigma"
)

// An analyst's Sigma rule in a report becomes a rule file of the report: it keeps its
// detection and tags, gets a stable id and the report's TLP, validates, and fires on the
// event it describes in sigma-go; one that does not validate is skipped with the validator's
// message, and the report keeps its other rules.
func TestPassedThroughSigma(t *testing.T) {
	good := `title: Analyst rule for a tool's command line
status: experimental
description: The tool's beacon started with its config switch.
author: Analyst
date: 2024-01-02
tags:
    - attack.execution
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: '--beacon-config=alpha7'
    condition: selection
falsepositives:
    - Unlikely
level: high
`
	bad := "title: No detection\nlogsource:\n    category: process_creation\n"
	event := map[string]any{"Event": map[string]any{"uuid": "7a0c4a3e-0000-4000-8000-000000000002", "info": "Passed Sigma", "date": "2024-01-01",
		"Tag": []map[string]any{{"name": "tlp:green"}},
		"Attribute": []map[string]any{
			{"type": "domain", "value": "passed-sigma.evil-example.net", "to_ids": true},
			{"type": "sigma", "value": good, "to_ids": true},
			{"type": "sigma", "value": bad, "to_ids": true},
		}}}
	outcome, files := collectEvent(t, event)
	skipped := outcome.Tally.Skipped
	if len(skipped) != 1 || skipped[0].Kind != "sigma" || !strings.Contains(skipped[0].Reason, "Sigma rule does not validate") {
		t.Fatalf("skipped %+v", skipped)
	}
	var passed *sigma.Rule
	for _, f := range files {
		if path.Base(f.Path) != "passed_1_passed_sigma_7a0c4a3e.yml" {
			continue
		}
		body := string(f.Body)
		for _, want := range []string{"id: " + report.StableID("7a0c4a3e-0000-4000-8000-000000000002", "sigma-passed", "0"), "- attack.execution", "- tlp.green", "author: Analyst", "CommandLine|contains: '--beacon-config=alpha7'"} {
			if !strings.Contains(body, want) {
				t.Errorf("no %q in\n%s", want, body)
			}
		}
		r, err := sigma.Load(f.Path, f.Body)
		if err != nil {
			t.Fatal(err)
		}
		passed = &r
	}
	if passed == nil {
		t.Fatalf("no passed rule among %v", paths(files))
	}
	ev := sigma.NewEvaluator([]sigma.Rule{*passed})
	for event, want := range map[string]int{`C:\t\tool.exe --beacon-config=alpha7 -q`: 1, `C:\t\tool.exe --beacon-config=alpha8`: 0} {
		fired, err := ev.Matches(context.Background(), map[string]any{"EventID": 1, "CommandLine": event})
		if err != nil || len(fired) != want {
			t.Errorf("%q fired %v (%v), want %d", event, fired, err, want)
		}
	}
}

// A report about macOS gets product macos rules named _macos_ and no Windows-only rule, and
// they fire on Sysmon-for-macOS-shaped events of its values, not on a near miss.
func TestMacOSReport(t *testing.T) {
	event := map[string]any{"Event": map[string]any{"uuid": "7a0c4a3e-0000-4000-8000-000000000003", "info": "Mac stealer", "date": "2024-01-01",
		"Attribute": []map[string]any{
			{"type": "text", "value": "OSX/Keydnap.A", "to_ids": false},
			{"type": "domain", "value": "mac-c2.evil-example.net", "to_ids": true},
			{"type": "sha256", "value": "2df5d01e5bd1358e168f4e347196787fc429a1d273c9ee9d1a8d7b2610e5e0bf", "to_ids": true},
		}}}
	_, files := collectEvent(t, event)
	var rules []sigma.Rule
	var names []string
	for _, f := range files {
		if !strings.HasPrefix(f.Path, "sigma/") {
			continue
		}
		names = append(names, f.Path)
		// named by kind: the file name's slug is the report's, mac_stealer_7a0c4a3e
		r, err := sigma.Load(strings.TrimSuffix(filepath.Base(f.Path), "_mac_stealer_7a0c4a3e.yml"), f.Body)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f.Path, "_macos_") != strings.Contains(string(f.Body), "product: macos") {
			t.Errorf("%s:\n%s", f.Path, f.Body)
		}
		rules = append(rules, r)
	}
	if got := strings.Join(names, " "); strings.Contains(got, "_win_") || !strings.Contains(got, "net_connection_macos_malware_c2_mac_stealer_7a0c4a3e.yml") || !strings.Contains(got, "proc_creation_macos_malware_dropped_mac_stealer_7a0c4a3e.yml") {
		t.Fatalf("rules %v", names)
	}
	ev := sigma.NewEvaluator(rules)
	for _, tc := range []struct {
		event map[string]any
		fires string
	}{
		{map[string]any{"EventID": 3, "Image": "/Applications/Tool.app/Contents/MacOS/tool", "DestinationHostname": "mac-c2.evil-example.net", "DestinationPort": 443}, "net_connection_macos_malware_c2"},
		{map[string]any{"EventID": 1, "Image": "/private/tmp/x", "Hashes": "SHA256=2DF5D01E5BD1358E168F4E347196787FC429A1D273C9EE9D1A8D7B2610E5E0BF"}, "proc_creation_macos_malware_dropped"},
		{map[string]any{"EventID": 3, "Image": "/usr/bin/curl", "DestinationHostname": "mac-c2.evil-example.network"}, ""},
	} {
		fired, err := ev.Matches(context.Background(), tc.event)
		if err != nil || strings.Join(fired, " ") != tc.fires {
			t.Errorf("%v fired %v (%v), want %q", tc.event, fired, err, tc.fires)
		}
	}
}

// collectEvent writes a MISP event (as JSON) to a file and generates its rules.
func collectEvent(t *testing.T, event map[string]any) (*pipeline.Outcome, []render.File) {
	t.Helper()
	data, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	in := golden.WriteFile(t, filepath.Join(t.TempDir(), "event.json"), string(data))
	outcomes, files, err := pipeline.Collect(context.Background(), []string{in}, pipeline.Options{Render: render.Options{Author: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	return outcomes[0], files
}

// A directory contributes its reports, IOC lists (*.txt) included, and passes over the
// documentation kept beside them.
func TestDirectoryInputs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.md", "b.json", "2024-05-01-list.txt", "README.md", "SOURCES.md", "README.txt", "LICENSE.txt", "notes.pdf", ".hidden.txt"} {
		golden.WriteFile(t, filepath.Join(dir, name), "x")
	}
	inputs, err := pipeline.Inputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range inputs {
		names = append(names, filepath.Base(in))
	}
	if got := strings.Join(names, " "); got != "2024-05-01-list.txt a.md b.json" {
		t.Errorf("inputs %s", got)
	}
}

// Files are opened by content, not by name: a text file without an extension (a vendor's list)
// is read, and the hash list among them is read as one; a binary one is skipped, named; a
// repository's LICENSE is not read; a folder holding only its README reads the README.
func TestDirectoryInputsByContent(t *testing.T) {
	dir := t.TempDir()
	golden.WriteFile(t, filepath.Join(dir, "pub", "hashes_2024-05-01"), "d41d8cd98f00b204e9800998ecf8427e\n0cc175b9c0f1b6a831c399e269772661  a.exe\n")
	golden.WriteFile(t, filepath.Join(dir, "pub", "network"), "C2:\nevil-x[.]com\n")
	golden.WriteFile(t, filepath.Join(dir, "pub", "sample"), "MZ\x00\x00\x90binary")
	golden.WriteFile(t, filepath.Join(dir, "LICENSE"), "MIT")
	list := golden.WriteFile(t, filepath.Join(dir, "pub2", "list.sha"), "0cc175b9c0f1b6a831c399e269772661\n")
	// Files that may hold indicators rulegen does not read are listed as what they are, in a
	// publication folder or not; an OpenIOC document is read whatever its name.
	golden.WriteFile(t, filepath.Join(dir, "pub2", "network.rules"), "alert dns any any -> any any (msg:\"x\"; sid:1;)\n")
	golden.WriteFile(t, filepath.Join(dir, "report.pdf"), "%PDF-1.7\n")
	golden.WriteFile(t, filepath.Join(dir, "pom.xml"), "<project/>\n")
	golden.WriteFile(t, filepath.Join(dir, "kestrel.xml"), `<?xml version="1.0"?><ioc xmlns="http://schemas.mandiant.com/2010/ioc"><short_description>K</short_description></ioc>`)
	// Saved blog posts are a report each; a page beside its CSV is one publication.
	golden.WriteFile(t, filepath.Join(dir, "posts", "2024-01-02-one.html"), "<h1>One</h1><p>one-c2[.]com</p>")
	golden.WriteFile(t, filepath.Join(dir, "posts", "2024-01-03-two.HTM"), "<h1>Two</h1><p>two-c2[.]com</p>")
	golden.WriteFile(t, filepath.Join(dir, "post3", "index.html"), "<h1>Three</h1><p>three-c2[.]com</p>")
	golden.WriteFile(t, filepath.Join(dir, "post3", "iocs.csv"), "type,value\ndomain,three-c2[.]com\n")
	// Lists named as their tools name them, and a spreadsheet without an extension.
	golden.WriteFile(t, filepath.Join(dir, "c2.lst"), "lst-c2[.]com\n")
	golden.WriteFile(t, filepath.Join(dir, "sums", "SAMPLES.sha256sum"), strings.Repeat("ab", 32)+"  a.exe\n")
	golden.WriteFile(t, filepath.Join(dir, "sheet"), "PK\x03\x04\x14\x00\x00\x00xl/workbook.xml")
	// A project's own JSON is no report, though it links to the project's pages.
	golden.WriteFile(t, filepath.Join(dir, "tools", "package.json"), `{"name": "t", "repository": {"url": "git+https://github.com/example/t.git"}}`)
	found, err := pipeline.FindInputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range found.Files {
		names = append(names, filepath.Base(in))
	}
	// A .sha list makes its folder a publication.
	if got := strings.Join(names, " "); got != "c2.lst kestrel.xml post3 2024-01-02-one.html 2024-01-03-two.HTM hashes_2024-05-01 network pub2 sheet sums" {
		t.Errorf("inputs %s", got)
	}
	skipped := map[string]string{}
	for _, s := range found.Skipped {
		skipped[s.Value] = s.Reason
	}
	for name, want := range map[string]string{"sample": "not text", "network.rules": "Snort/Suricata rules: a format rulegen does not read",
		"report.pdf": "a PDF: a format rulegen does not read", "pom.xml": "XML that is neither OpenIOC nor STIX", "package.json": "a project's own file"} {
		if !strings.Contains(skipped[name], want) {
			t.Errorf("%s skipped as %q, want %q", name, skipped[name], want)
		}
	}
	if len(skipped) != 5 {
		t.Errorf("skipped %v", skipped)
	}
	for name, want := range map[string]parse.Format{"hashes_2024-05-01": parse.FormatHashes, "network": parse.FormatIOCs, "list.sha": parse.FormatHashes} {
		for _, in := range append(found.Files, list) {
			if filepath.Base(in) == name {
				data, _ := os.ReadFile(in)
				if got := parse.SniffFile(in, data); got != want {
					t.Errorf("%s sniffed as %s, want %s", name, got, want)
				}
			}
		}
	}
	only := t.TempDir()
	golden.WriteFile(t, filepath.Join(only, "README.md"), "# Only a README\n\n- evil-readme[.]com\n")
	if inputs, err := pipeline.Inputs([]string{only}); err != nil || len(inputs) != 1 || filepath.Base(inputs[0]) != "README.md" {
		t.Errorf("a folder holding only its README: %v, %v", inputs, err)
	}
}

// Analysts' YARA rules in a MISP event are untrusted like a publication's: a rule that includes
// a file, one libyara warns is slow (a pathological regular expression), a global rule and one
// that matches anything are each skipped with the reason; a rule named like one of rulegen's
// is kept apart from it; the report keeps its other rules.
func TestHostileYARAInMISP(t *testing.T) {
	rules := []struct{ src, skippedAs, reason string }{
		{"include \"/etc/passwd\"\nrule inc { condition: false }", "include \"/etc/passwd\"\nrule inc { condition: false }", "YARA rule does not compile: error: yara:1: includes are disabled"},
		{"rule patho { strings: $a = /(a+)+(b+)+c{1,200}/ condition: $a }", "rule patho", `YARA rule refused: libyara warns of it (a slow string, a deprecated feature): warning: yara:1: rule patho: string "$a" may slow down scanning`},
		{"rule dotstar { strings: $a = /kite.*/ condition: $a }", "rule dotstar", "YARA rule refused: libyara warns of it"},
		{"global rule silence { condition: false }", "rule silence", "YARA rule quarantined: a global rule"},
		{"rule anything { condition: filesize < 100000000 }", "rule anything", "YARA rule quarantined: matches an empty file"},
		{"rule C2 { strings: $a = \"own-c2-marker\" condition: $a }", "", ""},
	}
	attrs := []map[string]any{{"type": "domain", "value": "hostile-misp.evil-example.net", "to_ids": true}}
	for _, r := range rules {
		attrs = append(attrs, map[string]any{"type": "yara", "value": r.src, "to_ids": true})
	}
	outcome, files := collectEvent(t, map[string]any{"Event": map[string]any{"uuid": "7a0c4a3e-0000-4000-8000-00000000aaaa", "info": "Hostile MISP", "date": "2024-01-01", "Attribute": attrs}})
	skipped := map[string]string{}
	for _, s := range outcome.Tally.Skipped {
		skipped[s.Value] = s.Reason
	}
	for _, r := range rules {
		if r.reason == "" {
			continue
		}
		if !strings.HasPrefix(skipped[r.skippedAs], r.reason) {
			t.Errorf("%s: skipped as %q, want %q (all: %v)", r.skippedAs, skipped[r.skippedAs], r.reason, skipped)
		}
	}
	var yar string
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") {
			yar = string(f.Body)
		}
	}
	for _, want := range []string{"rule MAL_Hostile_MISP_7a0c4a3e_C2\n", "rule MAL_Hostile_MISP_7a0c4a3e_C2_own\n", `original_name = "C2"`, "hostile-misp.evil-example.net"} {
		if !strings.Contains(yar, want) {
			t.Errorf("no %q in\n%s", want, yar)
		}
	}
	for _, never := range []string{"global", "silence", "anything", "include"} {
		if strings.Contains(yar, never) {
			t.Errorf("%q in\n%s", never, yar)
		}
	}
}

// Two publications of the same title and date (two vendors' iocs.csv of one campaign) are two
// reports, each with its own id, files and rules; the same MISP event in two files fails the
// later input alone when the run keeps going, and the first keeps its rules.
func TestSameIdentityTwice(t *testing.T) {
	dir := t.TempDir()
	golden.WriteFile(t, filepath.Join(dir, "a", "2024-05-01-campaign.csv"), "value,type\nfirst-c2[.]com,domain\n")
	golden.WriteFile(t, filepath.Join(dir, "b", "2024-05-01-campaign.csv"), "value,type\nsecond-c2[.]com,domain\n")
	inputs, err := pipeline.Inputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	outcomes, files, err := pipeline.Collect(context.Background(), inputs, pipeline.Options{Render: render.Options{Author: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 2 || outcomes[0].Report.ID == outcomes[1].Report.ID || outcomes[0].Report.Slug == outcomes[1].Report.Slug {
		t.Fatalf("two reports with ids and slugs of their own, got %d: %+v", len(outcomes), outcomes)
	}
	ids := map[string]string{}
	for _, f := range files {
		if r, err := sigma.Load(f.Path, f.Body); err == nil {
			if prev, dup := ids[r.Rule.ID]; dup {
				t.Errorf("Sigma id %s in %s and %s", r.Rule.ID, prev, f.Path)
			}
			ids[r.Rule.ID] = f.Path
		}
	}
	event := `{"Event": {"uuid": "7a0c4a3e-0000-4000-8000-00000000bbbb", "info": "Twice", "date": "2024-01-01", "Attribute": [{"type": "domain", "value": "twice-c2.evil-example.net", "to_ids": true}]}}`
	one := golden.WriteFile(t, filepath.Join(t.TempDir(), "one.json"), event)
	two := golden.WriteFile(t, filepath.Join(t.TempDir(), "two.json"), event)
	var delivered []string
	res, err := pipeline.Run(context.Background(), []string{one, two}, pipeline.Options{KeepGoing: true, Workers: 1, Render: render.Options{Author: "t"}}, func(o *pipeline.Outcome) error {
		delivered = append(delivered, o.Tally.Source)
		return nil
	})
	if err != nil || len(delivered) != 1 || len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Err.Error(), "same event in two inputs") {
		t.Fatalf("delivered %v, failed %+v, %v", delivered, res, err)
	}
}
