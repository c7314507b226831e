package synthfeed_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/synthfeed"
)

// A synthetic feed is the same bytes for the same seed, holds the attributes asked for, and is
// a MISP feed rulegen reads.
func TestFeedIsDeterministicAndReadable(t *testing.T) {
	size := synthfeed.Size{Events: 7, Attributes: 500, Seed: 3}
	a, b := t.TempDir(), t.TempDir()
	n, err := synthfeed.Write(a, size)
	if err != nil || n != 500 {
		t.Fatalf("wrote %d attributes, %v", n, err)
	}
	if _, err := synthfeed.Write(b, size); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(a, "*.json"))
	if len(files) != 8 { // 7 events and the manifest
		t.Fatalf("%d files", len(files))
	}
	attributes := 0
	for _, f := range files {
		one, _ := os.ReadFile(f)
		two, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if err != nil || !bytes.Equal(one, two) {
			t.Errorf("%s differs between two runs with one seed", filepath.Base(f))
		}
		if filepath.Base(f) == "manifest.json" {
			continue
		}
		err = parse.ReadFile(f, parse.Options{}, func(r *report.Report) error {
			attributes += len(r.Attributes)
			for _, o := range r.Objects {
				attributes += len(o.Attributes)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
	if attributes != 500 {
		t.Errorf("parsed %d attributes", attributes)
	}
}

// A synthetic publication and its MISP event hold the same values: read and normalised, they
// detect the same things, so that timing one against the other compares the readers alone.
func TestPublicationsMatchTheirEvents(t *testing.T) {
	dir := t.TempDir()
	if err := synthfeed.WritePublications(dir, 3, 5); err != nil {
		t.Fatal(err)
	}
	folders, _ := filepath.Glob(filepath.Join(dir, "publications", "*"))
	if len(folders) != 3 {
		t.Fatalf("%d publications", len(folders))
	}
	for i, folder := range folders {
		var pub, event *report.Normalized
		read := func(path string, into **report.Normalized) {
			t.Helper()
			err := parse.ReadFile(path, parse.Options{}, func(r *report.Report) error {
				n, err := normalize.Report(r, normalize.Options{})
				*into = n
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		read(folder, &pub)
		read(filepath.Join(dir, "misp", filepath.Base(folder)[len("2026-01-01-campaign-"):]+".json"), &event)
		got, want := pub.Values(), event.Values()
		if !slices.Equal(got, want) || len(want) < 40 || pub.Title != event.Title || pub.Date != event.Date {
			t.Errorf("publication %d: %d values %q %s, its event %d values %q %s", i, len(got), pub.Title, pub.Date, len(want), event.Title, event.Date)
		}
	}
}
