package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rulegen/rulegen/generate/config"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/output"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
)

type generateFlags struct {
	out           string
	templates     string
	author        string
	format        string
	title, date   string
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
	yaraCase      string
	attackLayer   string
	asOf          string
	expire        string
	keepGoing     bool
	retention     string
	changes       string
	changesFormat string
	cache         string
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
a list of events or a bare event), a STIX 2.0 or 2.1 bundle (each report object a
report), a plain IOC list (*.txt), a MISP feed directory (manifest.json and
<uuid>.json files) or a directory of any of these. The format is sniffed from
the content unless --format says otherwise.

Only MISP attributes flagged to_ids become rules unless --all-attributes; values
on a warninglist (bundled: private and reserved ranges, empty-file and common
benign hashes, popular domains, public DNS resolvers, sinkholes; more with
--warninglists) are skipped and listed with the list's name. Reports above
--max-tlp get no files at all.

Nothing is written unless every input parses, every YARA rule compiles and every
Sigma rule validates. OUT is locked while a run writes it; a symbolic link is
written at its target. The new tree replaces OUT in one step, or file by file
where OUT is a mount point.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			conf, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if conf != nil {
				if err := applySection(cmd.Flags(), conf.Generate, conf.Path+": generate", "inputs"); err != nil {
					return err
				}
				if len(args) == 0 {
					args = conf.Generate["inputs"]
				}
			}
			if len(args) == 0 {
				return usageError{fmt.Errorf("generate needs at least one INPUT report file or directory (or inputs in %s)", config.DefaultPath)}
			}
			return runGenerate(cmd.Context(), stdout, stderr, logger(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "rules", "output directory")
	fl.StringVar(&f.templates, "templates", "", "`DIR` whose yara/*.tmpl and sigma/*.tmpl override the built-in templates by name")
	fl.StringVar(&f.author, "author", "rulegen", "author written into every rule")
	fl.StringVar(&f.format, "format", "auto", "input format of files given by name: "+parse.FormatHelp())
	fl.StringVar(&f.title, "title", "", "title of a plain IOC list (default: its file name)")
	fl.StringVar(&f.date, "date", "", "date (YYYY-MM-DD) of a plain IOC list (default: the date in its file name)")
	fl.BoolVar(&f.allAttributes, "all-attributes", false, "also use MISP attributes that are not flagged to_ids")
	fl.StringVar(&f.maxTLP, "max-tlp", pipeline.DefaultMaxTLP, "most restrictive TLP that gets rules: clear, green, amber, amber+strict or red")
	fl.StringArrayVar(&f.warninglists, "warninglists", nil, "`DIR` of MISP warninglists applied besides the bundled ones (repeatable)")
	fl.IntVarP(&f.jobs, "jobs", "j", 0, "reports processed at once (default: one per CPU)")
	fl.Int64Var(&f.limits.FileBytes, "max-input-bytes", parse.DefaultLimits.FileBytes, "largest input file")
	fl.IntVar(&f.limits.Depth, "max-depth", parse.DefaultLimits.Depth, "deepest JSON nesting")
	fl.IntVar(&f.limits.Attributes, "max-attributes", parse.DefaultLimits.Attributes, "most attributes in one event")
	fl.IntVar(&f.maxValueBytes, "max-value-bytes", normalize.DefaultMaxValueBytes, "longest value that may become a rule (longer ones are skipped)")
	fl.IntVar(&f.bulkC2, "yara-bulk-c2", normalize.DefaultMaxFullC2, "a report with more C2 domains, addresses and URLs is a blocklist: YARA matches them as listed, in ASCII (0: every report)")
	fl.BoolVar(&f.check, "check", false, "write nothing: print how OUT differs from what the inputs generate, exit 1 if it does")
	fl.StringVar(&f.compiled, "yara-compiled", "", "also write all YARA rules under OUT compiled into `FILE` (libyara's format, as yarac writes)")
	fl.StringVar(&f.attackLayer, "attack-layer", "", "also write an ATT&CK Navigator layer (format 4.5) of the techniques the Sigma rules tag to `FILE`")
	fl.StringVar(&f.yaraCase, "yara-case", string(render.CaseAny), "letter case of YARA strings of domains, URLs, registry values and paths: any (nocase), or listed (as the report writes them: matches less, costs YARA-X far less)")
	fl.StringVar(&f.layout, "yara-layout", string(render.LayoutFast), "YARA layout: fast (cheap to scan), readable (one term per indicator) or feed (fast, samples in shared rules); all match the same")
	fl.BoolVar(&f.prune, "prune", false, "remove rule files in OUT that no INPUT produces any more")
	fl.BoolVar(&f.keepGoing, "keep-going", false, "let a bad input fail alone: keep its previous rules, write the rest, exit 1")
	fl.StringVar(&f.cache, "cache", defaultCache(), "keep each input's rules in `DIR`, so that reruns skip unchanged inputs (off: no cache)")
	fl.StringVar(&f.changes, "changes", "", "also write what changed (reports, values, retired rules) to `FILE`, for a pull request or $GITHUB_STEP_SUMMARY")
	fl.StringVar(&f.changesFormat, "changes-format", "markdown", "format of --changes: markdown or json")
	fl.StringVar(&f.retention, "retention", "180d", "how long --prune keeps retired Sigma rules in sigma/deprecated/ (days, weeks or years)")
	fl.StringVar(&f.asOf, "as-of", "", "judge indicators' ages as of `DATE` (YYYY-MM-DD), recorded in OUT for later runs")
	fl.StringVar(&f.expire, "expire", "", "lifetimes per kind over the defaults, e.g. ip=30d,domain=180d,url=4w,hash=never")
	return cmd
}

