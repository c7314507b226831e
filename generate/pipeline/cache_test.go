package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/synthfeed"
)

// runFiles runs the pipeline and returns its files by path, and the cache hits.
func runFiles(t *testing.T, inputs []string, opts pipeline.Options) (map[string]string, int) {
	t.Helper()
	var mu sync.Mutex
	files := map[string]string{}
	res, err := pipeline.Run(context.Background(), inputs, opts, func(o *pipeline.Outcome) error {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range o.Files {
			files[f.Path] = string(f.Body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, res.CacheHits
}

// A rerun takes unchanged inputs from the cache and writes the same bytes as a run without
// it; a changed input, a changed setting, a corrupt entry and another input's entry are all
// processed anew.
func TestCache(t *testing.T) {
	feed := t.TempDir()
	if _, err := synthfeed.Write(feed, synthfeed.Size{Events: 40, Attributes: 2000, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	inputs, err := pipeline.Inputs([]string{feed})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := runFiles(t, inputs, pipeline.Options{Render: render.Options{Author: "t"}})
	opts := pipeline.Options{Render: render.Options{Author: "t"}, CacheDir: t.TempDir()}
	same := func(label string, got map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d files, want %d", label, len(got), len(want))
		}
		for p, body := range want {
			if got[p] != body {
				t.Fatalf("%s: %s differs from a run without the cache", label, p)
			}
		}
	}
	got, hits := runFiles(t, inputs, opts)
	same("first run", got)
	if hits != 0 {
		t.Errorf("first run: %d hits", hits)
	}
	got, hits = runFiles(t, inputs, opts)
	same("rerun", got)
	if hits != len(inputs) {
		t.Errorf("rerun: %d hits of %d inputs", hits, len(inputs))
	}

	// One input changes: it alone is processed again.
	changed := inputs[3]
	data, _ := os.ReadFile(changed)
	os.WriteFile(changed, []byte(strings.Replace(string(data), `"info": "`, `"info": "Edited `, 1)), 0o644)
	got, hits = runFiles(t, inputs, opts)
	if hits != len(inputs)-1 {
		t.Errorf("one input changed: %d hits", hits)
	}
	want, _ = runFiles(t, inputs, pipeline.Options{Render: render.Options{Author: "t"}})
	same("one input changed", got)

	// Another setting is another key.
	if _, hits = runFiles(t, inputs, pipeline.Options{Render: render.Options{Author: "someone else"}, CacheDir: opts.CacheDir}); hits != 0 {
		t.Errorf("another author: %d hits", hits)
	}

	// Corrupt entries and entries moved to another input's key are not trusted.
	entries, _ := filepath.Glob(filepath.Join(opts.CacheDir, "*", "*.gob"))
	slices.Sort(entries)
	for i, e := range entries {
		b, _ := os.ReadFile(e)
		switch i % 3 {
		case 0: // a flipped byte in the payload
			b[len(b)-5] ^= 0xff
			os.WriteFile(e, b, 0o644)
		case 1: // truncated
			os.WriteFile(e, b[:len(b)/2], 0o644)
		case 2: // another entry's content under this name
			other, _ := os.ReadFile(entries[(i+1)%len(entries)])
			os.WriteFile(e, other, 0o644)
		}
	}
	got, hits = runFiles(t, inputs, pipeline.Options{Render: render.Options{Author: "someone else"}, CacheDir: opts.CacheDir})
	if hits != 0 {
		t.Errorf("corrupt cache: %d hits", hits)
	}
	want, _ = runFiles(t, inputs, pipeline.Options{Render: render.Options{Author: "someone else"}})
	same("corrupt cache", got)

	// The feed layout keeps no cache: its shared rules need every report's samples.
	if _, hits = runFiles(t, inputs, pipeline.Options{Render: render.Options{Author: "t", Layout: render.LayoutFeed}, CacheDir: opts.CacheDir}); hits != 0 {
		t.Errorf("feed layout: %d hits", hits)
	}
}
