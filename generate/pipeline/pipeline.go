// Package pipeline wires the stages: parse → normalize → render → verify. It holds no detection
// or formatting logic of its own.
package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/rulegen/rulegen/generate/internal/yarasrc"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/normalize/warninglist"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/quarantine"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/sigma"
	"github.com/rulegen/rulegen/generate/yara"
)

// DefaultMaxTLP is the most restrictive TLP that gets rules unless --max-tlp says otherwise:
// TLP:RED material is for named recipients, not for a rules repository.
const DefaultMaxTLP = "amber+strict"

// Options configure a run: each stage's own options, whole, and the run's. Every field shapes
// the rules and is part of the cache key (see writeSettings), but those tagged cache:"-", which
// change how a run goes and not what it makes.
type Options struct {
	Parse     parse.Options
	Normalize normalize.Options // a nil Warninglists means the bundled lists and WarninglistDirs
	Render    render.Options
	// WarninglistDirs hold MISP warninglists applied besides the bundled ones.
	WarninglistDirs []string `cache:"dirs"`
	MaxTLP          string   // TLPv2 name; "" means DefaultMaxTLP
	Workers         int      `cache:"-"` // reports processed at once; 0 means one per CPU
	// KeepGoing lets a bad input fail alone: it is listed in Result.Failed with the reason, none
	// of its reports reaches emit, and every other input is processed.
	KeepGoing bool `cache:"-"`
	// InputDone, if set, is called after each input file (or report read up front) is done,
	// from any goroutine: it drives a progress display.
	InputDone func() `cache:"-"`
	// CacheDir, if set, keeps each input file's outcomes there: a rerun takes an unchanged
	// input's from it instead of processing the input again (see cache).
	CacheDir string `cache:"-"`
	// Discovered are the inputs found in directories (Found.Discovered): a publication among
	// them that states no date, or a document that states no indicator, is passed over and
	// listed in Result.PassedOver, where one named on the command line fails the run. A
	// vendor's repository holds some. A passed-over input has no outcome to cache.
	Discovered map[string]bool `cache:"-"`
}

// Outcome is what one report produced, before anything is written.
type Outcome struct {
	// Report is the normalised report, kept for Collect only. Run leaves it nil, as does an
	// outcome from the cache: a bulk list's normalised indicators outweigh what output needs
	// of them, which Tally holds.
	Report *report.Normalized
	Tally  *Tally
	Files  []render.File
	// Withheld says why the report has no files at all (its TLP is above the limit); "" when
	// it was rendered.
	Withheld string
	Rules    int // YARA rules and Sigma rules in Files
}

// Result sums up a run.
type Result struct {
	Reports      int
	CompileCheck bool // whether the YARA output was compiled with libyara
	// Shared holds the files no single report owns, written once every report is done: the
	// shared hash rules of --yara-layout feed. SharedRules counts their rules.
	Shared      []render.File
	SharedRules int
	Failed      []Failure // with Options.KeepGoing: the inputs that failed, by path
	CacheHits   int       // inputs whose outcomes came from the cache
	// PassedOver are the inputs found in directories that were passed over: publications that
	// state no date, documents that state no indicator.
	PassedOver []report.Skipped
}

// Failure is an input that could not be read or did not make valid rules.
type Failure struct {
	Input string
	Err   error
}

// emitError marks a failure of the caller's emit (writing, say): never the input's fault, so it
// stops even a run that keeps going.
type emitError struct{ err error }

func (e emitError) Error() string { return e.err.Error() }
func (e emitError) Unwrap() error { return e.err }

// Run reads every input and passes each report's outcome to emit as soon as it is rendered and
// verified. Reports are processed concurrently and emit may be called from several goroutines
// at once. Memory stays bounded by the reports in flight, never the whole input. Any bad input
// stops the run with an error; the caller decides what to do with what it was already given.
func Run(ctx context.Context, inputs []string, opts Options, emit func(*Outcome) error) (*Result, error) {
	return runAll(ctx, inputs, opts, emit, false)
}

