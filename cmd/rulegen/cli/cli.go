// Package cli is rulegen's command line: flags, exit codes, messages. It holds no detection
// logic; the commands call the generate packages.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1 // bad input, rules that fail, I/O errors
	ExitUsage = 2 // bad flags or arguments
)

// usageError marks errors in how rulegen was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Run runs rulegen with args and returns the exit code. All output goes to stdout and stderr,
// so tests run commands in-process.
func Run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	var usage usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errFailed):
		return ExitFail // the report above says what failed
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "rulegen: %v\nRun 'rulegen --help' for usage.\n", err)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "rulegen: %v\n", err)
		return ExitFail
	}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:           "rulegen",
		Short:         "Turn threat reports into YARA and Sigma rules, and prove them",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log each step")
	root.PersistentFlags().String("config", "", "read flags from `FILE` (default rulegen.yaml, when it is there); flags given override it")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	logger := func() *slog.Logger {
		level := slog.LevelWarn
		if verbose {
			level = slog.LevelDebug
		}
		return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	}
	root.AddCommand(newGenerate(stdout, stderr, logger), newPull(stdout, stderr), newTest(stdout), newLint(stdout), newExport(stdout), newVersion(stdout))
	var showVersion bool
	root.Flags().BoolVar(&showVersion, "version", false, "print rulegen's version and exit")
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if showVersion {
			return printVersion(stdout, false)
		}
		return cmd.Help()
	}
	return root
}

// noArgs refuses arguments as a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
	}
	return nil
}