// defaultCache is rulegen's directory in the user's cache ($XDG_CACHE_HOME, ~/.cache), or off
// where there is none.
func defaultCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "off"
	}
	return filepath.Join(dir, "rulegen")
}

func (f generateFlags) outputOptions() (output.Options, error) {
	out := output.Options{Out: f.out, Prune: f.prune, Compiled: f.compiled, AttackLayer: f.attackLayer, Changes: f.changes, ChangesFormat: f.changesFormat}
	if f.changesFormat != "markdown" && f.changesFormat != "json" {
		return out, usageError{fmt.Errorf("--changes-format %q: want markdown or json", f.changesFormat)}
	}
	if f.asOf != "" {
		if _, err := time.Parse(time.DateOnly, f.asOf); err != nil {
			return out, usageError{fmt.Errorf("--as-of %q: want YYYY-MM-DD", f.asOf)}
		}
	}
	days, err := normalize.ParseAge(f.retention)
	if err != nil || days < 0 {
		return out, usageError{fmt.Errorf("--retention %q: want a number of days, weeks or years (180d, 26w, 1y)", f.retention)}
	}
	out.Retention = max(days, 1)
	if out.Pipeline, err = f.pipelineOptions(); err != nil {
		return out, err
	}
	// Given now, or "" and nil: output settles them against what the last run recorded.
	out.Pipeline.Normalize.Expiry.AsOf = f.asOf
	if f.expire != "" {
		if out.Pipeline.Normalize.Expiry.Days, err = normalize.ParseLifetimes(f.expire); err != nil {
			return out, usageError{fmt.Errorf("--expire: %w", err)}
		}
	}
	return out, nil
}

func (f generateFlags) pipelineOptions() (pipeline.Options, error) {
	opts := pipeline.Options{Render: render.Options{Author: f.author}, Parse: parse.Options{Limits: f.limits}, Workers: f.jobs, KeepGoing: f.keepGoing}
	if f.cache != "off" {
		opts.CacheDir = f.cache
	}
	if f.limits.FileBytes <= 0 || f.limits.Depth <= 0 || f.limits.Attributes <= 0 || f.maxValueBytes <= 0 {
		return opts, usageError{fmt.Errorf("--max-input-bytes, --max-depth, --max-attributes and --max-value-bytes must be positive")}
	}
	if f.bulkC2 < 0 {
		return opts, usageError{fmt.Errorf("--yara-bulk-c2 %d: want 0 (every report) or more", f.bulkC2)}
	}
	var err error
	if opts.Parse.Format, err = parse.ParseFormat(f.format); err != nil {
		return opts, usageError{fmt.Errorf("--format: %w", err)}
	}
	if f.date != "" {
		if _, err := time.Parse(time.DateOnly, f.date); err != nil {
			return opts, usageError{fmt.Errorf("--date %q: want YYYY-MM-DD", f.date)}
		}
	}
	opts.Parse.Title, opts.Parse.Date = f.title, f.date
	if opts.MaxTLP, err = normalize.ParseTLP(f.maxTLP); err != nil {
		return opts, usageError{fmt.Errorf("--max-tlp: %w", err)}
	}
	if opts.Render.Layout, err = render.ParseLayout(f.layout); err != nil {
		return opts, usageError{fmt.Errorf("--yara-layout: %w", err)}
	}
	if opts.Render.Case, err = render.ParseCase(f.yaraCase); err != nil {
		return opts, usageError{fmt.Errorf("--yara-case: %w", err)}
	}
	if f.templates != "" {
		info, err := os.Stat(f.templates)
		if err != nil || !info.IsDir() {
			return opts, usageError{fmt.Errorf("--templates %s: not a directory", f.templates)}
		}
		opts.Render.Templates = os.DirFS(f.templates)
	}
	opts.Normalize.AllAttributes = f.allAttributes
	opts.Normalize.MaxValueBytes = f.maxValueBytes
	opts.Normalize.MaxFullC2 = cmp.Or(f.bulkC2, normalize.EveryReportBulk)
	opts.WarninglistDirs = f.warninglists
	return opts, nil
}

func runGenerate(ctx context.Context, stdout, stderr io.Writer, log *slog.Logger, f generateFlags, args []string) error {
	opts, err := f.outputOptions()
	if err != nil {
		return err
	}
	opts.Log = log
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	bar := newProgress(stderr)
	defer bar.stop()
	opts.OnInputs, opts.Pipeline.InputDone = bar.start, bar.inputDone
	if f.check {
		cmp, err := output.Check(ctx, args, opts)
		bar.stop()
		if err != nil {
			return err
		}
		cmp.Write(stdout)
		if cmp.Stale() {
			return errFailed
		}
		return nil
	}
	sum, err := output.Generate(ctx, args, opts)
	bar.stop()
	if sum != nil {
		sum.Write(stdout)
	}
	if errors.Is(err, output.ErrInputsFailed) {
		return errFailed // the summary named them
	}
	return err
}
