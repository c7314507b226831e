package output

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/runreport"
	"github.com/rulegen/rulegen/generate/yara"
)

// Options configure Generate and Check.
type Options struct {
	Pipeline pipeline.Options
	Out      string // the output directory
	Prune    bool   // remove the rule files that no input produces any more
	Compiled string // also compile every YARA file of Out into this file; "" for none
	// AttackLayer, if set, is where an ATT&CK Navigator layer of the Sigma rules' techniques goes.
	AttackLayer string
	// Retention is how many days a retired Sigma rule stays in runreport.DeprecatedDir; 0 means
	// DefaultRetention.
	Retention int
	// Changes, if set, is where the change summary goes, as Markdown or, with ChangesFormat
	// "json", JSON.
	Changes, ChangesFormat string
	// OnInputs, if set, is told how many inputs the run reads before it starts; with
	// Pipeline.InputDone it drives a progress display.
	OnInputs func(total int)
	Log      *slog.Logger // nil: no log
	// Today is the day of the run, for publications that state no date and that no earlier run
	// dated (see parse.Options.Today); "" is the clock's day (UTC). An as-of date wins.
	Today string
}

// Generate reads the inputs (files, or directories of reports and feeds) and writes their
// rules into Out, as a whole or not at all: nothing is written unless every input parses,
// every YARA rule compiles and every Sigma rule validates. With Pipeline.KeepGoing a bad input
// fails alone: its previous rules stay as they were, everything else is written, and the
// error is ErrInputsFailed. It returns what the run did.
func Generate(ctx context.Context, args []string, opts Options) (*runreport.Summary, error) {
	dir, err := openOutput(opts.Out)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	b, err := build(ctx, args, &opts, dir.Resolved(), dir)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted: nothing written, %s left as it was", opts.Out)
		}
		return nil, err
	}
	sum := b.sum
	if opts.Prune { // the orphans are left out of the new tree
		for _, o := range sum.Orphans {
			dir.Remove(o)
		}
	}
	sum.Pruned = opts.Prune
	if sum.Written, err = dir.Commit(); err != nil {
		return nil, err
	}
	if opts.Log != nil {
		opts.Log.Debug("written", "out", opts.Out, "mode", sum.Written.Mode, "files", sum.Written.Files)
	}
	if opts.Compiled != "" {
		if sum.Compiled, err = compileAll(dir.Resolved(), opts.Compiled); err != nil {
			return sum, err
		}
	}
	if opts.AttackLayer != "" {
		sum.AttackLayer = opts.AttackLayer
		if sum.AttackTechniques, err = runreport.WriteAttackLayer(dir.Resolved(), opts.AttackLayer); err != nil {
			return sum, err
		}
	}
	if opts.Changes != "" {
		if err := b.changes.Save(opts.Changes, opts.ChangesFormat); err != nil {
			return sum, err
		}
	}
	if len(sum.Failed) > 0 {
		return sum, ErrInputsFailed
	}
	return sum, nil
}

// ErrInputsFailed says that a run that kept going met bad inputs; the summary names them.
var ErrInputsFailed = errors.New("inputs failed")

// Check regenerates in memory and compares with Out, writing nothing: the CI gate of a rules
// repository.
func Check(ctx context.Context, args []string, opts Options) (*Comparison, error) {
	c := NewChecker(opts.Out)
	opts.Prune = true // the committed tree is what generate --prune writes
	b, err := build(ctx, args, &opts, opts.Out, c)
	if err != nil {
		return nil, err
	}
	return c.Result(b.sum.Orphans)
}

// built is what a run made, before it is committed or compared.
type built struct {
	sum      *runreport.Summary
	produced map[string]bool
	changes  *runreport.Changes
}

// target receives the new tree: Generate's Dir, Check's Checker.
type target interface {
	Put(File) error   // a file that may be as it is in place
	Write(File) error // a file known to be new or changed
	Same(rel string)  // a file known to be as it is in place
}

// place hands f to t, reading the file in place once: to date a rule against its old version,
// and to know whether it changed. A Sigma rule new at its path is dated against the rule of
// its id the report had under another name (file names gained the report's slug).
func place(t target, out string, f File, day string) error {
	old, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Path)))
	before := old
	if err != nil {
		old, before = nil, renamedFrom(out, f)
	}
	f.Body = render.Date(f.Path, before, f.Body, day)
	if old != nil && bytes.Equal(old, f.Body) {
		t.Same(f.Path)
		return nil
	}
	return t.Write(f)
}

