package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/normalize/warninglist"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/yara"
)

type generateFlags struct {
	out           string
	templates     string
	author        string
	format        string
	allAttributes bool
	maxTLP        string
	warninglists  []string
	jobs          int
	check         bool
	prune         bool
	limits        parse.Limits
	maxValueBytes int
	bulkC2        int
	compiled      string
	layout        string
}

func newGenerate(stdout, stderr io.Writer, logger func() *slog.Logger) *cobra.Command {
	var f generateFlags
	cmd := &cobra.Command{
		Use:   "generate [flags] INPUT...",
		Short: "Write YARA and Sigma rules (and a skip list) for each report",
		Long: `generate reads threat reports and writes
  OUT/yara/<slug>.yar                the YARA rules of each report
  OUT/sigma/<slug>/<category>_*.yml  one Sigma rule per log source category
  OUT/skipped/<slug>.tsv             the values that made no rule, with the reason

An INPUT is a markdown report, a MISP JSON file ({"Event":...}, {"response":[...]},
a list of events or a bare event), a MISP feed directory (manifest.json and
<uuid>.json files) or a directory of any of these. The format is sniffed from
the content unless --format says otherwise.

Only MISP attributes flagged to_ids become rules unless --all-attributes; values
on a warninglist (bundled: private and reserved ranges, empty-file and common
benign hashes, popular domains, public DNS resolvers, sinkholes; more with
--warninglists) are skipped and listed with the list's name. Reports above
--max-tlp get no files at all.

Nothing is written unless every input parses, every YARA rule compiles and every
Sigma rule validates: files are staged beside OUT and moved in at the end.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("generate needs at least one INPUT report file or directory")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGenerate(cmd.Context(), stdout, stderr, logger(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "rules", "output directory")
	fl.StringVar(&f.templates, "templates", "", "directory whose yara/*.tmpl and sigma/*.tmpl files override the built-in templates by name")
	fl.StringVar(&f.author, "author", "rulegen", "author written into every rule")
	fl.StringVar(&f.format, "format", "auto", "input format: auto, markdown or misp")
	fl.BoolVar(&f.allAttributes, "all-attributes", false, "also use MISP attributes that are not flagged to_ids")
	fl.StringVar(&f.maxTLP, "max-tlp", pipeline.DefaultMaxTLP, "most restrictive TLP that gets rules: clear, green, amber, amber+strict or red")
	fl.StringArrayVar(&f.warninglists, "warninglists", nil, "directory of MISP warninglist JSON files to apply besides the bundled ones (repeatable)")
	fl.IntVarP(&f.jobs, "jobs", "j", 0, "reports processed at once (default: one per CPU)")
	fl.Int64Var(&f.limits.FileBytes, "max-input-bytes", parse.DefaultLimits.FileBytes, "largest input file")
	fl.IntVar(&f.limits.Depth, "max-depth", parse.DefaultLimits.Depth, "deepest JSON nesting")
	fl.IntVar(&f.limits.Attributes, "max-attributes", parse.DefaultLimits.Attributes, "most attributes in one event")
	fl.IntVar(&f.maxValueBytes, "max-value-bytes", normalize.DefaultMaxValueBytes, "longest value that may become a rule (longer ones are skipped)")
	fl.IntVar(&f.bulkC2, "yara-bulk-c2", normalize.DefaultMaxFullC2, "most domains, addresses and URLs a report may list and still have YARA look for them in ASCII and UTF-16, in any case; a report with more is a blocklist, matched as listed, in ASCII (thousands of ascii wide nocase strings cost YARA 3x an empty scan); 0 makes every report a blocklist, for feeds of many small reports")
	fl.BoolVar(&f.check, "check", false, "write nothing: compare what would be written with OUT, print a unified diff and the orphaned rule files, exit 1 if they differ")
	fl.StringVar(&f.compiled, "yara-compiled", "", "also write all YARA rules under OUT compiled into `FILE` (libyara's format, as yarac writes)")
	fl.StringVar(&f.layout, "yara-layout", string(render.LayoutFast), "YARA layout: fast (hash rules as size and digest trees, domain families as one regular expression, paths steered to a cheap atom: cheap to scan), readable (one term or quoted string per indicator) or feed (fast, with every report's samples in shared hash rules in "+render.FeedPath+"); all match the same")
	fl.BoolVar(&f.prune, "prune", false, "remove rule files in OUT that no INPUT produces any more")
	return cmd
}

func (f generateFlags) pipelineOptions() (pipeline.Options, error) {
	opts := pipeline.Options{Author: f.author, Workers: f.jobs, Limits: f.limits}
	if f.limits.FileBytes <= 0 || f.limits.Depth <= 0 || f.limits.Attributes <= 0 || f.maxValueBytes <= 0 {
		return opts, usageError{fmt.Errorf("--max-input-bytes, --max-depth, --max-attributes and --max-value-bytes must be positive")}
	}
	if f.bulkC2 < 0 {
		return opts, usageError{fmt.Errorf("--yara-bulk-c2 %d: want 0 (every report) or more", f.bulkC2)}
	}
	var err error
	if opts.Format, err = parse.ParseFormat(f.format); err != nil {
		return opts, usageError{fmt.Errorf("--format: %w", err)}
	}
	if opts.MaxTLP, err = normalize.ParseTLP(f.maxTLP); err != nil {
		return opts, usageError{fmt.Errorf("--max-tlp: %w", err)}
	}
	if opts.Layout, err = render.ParseLayout(f.layout); err != nil {
		return opts, usageError{fmt.Errorf("--yara-layout: %w", err)}
	}
	if f.templates != "" {
		info, err := os.Stat(f.templates)
		if err != nil || !info.IsDir() {
			return opts, usageError{fmt.Errorf("--templates %s: not a directory", f.templates)}
		}
		opts.Templates = os.DirFS(f.templates)
	}
	opts.Normalize.AllAttributes = f.allAttributes
	opts.Normalize.MaxValueBytes = f.maxValueBytes
	opts.Normalize.MaxFullC2 = f.bulkC2
	if f.bulkC2 == 0 {
		opts.Normalize.MaxFullC2 = -1 // every report; normalize reads 0 as its default
	}
	if len(f.warninglists) == 0 {
		return opts, nil // the pipeline applies the bundled lists
	}
	lists, err := warninglist.Bundled()
	if err != nil {
		return opts, err
	}
	for _, dir := range f.warninglists {
		more, err := warninglist.LoadDir(dir)
		if err != nil {
			return opts, err
		}
		lists = append(lists, more...)
	}
	opts.Normalize.Warninglists = warninglist.NewSet(lists...)
	return opts, nil
}

func runGenerate(ctx context.Context, stdout, stderr io.Writer, log *slog.Logger, f generateFlags, args []string) error {
	if os.Getenv("GOGC") == "" {
		// Each event's data dies when its files are written. A less eager collector costs about
		// 40 MiB more peak memory on a 10,000-event feed and saves about a fifth of the CPU.
		debug.SetGCPercent(400)
	}
	opts, err := f.pipelineOptions()
	if err != nil {
		return err
	}
	inputs, err := pipeline.Inputs(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	bar := startProgress(stderr, len(inputs))
	defer bar.stop()
	opts.InputDone = bar.inputDone
	log.Debug("generating", "inputs", len(inputs), "out", f.out, "check", f.check)
	if f.check {
		return runCheck(ctx, stdout, f.out, inputs, opts, bar)
	}
	stage, err := render.NewStage(f.out)
	if err != nil {
		return err
	}
	defer stage.Discard() // a no-op after Commit
	sum := newSummary(f.maxTLP, f.bulkC2)
	produced := newPathSet()
	res, err := pipeline.Run(ctx, inputs, opts, func(o *pipeline.Outcome) error {
		for _, file := range o.Files {
			if err := stage.Put(file); err != nil {
				return err
			}
			produced.add(file.Path)
		}
		sum.add(o)
		return nil
	})
	bar.stop()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: nothing written, %s left as it was", f.out)
		}
		return err
	}
	if !res.CompileCheck {
		log.Warn("built without cgo: YARA output was not compile-checked")
	}
	for _, file := range res.Shared {
		if err := stage.Put(file); err != nil {
			return err
		}
		produced.add(file.Path)
	}
	sum.addShared(res.Shared, res.SharedRules)
	orphans, err := render.Orphans(f.out, produced.paths)
	if err != nil {
		return err
	}
	var keep func(string) bool // --prune leaves the orphans out of the new tree
	if f.prune {
		keep = func(rel string) bool { return !slices.Contains(orphans, rel) }
	}
	written, unchanged, err := stage.Commit(keep)
	if err != nil {
		return err
	}
	sum.print(stdout, f.out, written, unchanged, orphans, f.prune)
	if f.compiled != "" {
		return saveCompiled(stdout, f.out, f.compiled)
	}
	return nil
}

// saveCompiled compiles every YARA file under out, as a scanner loads them, into one file.
func saveCompiled(stdout io.Writer, out, path string) error {
	files, err := filepath.Glob(filepath.Join(out, "yara", "*.yar"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("--yara-compiled: no YARA rules in %s", filepath.Join(out, "yara"))
	}
	rules, err := yara.CompileFiles(files...)
	if err != nil {
		return fmt.Errorf("--yara-compiled: %w", err)
	}
	defer rules.Destroy()
	if err := rules.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d YARA rules from %d files compiled into %s\n", len(rules.RuleNames()), len(files), path)
	return nil
}

// pathSet collects the output paths of a run from several goroutines.
type pathSet struct {
	mu    sync.Mutex
	paths map[string]bool
}

func newPathSet() *pathSet { return &pathSet{paths: map[string]bool{}} }

func (s *pathSet) add(p string) {
	s.mu.Lock()
	s.paths[p] = true
	s.mu.Unlock()
}

// runCheck regenerates in memory and compares with OUT: a CI gate for a rules repository.
func runCheck(ctx context.Context, stdout io.Writer, out string, inputs []string, opts pipeline.Options, bar *progress) error {
	produced := newPathSet()
	var mu sync.Mutex
	diffs := map[string][]byte{}
	compare := func(files []render.File) error {
		for _, file := range files {
			produced.add(file.Path)
			old, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(file.Path)))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if bytes.Equal(old, file.Body) && err == nil {
				continue
			}
			d := diff.Diff(path.Join(out, file.Path), old, path.Join(out, file.Path)+" (generated)", file.Body)
			mu.Lock()
			diffs[file.Path] = d
			mu.Unlock()
		}
		return nil
	}
	res, err := pipeline.Run(ctx, inputs, opts, func(o *pipeline.Outcome) error { return compare(o.Files) })
	bar.stop()
	if err == nil {
		err = compare(res.Shared)
	}
	if err != nil {
		return err
	}
	orphans, err := render.Orphans(out, produced.paths)
	if err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(diffs)) {
		stdout.Write(diffs[p])
	}
	for _, o := range orphans {
		fmt.Fprintf(stdout, "orphan: %s is produced by no input (remove it, or run generate --prune)\n", path.Join(out, o))
	}
	if len(diffs)+len(orphans) > 0 {
		fmt.Fprintf(stdout, "%s is stale: %d files differ from what the inputs generate, %d orphaned; run rulegen generate --prune and commit\n", out, len(diffs), len(orphans))
		return errFailed
	}
	fmt.Fprintf(stdout, "%s is up to date: %d files match what the inputs generate\n", out, len(produced.paths))
	return nil
}
