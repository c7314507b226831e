package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rulegen/rulegen/generate/output"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/synthfeed"
)

// A feed of 500 events and 50,000 attributes: the 10,000-event feed is measured by
// testdata/bench/feed.sh; this keeps `make bench` short and shows the same per-event costs.
const benchEvents, benchAttributes = 500, 50000

var benchFeed = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "rulegen-bench-feed-")
	if err != nil {
		return "", err
	}
	_, err = synthfeed.Write(dir, synthfeed.Size{Events: benchEvents, Attributes: benchAttributes, Seed: 1})
	return dir, err
})

func feedInputs(b *testing.B) []string {
	dir, err := benchFeed()
	if err != nil {
		b.Fatal(err)
	}
	inputs, err := pipeline.Inputs([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	return inputs
}

// BenchmarkDecodeFeed is the baseline: a plain encoding/json decode of every event file into
// generic values, on one core.
func BenchmarkDecodeFeed(b *testing.B) {
	inputs := feedInputs(b)
	for b.Loop() {
		for _, in := range inputs {
			data, err := os.ReadFile(in)
			if err != nil {
				b.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(inputs)*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkGenerateFeed runs what `rulegen generate` runs on the feed: parse, normalise,
// render, verify (Sigma validation, YARA compilation) and stage every file on disk.
func BenchmarkGenerateFeed(b *testing.B) {
	inputs := feedInputs(b)
	tmp := b.TempDir()
	n := 0
	for b.Loop() {
		n++ // a new output directory each time: a first run, not a no-op rerun
		dir, err := output.Open(filepath.Join(tmp, fmt.Sprint("rules", n)))
		if err != nil {
			b.Fatal(err)
		}
		_, err = pipeline.Run(context.Background(), inputs, pipeline.Options{Author: "bench"}, func(o *pipeline.Outcome) error {
			for _, f := range o.Files {
				if err := dir.Put(f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		_, err = dir.Commit()
		dir.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(inputs)*b.N)/b.Elapsed().Seconds(), "events/s")
}