// build runs the pipeline on the inputs and hands every file of the new tree to t: each
// report's files and index, the shared ones, the retired rules and the run state. out is the
// output directory as it is.
func build(ctx context.Context, args []string, opts *Options, out string, t target) (*built, error) {
	put := t.Put
	found, err := findInputs(args, *opts)
	if err != nil {
		return nil, err
	}
	prev, err := readRunState(out)
	if err != nil {
		return nil, err
	}
	next, err := expiry(prev, opts)
	if err != nil {
		return nil, err
	}
	datePublications(&opts.Pipeline.Parse, prev, next, found, opts.Today)
	firstMade := map[string]string{}
	sum := runreport.NewSummary(opts.Out, opts.Pipeline.MaxTLP, opts.Pipeline.Normalize.BulkLimit())
	sum.InputSkips, sum.AsOf = found.Skipped, next.AsOf
	produced := newPathSet(opts.Prune)
	log := &runreport.ChangeLog{}
	var mu sync.Mutex
	latest := "" // the newest report date: the run's day when no as-of date is given
	opts.Pipeline.Discovered = found.Discovered
	res, err := pipeline.Run(ctx, found.Files, opts.Pipeline, func(o *pipeline.Outcome) error {
		day := changeDay(next.AsOf, o.Tally)
		for _, f := range o.Files {
			if err := place(t, out, f, day); err != nil {
				return err
			}
			produced.addRule(f)
		}
		sum.Add(o)
		if o.Withheld != "" {
			return nil
		}
		// The files are staged: the index needs their paths only, and a bulk list's bodies are
		// hundreds of megabytes that need not live beside its index.
		staged := make([]render.File, len(o.Files))
		for i, f := range o.Files {
			staged[i] = render.File{Path: f.Path}
		}
		o.Files = staged
		mu.Lock()
		latest = max(latest, o.Tally.Date)
		if o.Tally.DatedByRun {
			firstMade[o.Tally.Source] = o.Tally.Date
		}
		mu.Unlock()
		return indexReport(o, out, t, produced, log)
	})
	if err != nil {
		return nil, err
	}
	if !res.CompileCheck && opts.Log != nil {
		opts.Log.Warn("built without cgo: YARA output was not compile-checked")
	}
	for _, f := range res.Shared {
		if err := put(f); err != nil {
			return nil, err
		}
		produced.add(f.Path)
	}
	sum.AddShared(res.Shared, res.SharedRules)
	sum.CacheHits, sum.Inputs = res.CacheHits, len(found.Files)
	sum.InputSkips = append(sum.InputSkips, res.PassedOver...)
	if sum.Failed, err = goneReports(out, res.Failed, produced, log); err != nil {
		return nil, err
	}
	if opts.Prune {
		runDay := cmp.Or(next.AsOf, latest)
		sum.Retired, sum.Orphans, err = retire(out, produced.paths, produced.sigmaIDs, runDay, cmp.Or(opts.Retention, DefaultRetention), put)
	} else {
		sum.Orphans, err = Orphans(out, produced.paths)
	}
	if err != nil {
		return nil, err
	}
	next.FirstMade = keptFirstMade(prev.FirstMade, firstMade, found.Files)
	if err := put(next.file()); err != nil {
		return nil, err
	}
	return &built{sum: sum, produced: produced.paths, changes: log.Result(next.AsOf, sum.Retired, sum)}, nil
}

// datePublications gives parse what dates publications that state no date: the run's day
// (the as-of date, else today, else the clock's), the days earlier runs first made such
// publications' rules, and when git first saw the inputs' files.
func datePublications(p *parse.Options, prev, next *RunState, found *pipeline.Found, today string) {
	p.Today = cmp.Or(p.Today, next.AsOf, today, time.Now().UTC().Format(time.DateOnly))
	p.FirstMade = prev.FirstMade
	p.Added = found.Added
}

