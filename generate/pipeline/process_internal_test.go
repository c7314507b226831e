package pipeline

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"weak"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/yara"
)

// Checking a report's analysts' rules drops those that fail, with the reason, from what is
// rendered, and leaves the normalised report as normalise made it.
func TestProcessLeavesTheNormalisedReportAlone(t *testing.T) {
	parsed := &report.Report{Source: "t.json", Format: report.FormatMISP, ID: "7a0c4a3e-0000-4000-8000-000000000002", Title: "Checked", Date: "2024-01-01",
		Attributes: []report.Attribute{
			{Type: "domain", Value: "c2.evil-example.net", ToIDS: true},
			{Type: "yara", Value: "rule Broken { condition: no_such_identifier }", ToIDS: true},
			{Type: "sigma", Value: "title: not a rule", ToIDS: true},
		}}
	normalised, err := normalize.Report(parsed, normalize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := normalize.Report(parsed, normalize.Options{})
	p, err := newRun(Options{Render: render.Options{Author: "t"}}, func(*Outcome) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	var out *Outcome
	if err := p.process(normalised, func(o *Outcome, _ []string) error { out = o; return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalised, again) {
		t.Error("process changed the normalised report")
	}
	want := 1 // the Sigma rule
	if yara.Available {
		want++ // and the YARA rule libyara refuses
	}
	if skipped := out.Tally.Skipped; len(skipped) != want || !strings.Contains(skipped[len(skipped)-1].Reason, "Sigma rule does not validate") {
		t.Errorf("skipped %+v", skipped)
	}
	for _, f := range out.Files {
		if !strings.HasPrefix(f.Path, "skipped/") && (strings.Contains(string(f.Body), "Broken") || strings.Contains(string(f.Body), "not a rule")) {
			t.Errorf("%s holds a rule that failed its check", f.Path)
		}
	}
}

// A worker lets a report go once it is rendered: what it delivers (after the YARA check) holds
// no reference to the normalised model, which for a bulk list is hundreds of megabytes. A
// worker's frame once kept it alive through the check by testing the job's report after the
// call that processed it.
func TestWorkerLetsTheReportGo(t *testing.T) {
	parsed := &report.Report{Source: "t.txt", Format: report.FormatHashes, ID: "7a0c4a3e-0000-4000-8000-000000000003", Title: "Held", Date: "2024-01-01",
		Objects: []report.Object{{Name: "file", Attributes: []report.Attribute{
			{Type: "sha256", Value: strings.Repeat("ab", 32), ToIDS: true}, {Type: "filename", Value: "a.exe", ToIDS: true}}}}}
	normalised, err := normalize.Report(parsed, normalize.Options{})
	if err != nil || len(normalised.Files) != 1 {
		t.Fatalf("%v, %+v", err, normalised)
	}
	files := weak.Make(&normalised.Files[0])
	delivered, alive := false, false
	p, err := newRun(Options{Render: render.Options{Author: "t"}}, func(*Outcome) error {
		runtime.GC()
		delivered, alive = true, files.Value() != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	early := []*report.Normalized{normalised}
	normalised = nil
	if err := p.parallel(context.Background(), early, nil); err != nil {
		t.Fatal(err)
	}
	if !delivered || alive {
		t.Errorf("delivered %v; the report's files still reachable when delivered: %v", delivered, alive)
	}
}
