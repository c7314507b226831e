package pipeline_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
)

func TestFeedDirectoryIsReadThroughItsManifest(t *testing.T) {
	feed := filepath.Join(golden.RepoRoot(t), "testdata", "feeds", "chrome-mal-ids")
	inputs, err := pipeline.Inputs([]string{filepath.Dir(feed)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range inputs {
		names = append(names, filepath.Base(in))
	}
	want := "049f01a5-7e01-559b-83e8-3a67738bbbe1.json 14d81e68-c68b-5dd2-a7b3-6af53e7bdf58.json 225c906e-8896-52e9-9592-4285af976341.json"
	if strings.Join(names, " ") != want {
		t.Fatalf("inputs %v", names)
	}
	outcomes, files, err := pipeline.Collect(context.Background(), inputs, pipeline.Options{Render: render.Options{Author: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 3 {
		t.Fatalf("%d outcomes", len(outcomes))
	}
	// The feed names Chrome extensions and Web Store pages: nothing a rule can detect, and all
	// of it listed with a reason.
	for _, o := range outcomes {
		if o.Rules != 0 || len(o.Report.Skipped) == 0 || !strings.HasPrefix(o.Report.Slug, "chrome_mal_ids_") {
			t.Errorf("%s: %d rules, %d skipped, slug %s", o.Report.Source, o.Rules, len(o.Report.Skipped), o.Report.Slug)
		}
	}
	for _, f := range files {
		if !strings.HasPrefix(f.Path, "skipped/") {
			t.Errorf("unexpected output %s", f.Path)
		}
	}
}

func TestBrokenFeeds(t *testing.T) {
	dir := t.TempDir()
	missing := golden.WriteFile(t, filepath.Join(dir, "a", "manifest.json"), `{"5aa2e21b-79d8-4fd7-b15d-34670a016219": {"info": "x"}}`)
	_, err := pipeline.Inputs([]string{filepath.Dir(missing)})
	if err == nil || !strings.Contains(err.Error(), "lists event 5aa2e21b-79d8-4fd7-b15d-34670a016219") {
		t.Errorf("missing event: %v", err)
	}
	list := golden.WriteFile(t, filepath.Join(dir, "b", "manifest.json"), `["5aa2e21b-79d8-4fd7-b15d-34670a016219"]`)
	_, err = pipeline.Inputs([]string{filepath.Dir(list)})
	if err == nil || !strings.Contains(err.Error(), "not a MISP feed manifest") {
		t.Errorf("list manifest: %v", err)
	}
	escape := golden.WriteFile(t, filepath.Join(dir, "c", "manifest.json"), `{"../../etc/passwd": {}}`)
	_, err = pipeline.Inputs([]string{filepath.Dir(escape)})
	if err == nil || !strings.HasSuffix(err.Error(), escape+`: not a MISP feed manifest: its keys ("../../etc/passwd") are not event uuids`) {
		t.Errorf("path in manifest: %v", err)
	}
	// A vendor's own index, seen in the wild: named as what it is, the same way every run.
	index := golden.WriteFile(t, filepath.Join(dir, "d", "manifest.json"), `{"version": 2, "description": "our feeds", "feeds": [{"url": "x"}]}`)
	for range 5 {
		_, err = pipeline.Inputs([]string{filepath.Dir(index)})
		if err == nil || !strings.HasSuffix(err.Error(), index+`: not a MISP feed manifest: its keys ("description", "feeds", "version") are not event uuids`) {
			t.Fatalf("vendor index: %v", err)
		}
	}
	// Beside real events, a key that is not a uuid is skipped with the reason, never a path.
	mixed := golden.WriteFile(t, filepath.Join(dir, "e", "manifest.json"), `{"../../etc/passwd": {}, "5aa2e21b-79d8-4fd7-b15d-34670a016219": {}}`)
	golden.WriteFile(t, filepath.Join(dir, "e", "5aa2e21b-79d8-4fd7-b15d-34670a016219.json"), `{"Event": {}}`)
	found, err := pipeline.FindInputs([]string{filepath.Dir(mixed)})
	if err != nil || len(found.Files) != 1 || len(found.Skipped) != 1 || found.Skipped[0].Value != "../../etc/passwd" || found.Skipped[0].Reason != "not an event uuid" {
		t.Errorf("mixed manifest: %+v %v", found, err)
	}
}

const redEvent = `{"Event": {"uuid": "9d5f3b2a-1c4e-4b8a-9f6d-2e7c1a0b3d4f", "info": "Red", "date": "2024-01-01",
	"Tag": [{"name": "tlp:red"}],
	"Attribute": [{"type": "domain", "value": "c2-red.net", "to_ids": true}]}}`

func TestTLPRedIsWithheldByDefault(t *testing.T) {
	in := golden.WriteFile(t, filepath.Join(t.TempDir(), "red.json"), redEvent)
	outcomes, files, err := pipeline.Collect(context.Background(), []string{in}, pipeline.Options{Render: render.Options{Author: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 || len(outcomes) != 1 || !strings.Contains(outcomes[0].Withheld, "TLP:RED is above --max-tlp AMBER+STRICT") {
		t.Fatalf("files %v outcome %+v", paths(files), outcomes)
	}
	_, files, err = pipeline.Collect(context.Background(), []string{in}, pipeline.Options{Render: render.Options{Author: "t"}, MaxTLP: "red"})
	if err != nil {
		t.Fatal(err)
	}
	var red []string
	for _, f := range files {
		if strings.Contains(string(f.Body), "TLP:RED") || strings.Contains(string(f.Body), "tlp.red") {
			red = append(red, f.Path)
		}
	}
	if len(red) != len(files) || len(red) != 5 { // the YARA file and the four network Sigma rules
		t.Errorf("files carrying TLP:RED: %v of %v", red, paths(files))
	}
}

func TestSameEventTwiceFails(t *testing.T) {
	dir := t.TempDir()
	a := golden.WriteFile(t, filepath.Join(dir, "a.json"), strings.Replace(redEvent, "tlp:red", "tlp:green", 1))
	b := golden.WriteFile(t, filepath.Join(dir, "b.json"), strings.Replace(redEvent, "tlp:red", "tlp:green", 1))
	_, _, err := pipeline.Collect(context.Background(), []string{a, b}, pipeline.Options{Render: render.Options{Author: "t"}})
	if err == nil || !strings.Contains(err.Error(), "is the same event in two inputs?") {
		t.Errorf("got %v", err)
	}
}

func TestCancelledRunStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	inputs, err := pipeline.Inputs([]string{filepath.Join(golden.RepoRoot(t), "testdata", "reports")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pipeline.Collect(ctx, inputs, pipeline.Options{Render: render.Options{Author: "t"}}); err == nil {
		t.Error("a cancelled run succeeded")
	}
}
