//go:build cgo

package compat_test

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/yarax"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/synthfeed"
	"github.com/rulegen/rulegen/generate/yara"
	"golang.org/x/sys/unix"
)

// The scan-cost benchmarks measure what generated YARA costs a scanner, in libyara and in
// YARA-X, each as a ratio against a baseline ruleset of one rare string on the same corpus held
// in memory. (YARA-X scans nothing for a ruleset without strings, so an empty ruleset is no
// baseline there; the rare string makes both engines search the data.) In libyara every file
// is scanned by the rules and by the baseline back to back, in alternating order, on one locked
// OS thread, and timed by that thread's CPU clock; the ratio is of the sums of each file's
// fastest scan over the iterations. Interference from a shared machine only ever adds time, so
// the minimum is what it disturbs least: repeated runs agree to ±0.002, where the yara CLI's
// wall times over a disk swing by up to 2x here (testdata/bench/scan.sh measures those).
// YARA-X is measured the same way by testdata/yarax/yarax.py (wall time per scan, in the
// official Python package), on the same files.
//
// RULEGEN_SCAN_CORPUS names the corpus directory (default: GOROOT); RULEGEN_SCAN_MB caps how
// much of it is read into memory (default 64); RULEGEN_SCAN_RULES adds YARA files to measure,
// comma-separated, as extra sub-benchmarks.

// A ruleset is the seed report's rules, or those of synthetic events: count indicators of one
// kind spread over events reports (a feed of many small reports when events > 1), written with
// options (a layout, --yara-case, --yara-bulk-c2). plain rewrites its domain strings as plain
// literals, YARA-X's floor for that many strings.
var scanRulesets = []struct {
	name, kind    string
	count, events int
	opts          pipeline.Options
	plain         bool
}{
	{"seed", "", 0, 0, pipeline.Options{}, false},
	{"seed-case-listed", "", 0, 0, pipeline.Options{Render: render.Options{Case: render.CaseListed}}, false},
	{"hashes-1k", synthfeed.KindHashes, 1000, 1, pipeline.Options{}, false},
	{"hashes-10k", synthfeed.KindHashes, 10000, 1, pipeline.Options{}, false},
	{"hashes-100k", synthfeed.KindHashes, 100000, 1, pipeline.Options{}, false},
	{"nosize-10k", synthfeed.KindHashesNoSize, 10000, 1, pipeline.Options{}, false},
	{"domains-10k", synthfeed.KindDomains, 10000, 1, pipeline.Options{}, false},
	{"domains-10k-plain", synthfeed.KindDomains, 10000, 1, pipeline.Options{}, true},
	{"feed-domains-1k", synthfeed.KindDomains, 10000, 1000, pipeline.Options{}, false},
	{"feed-domains-1k-bulk", synthfeed.KindDomains, 10000, 1000, bulkEverywhere(), false},
	{"feed-hashes-10k", synthfeed.KindHashes, 10000, 1000, pipeline.Options{}, false},
	{"feed-hashes-100k", synthfeed.KindHashes, 100000, 10000, pipeline.Options{}, false},
	{"feed-hashes-100k-shared", synthfeed.KindHashes, 100000, 10000, pipeline.Options{Render: render.Options{Layout: render.LayoutFeed}}, false},
}

// bulkEverywhere is --yara-bulk-c2 0: every report's C2 matched as a blocklist's.
func bulkEverywhere() pipeline.Options {
	var opts pipeline.Options
	opts.Normalize.MaxFullC2 = normalize.EveryReportBulk
	return opts
}

// baselineRules is both engines' baseline: one string that is in no file.
const baselineRules = `rule baseline_rare_string
{
    strings:
        $rare = "q7Zx!rulegen-baseline!Vw3K"
    condition:
        $rare
}
`

func BenchmarkScanCost(b *testing.B) {
	corpus := loadCorpus(b)
	empty := compileSources(b, yara.Source{Name: "baseline", Text: baselineRules})
	for _, buf := range corpus {
		scanCPU(b, empty, buf) // warm up: the first pass pays for page faults and cold caches
	}
	for _, rs := range scanRulesets {
		b.Run(rs.name, func(b *testing.B) {
			input := "../../testdata/reports/remcos-rat-2020-03-03.md"
			if rs.kind != "" {
				input = b.TempDir()
				if err := synthfeed.WriteEvents(input, rs.kind, rs.count, rs.events, 1); err != nil {
					b.Fatal(err)
				}
			}
			sources := generatedRules(b, input, rs.opts)
			if rs.plain {
				sources = plainDomains(sources)
			}
			measureScanCost(b, corpus, empty, sources)
		})
	}
	for _, path := range strings.Split(os.Getenv("RULEGEN_SCAN_RULES"), ",") {
		if path == "" {
			continue
		}
		b.Run(filepath.Base(path), func(b *testing.B) {
			measureScanCost(b, corpus, empty, readSources(b, path))
		})
	}
}