// runAll is Run, with the outcomes' reports kept when keepReports says so.
func runAll(ctx context.Context, inputs []string, opts Options, emit func(*Outcome) error, keepReports bool) (*Result, error) {
	p, err := newRun(opts, emit)
	if err != nil {
		return nil, err
	}
	p.keepReports = keepReports
	inMemory, streamed := split(inputs, opts.Parse.Format)
	// Report files that are not MISP JSON (markdown renderings, vendors' publications) are read
	// first, so that reports sharing a title can be told apart by their ids, as a set.
	early, err := p.readEarly(inMemory)
	if err != nil {
		return nil, err
	}
	res := &Result{CompileCheck: yara.Available}
	if err := p.parallel(ctx, early, streamed); err != nil {
		return res, err
	}
	res.Reports = p.reports
	res.CacheHits = int(p.cacheHits.Load())
	res.Failed, res.PassedOver = p.failures, p.passedOver
	slices.SortFunc(res.Failed, func(a, b Failure) int { return strings.Compare(a.Input, b.Input) })
	res.Shared, res.SharedRules, err = p.shared()
	return res, err
}

// failed records a bad input when the run keeps going, and says whether it does.
func (p *run) failed(input string, err error) bool {
	var emitErr emitError
	if !p.opts.KeepGoing || errors.As(err, &emitErr) || errors.Is(err, context.Canceled) {
		return false
	}
	p.mu.Lock()
	p.failures = append(p.failures, Failure{Input: input, Err: err})
	p.mu.Unlock()
	return true
}

// shared renders and verifies the files no single report owns.
func (p *run) shared() ([]render.File, int, error) {
	files, err := p.rd.RenderFeed(p.feed)
	if err != nil || len(files) == 0 {
		return nil, 0, err
	}
	for _, f := range files {
		if prev, taken := p.outputs[maphash.String(p.seed, f.Path)]; taken {
			return nil, 0, fmt.Errorf("%s writes %s, which the shared rules of --yara-layout feed need", p.sources[prev], f.Path)
		}
	}
	var names []string
	if yara.Available {
		if names, err = compileYARA(files); err != nil {
			return nil, 0, err
		}
	}
	return files, len(names), nil
}

func newRun(opts Options, emit func(*Outcome) error) (*run, error) {
	rd, err := render.New(opts.Render)
	if err != nil {
		return nil, err
	}
	if opts.MaxTLP == "" {
		opts.MaxTLP = DefaultMaxTLP
	}
	p := &run{rd: rd, emit: emit, outputs: map[uint64]int32{}, rules: map[uint64]int32{}, seed: maphash.MakeSeed()}
	// A run is keyed by its settings as given: lists passed as a value cannot be keyed.
	keyable := opts.Normalize.Warninglists == nil
	if keyable {
		if opts.Normalize.Warninglists, err = warninglists(opts.WarninglistDirs); err != nil {
			return nil, err
		}
	}
	if opts.CacheDir != "" && keyable {
		if p.cache, err = newCache(opts.CacheDir, opts); err != nil {
			return nil, err
		}
	}
	p.opts = opts
	return p, nil
}

var bundledWarninglists = sync.OnceValues(func() (*warninglist.Set, error) {
	lists, err := warninglist.Bundled()
	return warninglist.NewSet(lists...), err
})

// warninglists are the bundled lists and those in dirs.
func warninglists(dirs []string) (*warninglist.Set, error) {
	if len(dirs) == 0 {
		return bundledWarninglists()
	}
	lists, err := warninglist.Bundled()
	if err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		more, err := warninglist.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		lists = append(lists, more...)
	}
	return warninglist.NewSet(lists...), nil
}

// split puts MISP JSON files (by name, or all files when --format misp) in the streamed set.
func split(inputs []string, format parse.Format) (inMemory, streamed []string) {
	for _, in := range inputs {
		if format == parse.FormatMISP || format == parse.FormatAuto && strings.EqualFold(filepath.Ext(in), ".json") {
			streamed = append(streamed, in)
		} else {
			inMemory = append(inMemory, in)
		}
	}
	return inMemory, streamed
}

type run struct {
	opts Options
	rd   *render.Renderer
	emit func(*Outcome) error

	// Every output path and rule name must belong to one report. A feed writes tens of
	// thousands of them, so they are kept as 64-bit hashes pointing at the report's index.
	mu         sync.Mutex
	reports    int
	seed       maphash.Seed
	outputs    map[uint64]int32    // hash of an output path → the report that wrote it
	rules      map[uint64]int32    // hash of a YARA rule name → the report that defined it
	sources    []string            // per report: its file and event id, for messages
	feed       []render.FeedSample // --yara-layout feed: every report's samples, for shared rules
	failures   []Failure           // with KeepGoing
	passedOver []report.Skipped    // inputs found in directories with no date or no indicator
	cache      *cache
	cacheHits  atomic.Int64
	// keepReports keeps each outcome's normalised report (Collect): a run lets it go.
	keepReports bool
}