// keptFirstMade is what the run state records of undated publications: the days this run
// dated, and those earlier runs dated of inputs still given (a failed input keeps its own).
func keptFirstMade(prev, now map[string]string, inputs []string) map[string]string {
	out := maps.Clone(now)
	given := map[string]bool{}
	for _, in := range inputs {
		given[in] = true
	}
	for source, day := range prev {
		if (given[source] || given[filepath.Dir(source)]) && out[source] == "" {
			if out == nil {
				out = map[string]string{}
			}
			out[source] = day
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// changeDay dates a change made to a report's rules in this run: the as-of date when there is
// one, else the day the report itself last changed (never before its date).
func changeDay(asOf string, r *pipeline.Tally) string {
	if asOf != "" {
		return asOf
	}
	return max(r.Changed, r.Date)
}

// indexReport writes a report's index and logs how it changed since the last run's.
func indexReport(o *pipeline.Outcome, out string, t target, produced *pathSet, log *runreport.ChangeLog) error {
	now := runreport.NewIndex(o)
	f := now.File(o.Tally.Slug)
	produced.add(f.Path)
	oldBody, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Path)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err == nil && bytes.Equal(oldBody, f.Body) { // the report wrote what it wrote last time
		t.Same(f.Path)
		return nil
	}
	var old *runreport.ReportIndex
	if err == nil {
		if old, err = runreport.DecodeIndex(f.Path, oldBody); err != nil {
			return err
		}
	}
	if err := t.Write(f); err != nil {
		return err
	}
	var expired []report.Skipped
	for _, s := range o.Tally.Skipped {
		if s.Expired() {
			expired = append(expired, s)
		}
	}
	log.Report(old, now, expired)
	return nil
}

// goneReports reads the index of every report the last run wrote and this one did not. A
// report of an input that failed in a run that keeps going stays, with its files (never
// orphans, never pruned); the others are gone, and logged as removed.
func goneReports(out string, failed []pipeline.Failure, produced *pathSet, log *runreport.ChangeLog) ([]runreport.FailedInput, error) {
	indexes, err := listFiles(out, runreport.IndexDir)
	if err != nil {
		return nil, err
	}
	byInput := map[string]*runreport.FailedInput{}
	var result []runreport.FailedInput
	for _, f := range failed {
		result = append(result, runreport.FailedInput{Input: f.Input, Reason: f.Err.Error()})
	}
	for i := range result {
		byInput[result[i].Input] = &result[i]
	}
	for _, rel := range indexes {
		if produced.paths[rel] {
			continue
		}
		body, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		old, err := runreport.DecodeIndex(rel, body)
		if err != nil {
			return nil, err
		}
		if fi := byInput[old.Source]; fi != nil {
			produced.add(rel)
			for _, p := range old.Files {
				produced.add(p)
			}
			fi.Kept = append(fi.Kept, old.Files...)
			continue
		}
		log.Removed(old)
	}
	for i := range result {
		slices.Sort(result[i].Kept)
	}
	return result, nil
}

// findInputs expands the arguments into input files and tells OnInputs how many there are.
func findInputs(args []string, opts Options) (*pipeline.Found, error) {
	own := []string{opts.Out}
	if opts.Pipeline.CacheDir != "" {
		own = append(own, opts.Pipeline.CacheDir)
	}
	found, err := pipeline.FindInputs(args, own...)
	if err == nil && opts.OnInputs != nil {
		opts.OnInputs(len(found.Files))
	}
	return found, err
}

// compileAll compiles every YARA file under out, as a scanner loads them, into one file.
func compileAll(out, path string) (*runreport.Compiled, error) {
	files, err := filepath.Glob(filepath.Join(out, "yara", "*.yar"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("--yara-compiled: no YARA rules in %s", filepath.Join(out, "yara"))
	}
	rules, err := yara.CompileFiles(files...)
	if err != nil {
		return nil, fmt.Errorf("--yara-compiled: %w", err)
	}
	defer rules.Destroy()
	if err := rules.Save(path); err != nil {
		return nil, err
	}
	return &runreport.Compiled{Path: path, Rules: len(rules.RuleNames()), Files: len(files)}, nil
}

// pathSet collects the output paths of a run, and for a pruning run the ids of its Sigma rules
// (see retire), from several goroutines.
type pathSet struct {
	mu       sync.Mutex
	paths    map[string]bool
	sigmaIDs map[string]bool // nil: not collected
}

func newPathSet(withIDs bool) *pathSet {
	s := &pathSet{paths: map[string]bool{}}
	if withIDs {
		s.sigmaIDs = map[string]bool{}
	}
	return s
}

// addRule adds a rule file's path and, for a Sigma rule of a pruning run, its id.
func (s *pathSet) addRule(f File) {
	s.add(f.Path)
	if s.sigmaIDs == nil {
		return
	}
	if id := sigmaID(f.Path, f.Body); id != "" {
		s.mu.Lock()
		s.sigmaIDs[id] = true
		s.mu.Unlock()
	}
}

func (s *pathSet) add(p string) {
	s.mu.Lock()
	s.paths[p] = true
	s.mu.Unlock()
}