func measureScanCost(b *testing.B, corpus [][]byte, empty *yara.Rules, sources []yara.Source) {
	start := time.Now()
	rules := compileSources(b, sources...)
	b.ReportMetric(time.Since(start).Seconds(), "compile-s")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// No collection while measuring: GC assists would be charged to this thread.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// Per buffer, the fastest of its scans: interference only ever adds time, so the minimum
	// over iterations is the estimate a noisy neighbour disturbs least.
	withRules := make([]time.Duration, len(corpus))
	withoutRules := make([]time.Duration, len(corpus))
	iteration := 0
	for b.Loop() {
		iteration++
		for i, buf := range corpus {
			// Both rulesets scan each buffer back to back, in alternating order, so that neither
			// always finds the buffer in cache.
			if (i+iteration)%2 == 0 {
				keepFastest(&withoutRules[i], scanCPU(b, empty, buf))
				keepFastest(&withRules[i], scanCPU(b, rules, buf))
			} else {
				keepFastest(&withRules[i], scanCPU(b, rules, buf))
				keepFastest(&withoutRules[i], scanCPU(b, empty, buf))
			}
		}
	}
	b.ReportMetric(float64(sum(withRules))/float64(sum(withoutRules)), "libyara-x")
	measureYARAX(b, sources, iteration)
}

// measureYARAX reports the sources' scan cost in YARA-X against the same baseline, over the
// same corpus, and YARA-X's compile time.
func measureYARAX(b *testing.B, sources []yara.Source, passes int) {
	dir := b.TempDir()
	baseline := filepath.Join(dir, "baseline.yar")
	if err := os.WriteFile(baseline, []byte(baselineRules), 0o644); err != nil {
		b.Fatal(err)
	}
	rules := filepath.Join(dir, "rules")
	for i, s := range sources {
		path := filepath.Join(rules, fmt.Sprintf("%05d.yar", i))
		if err := os.MkdirAll(rules, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s.Text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	res, err := yarax.Bench(golden.RepoRoot(b), corpusRoot(), corpusMB(b), max(passes, 2), baseline, rules)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.Ratio, "yarax-x")
	b.ReportMetric(res.CompileSeconds, "yarax-compile-s")
}

func keepFastest(fastest *time.Duration, d time.Duration) {
	if *fastest == 0 || d < *fastest {
		*fastest = d
	}
}

func sum(ds []time.Duration) (total time.Duration) {
	for _, d := range ds {
		total += d
	}
	return total
}

// scanCPU scans buf and returns the CPU time the calling thread spent on it.
func scanCPU(b *testing.B, rules *yara.Rules, buf []byte) time.Duration {
	before := threadCPU(b)
	if _, err := rules.ScanMem(buf); err != nil {
		b.Fatal(err)
	}
	return threadCPU(b) - before
}

func threadCPU(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// maxCorpusFile leaves out files too big to hold in memory comfortably. /usr/lib's largest
// must be in: libicudata.a (31 MB of text in many scripts, where UTF-16 atoms hit often) and
// the LLVM libraries (110-117 MB, a third of the corpus, full of ".com" and other text that a
// poorly chosen atom hits); leaving them out once hid a family regex's cost.
const maxCorpusFile = 128 << 20

// loadCorpus reads the corpus's regular files into memory, smallest paths first, up to the cap.
func loadCorpus(b *testing.B) [][]byte {
	root := corpusRoot()
	limit := int64(corpusMB(b)) << 20
	var corpus [][]byte
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || total >= limit {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > maxCorpusFile {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil // unreadable files are not part of the corpus
		}
		corpus = append(corpus, data)
		total += int64(len(data))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return corpus
}

func corpusRoot() string { return cmp.Or(os.Getenv("RULEGEN_SCAN_CORPUS"), runtime.GOROOT()) }

func corpusMB(b *testing.B) int {
	mb := cmp.Or(os.Getenv("RULEGEN_SCAN_MB"), "64")
	n, err := strconv.Atoi(mb)
	if err != nil {
		b.Fatalf("RULEGEN_SCAN_MB=%q: %v", mb, err)
	}
	return n
}

func compileSources(b *testing.B, sources ...yara.Source) *yara.Rules {
	rules, err := yara.Compile(sources...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rules.Destroy)
	return rules
}

func readSources(b *testing.B, paths ...string) []yara.Source {
	sources, err := yara.ReadSources(paths...)
	if err != nil {
		b.Fatal(err)
	}
	return sources
}

// generatedRules generates the YARA rules of input.
func generatedRules(b *testing.B, input string, opts pipeline.Options) []yara.Source {
	inputs, err := pipeline.Inputs([]string{input})
	if err != nil {
		b.Fatal(err)
	}
	opts.Render.Author = "bench"
	_, files, err := pipeline.Collect(context.Background(), inputs, opts)
	if err != nil {
		b.Fatal(err)
	}
	var sources []yara.Source
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") {
			sources = append(sources, yara.Source{Name: f.Path, Text: string(f.Body)})
		}
	}
	return sources
}

// plainDomains is the sources' domain strings as plain literals without modifiers, in rules
// of render.YaraMaxStrings.
func plainDomains(sources []yara.Source) []yara.Source {
	domain := regexp.MustCompile(`(?m)^\s*\$domain\d+ = ("[^"]*")`)
	var rules strings.Builder
	n := 0
	for _, s := range sources {
		for _, m := range domain.FindAllStringSubmatch(s.Text, -1) {
			if n%render.YaraMaxStrings == 0 {
				if n > 0 {
					rules.WriteString("    condition:\n        any of them\n}\n")
				}
				fmt.Fprintf(&rules, "rule plain_%d\n{\n    strings:\n", n)
			}
			fmt.Fprintf(&rules, "        $d%d = %s\n", n, m[1])
			n++
		}
	}
	rules.WriteString("    condition:\n        any of them\n}\n")
	return []yara.Source{{Name: "plain.yar", Text: rules.String()}}
}