// readEarly reads and normalises the inputs held in memory, a worker per CPU, and gives the
// reports sharing a slug distinct ones; reports keep the order of their inputs.
func (p *run) readEarly(inputs []string) ([]*report.Normalized, error) {
	read := make([][]*report.Normalized, len(inputs))
	errs := make([]error, len(inputs))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(p.workers(), len(inputs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(inputs); i = int(next.Add(1) - 1) {
				errs[i] = parse.ReadFile(inputs[i], p.opts.Parse, func(parsed *report.Report) error {
					r, err := normalize.Consume(parsed, p.opts.Normalize)
					if err != nil {
						return err
					}
					read[i] = append(read[i], r)
					return nil
				})
			}
		})
	}
	wg.Wait()
	var early []*report.Normalized
	for i, in := range inputs {
		if p.passOver(in, errs[i]) {
			continue
		}
		if errs[i] != nil {
			if !p.failed(in, errs[i]) {
				return nil, errs[i]
			}
			continue
		}
		early = append(early, read[i]...)
	}
	normalize.UniqueSlugs(early)
	return early, nil
}

// passOver lists an input found in a directory that failed with an error a run passes over
// (see passOver), and says whether it did.
func (p *run) passOver(in string, err error) bool {
	reason := passOver(err)
	if reason == "" || !p.opts.Discovered[in] {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.passedOver = append(p.passedOver, report.Skipped{Value: filepath.Base(in), Kind: "input", Reason: reason, Source: report.Pos{File: in}})
	return true
}

// passOver is why a run passes over an input it found in a directory that failed with err:
// a publication that states no date, a document that states no indicator; "" for other
// errors, which fail the run.
func passOver(err error) string {
	switch {
	case errors.Is(err, parse.ErrUndated):
		return "no date: give --date, a Date: line or a dated name (2024-05-01-name)"
	case errors.Is(err, parse.ErrNoIndicators):
		return "a document that states no indicator"
	case errors.Is(err, parse.ErrUnsupported):
		return "a STIX 1.x package (XML), which rulegen does not read: convert it to STIX 2.1"
	}
	return ""
}

func (p *run) workers() int {
	if p.opts.Workers > 0 {
		return p.opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// parallel processes the in-memory reports and the streamed files on a pool of workers and
// returns the first error, after every worker has stopped.
func (p *run) parallel(ctx context.Context, early []*report.Normalized, files []string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan *job)
	var wg sync.WaitGroup
	for range p.workers() {
		wg.Go(func() {
			for j := range jobs {
				// A run that keeps going holds an input's outcomes until all of its reports are
				// done, so that a bad input reaches emit with none of them.
				var held []heldOutcome
				sink := p.deliver
				if p.opts.KeepGoing {
					sink = func(o *Outcome, names []string) error {
						held = append(held, heldOutcome{o, names})
						return nil
					}
				}
				var err error
				input, streamed := j.path, j.path != ""
				if streamed {
					err = p.input(ctx, j.path, sink)
				} else {
					input = j.report.Source
					err = p.process(j.take(), sink)
				}
				if err != nil && streamed && p.passOver(input, err) {
					err = nil // JSON found in a directory that is no report (a package.json)
				} else if err != nil && !p.failed(input, err) {
					cancel(err)
				}
				for _, h := range held {
					if err != nil {
						break // a failed input hands on nothing
					}
					// A report another input already wrote (the same event twice) fails this
					// input alone when the run keeps going.
					if err = p.deliver(h.out, h.names); err != nil && !p.failed(input, err) {
						cancel(err)
					}
				}
				if p.opts.InputDone != nil {
					p.opts.InputDone()
				}
			}
		})
	}
	send := func(j *job) bool {
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
feed:
	for i, r := range early {
		early[i] = nil // the job holds it, and lets it go once rendered
		if !send(&job{report: r}) {
			break feed
		}
	}
	for _, f := range files {
		if !send(&job{path: f}) {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// job is an input for a worker: a report already read, or a file to read.
type job struct {
	report *report.Normalized // already parsed and normalised
	path   string             // a MISP JSON file to read
}

// take hands the job's report over: once rendered, a bulk list's model (hundreds of megabytes)
// need not live through the YARA check, so nothing in the worker may keep pointing at it.
func (j *job) take() *report.Normalized {
	r := j.report
	j.report = nil
	return r
}

// input reads, normalises, renders and checks the reports of one MISP JSON file, or takes their
// outcomes from the cache when the file and every setting are as they were.
func (p *run) input(ctx context.Context, path string, sink func(*Outcome, []string) error) error {
	data, err := parse.ReadInput(path, p.opts.Parse)
	if err != nil {
		return err
	}
	var key [32]byte
	caching := p.cache != nil && len(data) <= maxCachedInput
	if caching {
		key = p.cache.key(path, data)
		if outs, ok := p.cache.get(key); ok {
			p.cacheHits.Add(1)
			for _, co := range outs {
				if err := sink(&Outcome{Tally: co.Tally, Files: co.Files, Withheld: co.Withheld, Rules: co.Rules}, co.Names); err != nil {
					return err
				}
			}
			return nil
		}
	}
	var kept []cachedOutcome
	collect := sink
	if caching {
		collect = func(o *Outcome, names []string) error {
			kept = append(kept, cachedOutcome{Tally: o.Tally, Files: o.Files, Withheld: o.Withheld, Rules: o.Rules, Names: names})
			return sink(o, names)
		}
	}
	err = parse.Each(path, data, p.opts.Parse, func(parsed *report.Report) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := normalize.Consume(parsed, p.opts.Normalize)
		if err != nil {
			return err
		}
		return p.process(r, collect)
	})
	if err == nil && caching {
		p.cache.put(key, kept)
	}
	return err
}

// heldOutcome is an outcome waiting for the rest of its input.
type heldOutcome struct {
	out   *Outcome
	names []string
}

// process renders and verifies one normalised report and hands it to sink (deliver, or a
// holding list). The report is left as normalised: what is rendered is a copy whose analysts'
// rules are those that pass, and whose skips add those that do not.
func (p *run) process(normalised *report.Normalized, sink func(*Outcome, []string) error) error {
	if normalize.AboveTLP(normalised.TLP, p.opts.MaxTLP) {
		out := &Outcome{Tally: newTally(normalised), Withheld: fmt.Sprintf("TLP:%s is above --max-tlp %s: no rules written",
			strings.ToUpper(normalised.TLP), strings.ToUpper(p.opts.MaxTLP))}
		if p.keepReports {
			out.Report = normalised
		}
		return sink(out, nil)
	}
	checked := *normalised
	checked.Skipped = slices.Clip(normalised.Skipped) // appends copy, never write into normalised's
	r := &checked
	if yara.Available {
		r.YARARules = quarantinedYARA(r, passingYARA(r, r.YARARules))
	}
	r.SigmaRules = keepPassing(r, r.SigmaRules, validSigma(r))
	// The Sigma files are checked before the YARA files are rendered: a bulk list's Sigma parse
	// and its YARA text are each hundreds of megabytes, and need not be held at once.
	sigmaFiles, err := p.rd.RenderSigma(r)
	if err != nil {
		return err
	}
	sigmaRules, err := validateSigma(sigmaFiles)
	if err != nil {
		return err
	}
	yaraFiles, err := p.rd.RenderYARA(r)
	if err != nil {
		return err
	}
	files, err := render.SortFiles(append(sigmaFiles, yaraFiles...))
	if err != nil {
		return err
	}
	if p.opts.Render.Layout == render.LayoutFeed {
		p.mu.Lock()
		p.feed = append(p.feed, render.FeedSamples(r)...)
		p.mu.Unlock()
	}
	out := &Outcome{Tally: newTally(r), Files: files}
	if p.keepReports {
		out.Report = r
	}
	out.Rules = sigmaRules
	var names []string
	if yara.Available {
		if names, err = compileYARA(files); err != nil {
			return err
		}
		out.Rules += len(names)
	}
	return sink(out, names)
}

// keepPassing keeps the attributes check accepts, in order, and skips the others with the
// reason check gives: an analyst's rule that fails must not cost the report its other rules.
// check is told how many were kept before a.
func keepPassing(r *report.Normalized, list []report.Attribute, check func(a report.Attribute, kept int) string) []report.Attribute {
	var kept []report.Attribute
	for _, a := range list {
		if reason := check(a, len(kept)); reason != "" {
			r.SkipPart(a, ruleNamed(a), reason)
			continue
		}
		kept = append(kept, a)
	}
	return kept
}

// ruleNamed names an analyst's rule in a skip list by what it declares ("rule A, B" for YARA,
// "rule <title>" for Sigma), or by its text when it declares nothing readable.
func ruleNamed(a report.Attribute) string {
	switch a.Type {
	case "yara":
		if names := yarasrc.Names(a.Value); len(names) > 0 {
			return "rule " + strings.Join(names, ", ")
		}
	case "sigma":
		if m := sigmaTitle.FindStringSubmatch(a.Value); m != nil {
			return "rule " + strings.Trim(strings.TrimSpace(m[1]), `'"`)
		}
	}
	return a.Value
}

// sigmaTitle is a Sigma rule's title line.
var sigmaTitle = regexp.MustCompile(`(?m)^title:[ \t]*(.+)$`)

// passingYARA keeps the analyst YARA sources that pass through (passableYARA) and skips the
// others with the reason. A source that does not pass whole but holds several rules is tried
// rule by rule: one rule that needs a newer libyara (or a module it lacks) costs only itself,
// as a publisher's YARA file holds many rules.
func passingYARA(r *report.Normalized, list []report.Attribute) []report.Attribute {
	var kept []report.Attribute
	for _, a := range list {
		reason := passableYARA(a, 0)
		if reason == "" {
			kept = append(kept, a)
			continue
		}
		parts, err := render.SplitPassedYARA(a.Value)
		if err != nil || len(parts) < 2 {
			r.SkipPart(a, ruleNamed(a), reason)
			continue
		}
		rules := make([]report.Attribute, len(parts))
		for i, part := range parts {
			rules[i] = a
			rules[i].Value = part
		}
		kept = append(kept, keepPassing(r, rules, passableYARA)...)
	}
	return kept
}

// passableYARA says why an analyst's YARA source cannot be passed through: libyara does not
// compile it alone without an error or a warning, it declares no rule, or rulegen cannot
// rename it into the report's namespace; "" when it can.
func passableYARA(a report.Attribute, _ int) string {
	names, err := yara.Check(yara.Source{Name: a.Type, Text: a.Value})
	var ce *yara.CompileError
	switch {
	case errors.As(err, &ce) && len(ce.Errors) == 0:
		return "YARA rule refused: libyara warns of it (a slow string, a deprecated feature): " + strings.ReplaceAll(err.Error(), "\n", "; ")
	case err != nil:
		return "YARA rule does not compile: " + strings.ReplaceAll(err.Error(), "\n", "; ")
	case len(names) == 0:
		return "YARA source without a rule"
	}
	if err := render.CheckPassedYARA(a.Value); err != nil {
		return "YARA rule rulegen cannot rename into the report's namespace: " + err.Error()
	}
	return ""
}

// quarantinedYARA keeps the rules of each analyst YARA source that are safe to load beside
// others (quarantine.YARA) and skips the others, each with its name and the reason: a
// publication's global rule must not silence the repository, nor a rule that matches anything
// flood it.
func quarantinedYARA(r *report.Normalized, list []report.Attribute) []report.Attribute {
	var kept []report.Attribute
	for _, a := range list {
		safe, refused, err := quarantine.YARA(a.Value)
		if err != nil {
			r.SkipPart(a, ruleNamed(a), "YARA rule cannot be quarantined: "+strings.ReplaceAll(err.Error(), "\n", "; "))
			continue
		}
		lines := map[string]int{}
		for _, d := range yara.Declarations(a.Value) {
			lines[d.Name] = d.Line
		}
		for _, q := range refused {
			at := a
			if at.Pos.Line > 0 && lines[q.Rule] > 0 { // a file's line: the rule's own
				at.Pos.Line += lines[q.Rule] - 1
			}
			r.SkipPart(at, "rule "+q.Rule, "YARA rule quarantined: "+q.Reason) // a private one is no detection of its own
		}
		if safe != "" {
			a.Value = safe
			kept = append(kept, a)
		}
	}
	return kept
}

// validSigma returns the check of an analyst's Sigma rule of r: it must validate as generated
// rules do, once written (render.PassedSigma).
func validSigma(r *report.Normalized) func(report.Attribute, int) string {
	return func(a report.Attribute, kept int) string {
		f, err := render.PassedSigma(r, a, kept)
		var rule sigma.Rule
		if err == nil {
			rule, err = sigma.Load(f.Path, f.Body)
		}
		if err != nil {
			return "Sigma rule does not validate: " + strings.ReplaceAll(err.Error(), "\n", "; ")
		}
		reason, err := quarantine.Sigma(context.Background(), rule)
		if err != nil {
			return "Sigma rule cannot be evaluated: " + err.Error()
		}
		if reason != "" {
			return "Sigma rule quarantined: " + reason
		}
		return ""
	}
}

// deliver claims the outcome's paths and rule names for its report, then emits it. A path or
// name that another report already has means two inputs hold the same event.
func (p *run) deliver(out *Outcome, ruleNames []string) error {
	who := fmt.Sprintf("%s (event %s)", out.Tally.Source, out.Tally.ID)
	p.mu.Lock()
	me := int32(len(p.sources))
	claim := func(m map[uint64]int32, key, what string) error {
		h := maphash.String(p.seed, key)
		if prev, dup := m[h]; dup {
			return fmt.Errorf("%s and %s both %s", p.sources[prev], who, what)
		}
		m[h] = me
		return nil
	}
	p.sources = append(p.sources, who)
	var err error
	for _, f := range out.Files {
		if err == nil {
			err = claim(p.outputs, f.Path, "write "+f.Path+": is the same event in two inputs?")
		}
	}
	for _, n := range ruleNames {
		if err == nil {
			err = claim(p.rules, n, "define YARA rule "+n)
		}
	}
	p.reports++
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if err := p.emit(out); err != nil {
		return emitError{err}
	}
	return nil
}

// validateSigma proves every rendered Sigma rule meets the schema and parses with sigma-go, and
// counts them.
func validateSigma(files []render.File) (int, error) {
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yml") {
			if _, err := sigma.Load(f.Path, f.Body); err != nil {
				return 0, fmt.Errorf("generated Sigma is invalid (a template or escaping defect):\n%w", err)
			}
			n++
		}
	}
	return n, nil
}

// compileYARA proves a report's YARA files compile clean and returns their rule names.
func compileYARA(files []render.File) ([]string, error) {
	var sources []yara.Source
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") {
			// The body is read, not copied: a bulk list's YARA is hundreds of megabytes, and
			// nothing writes a rendered file while it is checked.
			sources = append(sources, yara.Source{Name: f.Path, Text: unsafe.String(unsafe.SliceData(f.Body), len(f.Body))})
		}
	}
	if len(sources) == 0 {
		return nil, nil
	}
	names, err := yara.Check(sources...)
	if err != nil {
		return nil, fmt.Errorf("generated YARA does not compile (a template or escaping defect):\n%w", err)
	}
	return cloneAll(names), nil
}

// cloneAll copies strings that point into a rendered body so that they outlive it, whatever
// is done with it later: into one buffer, as a bulk list's million names would be a million
// allocations.
func cloneAll(names []string) []string {
	size := 0
	for _, n := range names {
		size += len(n)
	}
	var all strings.Builder
	all.Grow(size)
	for _, n := range names {
		all.WriteString(n)
	}
	joined, at := all.String(), 0
	for i, n := range names {
		names[i] = joined[at : at+len(n)]
		at += len(n)
	}
	return names
}

// Collect runs the pipeline and returns every outcome, sorted by source, and every file,
// sorted by path. It holds the whole output in memory: for tests and small runs.
func Collect(ctx context.Context, inputs []string, opts Options) ([]*Outcome, []render.File, error) {
	var mu sync.Mutex
	var outcomes []*Outcome
	var files []render.File
	res, err := runAll(ctx, inputs, opts, func(o *Outcome) error {
		mu.Lock()
		defer mu.Unlock()
		outcomes = append(outcomes, o)
		files = append(files, o.Files...)
		return nil
	}, true)
	if err != nil {
		return nil, nil, err
	}
	files = append(files, res.Shared...)
	slices.SortFunc(outcomes, func(a, b *Outcome) int {
		return cmp.Or(strings.Compare(a.Report.Source, b.Report.Source), strings.Compare(a.Report.Slug, b.Report.Slug))
	})
	slices.SortFunc(files, func(a, b render.File) int { return strings.Compare(a.Path, b.Path) })
	return outcomes, files, nil
}
