package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rulegen/rulegen/generate/verify"
)

// errFailed reports that checks failed; the cases already said which, so exitCode prints no
// more than this line.
var errFailed = errors.New("checks failed")

// reportFlags are the output flags `test` and `lint` share.
type reportFlags struct {
	json  bool
	junit string
}

func (f *reportFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.json, "json", false, "write the results as JSON on stdout instead of a table")
	cmd.Flags().StringVar(&f.junit, "junit", "", "also write the results as JUnit XML to `FILE`")
}

// write prints the cases and writes the JUnit file, then says whether the gate holds.
func (f *reportFlags) write(stdout io.Writer, cases []verify.Case, failOnWarnings bool) error {
	write := verify.WriteTable
	if f.json {
		write = verify.WriteJSON
	}
	if err := write(stdout, cases); err != nil {
		return err
	}
	if f.junit != "" {
		if err := verify.SaveJUnit(f.junit, cases); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if verify.Count(cases, verify.Fail) > 0 || failOnWarnings && verify.Count(cases, verify.Warn) > 0 {
		return errFailed
	}
	return nil
}

// rulesDir is the DIR argument of test and lint, "rules" when it is left out.
func rulesDir(args []string) string {
	if len(args) == 0 {
		return "rules"
	}
	return args[0]
}

func maxOneDir(_ *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usageError{fmt.Errorf("want at most one rules DIR, got %d arguments", len(args))}
	}
	return nil
}

func newTest(stdout io.Writer) *cobra.Command {
	var opts verify.TestOptions
	var out reportFlags
	cmd := &cobra.Command{
		Use:   "test [flags] [DIR]",
		Short: "Prove a rules directory: compile, validate, fixtures, events, benign files",
		Long: `test checks the rules under DIR (default rules):
  every .yar/.yara compiles with libyara, alone and all together (errors fail;
    warnings fail unless --allow-warnings)
  every .yml/.yaml Sigma rule meets the Sigma schema and SigmaHQ conventions and
    parses with sigma-go
  --fixtures MANIFEST  each fixture file matches exactly the YARA rules it lists
  --events PATH        each event fires exactly the Sigma rules it lists
  --benign PATH        no YARA rule matches any file under PATH
It prints a table (or --json) and exits 0 when all hold, 1 when any fails.
The manifest and event formats are described in the README ("A CI gate").`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			cases, err := verify.Test(cmd.Context(), rulesDir(args), opts)
			if err != nil {
				return err
			}
			return out.write(stdout, cases, false)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.AllowWarnings, "allow-warnings", false, "let YARA compiler warnings pass (they are still reported)")
	fl.StringArrayVar(&opts.Fixtures, "fixtures", nil, "YARA fixture manifest `FILE` (repeatable)")
	fl.StringArrayVar(&opts.Events, "events", nil, "Sigma event cases: a .jsonl `PATH` or a directory of them (repeatable)")
	fl.StringArrayVar(&opts.Benign, "benign", nil, "file or directory `PATH` no YARA rule may match (repeatable)")
	fl.StringVar(&opts.Compiled, "yara-compiled", "", "compiled YARA rules `FILE` (generate --yara-compiled, yarac): must hold DIR's rules, and is what fixtures and benign files are scanned with")
	out.register(cmd)
	return cmd
}

func newLint(stdout io.Writer) *cobra.Command {
	var opts verify.LintOptions
	var out reportFlags
	var strict bool
	cmd := &cobra.Command{
		Use:   "lint [flags] [DIR]",
		Short: "Check that the rules in a directory are well made",
		Long: `lint reports, with file:line and a severity:
  errors    duplicate YARA rule names across files, duplicate Sigma ids, missing
            required YARA meta (description, author, date) or Sigma fields, YARA
            rules that match an empty file, files that do not compile or parse
  warnings  YARA strings under 4 bytes (poor atoms), Sigma fields listing more
            than --max-values values, revoked or deprecated ATT&CK ids in YARA
            meta or Sigma tags, a missing reference
It exits 1 on any error (and on warnings with --strict).`,
		Args: maxOneDir,
		RunE: func(_ *cobra.Command, args []string) error {
			cases, err := verify.Lint(rulesDir(args), opts)
			if err != nil {
				return err
			}
			return out.write(stdout, cases, strict)
		},
	}
	cmd.Flags().IntVar(&opts.MaxValues, "max-values", verify.DefaultMaxValues, "most values one Sigma field may list")
	cmd.Flags().BoolVar(&strict, "strict", false, "fail on warnings too")
	out.register(cmd)
	return cmd
}
