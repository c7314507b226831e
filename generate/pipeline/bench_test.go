package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/synthfeed"
	"github.com/rulegen/rulegen/generate/yara"
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
		decodeAll(b, inputs)
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
		generateInto(b, filepath.Join(tmp, fmt.Sprint("rules", n)), inputs)
	}
	b.ReportMetric(float64(len(inputs)*b.N)/b.Elapsed().Seconds(), "events/s")
}

// generateInto runs generate on inputs into a new output directory.
func generateInto(b *testing.B, out string, inputs []string) {
	dir, err := atomicdir.Open(out)
	if err != nil {
		b.Fatal(err)
	}
	defer dir.Close()
	_, err = pipeline.Run(context.Background(), inputs, pipeline.Options{Render: render.Options{Author: "bench"}}, func(o *pipeline.Outcome) error {
		for _, f := range o.Files {
			if err := dir.Put(atomicdir.File(f)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err = dir.Commit(); err != nil {
		b.Fatal(err)
	}
}

// benchPublications are 500 vendors' publications (a folder each: README.adoc with tables,
// iocs.csv, samples.sha256) and the same values as 500 MISP events.
var benchPublications = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "rulegen-bench-publications-")
	if err != nil {
		return "", err
	}
	benchPublicationsDir = dir
	return dir, synthfeed.WritePublications(dir, 500, 1)
})

// benchPublicationsDir is removed when the test binary ends (TestMain).
var benchPublicationsDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchPublicationsDir != "" {
		os.RemoveAll(benchPublicationsDir)
	}
	os.Exit(code)
}

// BenchmarkPublications runs generate on a repository of 500 publications and on the same
// values as MISP JSON, alternately, and reports the publications' time as a multiple of the
// MISP events' (x_misp): what reading vendors' formats costs over reading an export.
func BenchmarkPublications(b *testing.B) {
	dir, err := benchPublications()
	if err != nil {
		b.Fatal(err)
	}
	var inputs [2][]string
	for i, sub := range []string{"publications", "misp"} {
		if inputs[i], err = pipeline.Inputs([]string{filepath.Join(dir, sub)}); err != nil {
			b.Fatal(err)
		}
	}
	if len(inputs[0]) != 500 || len(inputs[1]) != 500 {
		b.Fatalf("%d publications and %d events, want 500 each", len(inputs[0]), len(inputs[1]))
	}
	tmp := b.TempDir()
	var spent [2]time.Duration
	n := 0
	for b.Loop() {
		for i := range inputs {
			n++
			start := time.Now()
			generateInto(b, filepath.Join(tmp, fmt.Sprint("rules", n)), inputs[i])
			spent[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(spent[0])/float64(spent[1]), "x_misp")
	b.ReportMetric(float64(500*b.N)/spent[0].Seconds(), "publications/s")
}

// BenchmarkChecksFeed times the checks alone — every Sigma rule of the feed's output validated
// and parsed, every report's YARA compiled, on one worker per CPU as generate runs them — and
// reports them as a multiple of the plain decode (x_decode). It is the floor under
// BenchmarkGenerateFeed's ratio: no speed-up of parsing, rendering or writing goes below it
// while every rule is proved.
func BenchmarkChecksFeed(b *testing.B) {
	if !yara.Available {
		b.Skip("built without cgo: no libyara")
	}
	inputs := feedInputs(b)
	var mu sync.Mutex
	var reports [][]render.File
	_, err := pipeline.Run(context.Background(), inputs, pipeline.Options{Render: render.Options{Author: "bench"}}, func(o *pipeline.Outcome) error {
		mu.Lock()
		reports = append(reports, o.Files)
		mu.Unlock()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	decode := time.Duration(math.MaxInt64)
	for range 3 {
		start := time.Now()
		decodeAll(b, inputs)
		decode = min(decode, time.Since(start))
	}
	for b.Loop() {
		checkAll(b, reports)
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(decode), "x_decode")
}

// decodeAll is the baseline every ratio is stated in: each event file read and decoded into
// generic values, on one goroutine.
func decodeAll(b *testing.B, inputs []string) {
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

// checkAll runs the pipeline's checks on each report's files, a report at a time per worker.
func checkAll(b *testing.B, reports [][]render.File) {
	jobs := make(chan []render.File)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for files := range jobs {
				if err := pipeline.CheckFiles(files); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, files := range reports {
		jobs <- files
	}
	close(jobs)
	wg.Wait()
}
