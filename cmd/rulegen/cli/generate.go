package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
)

type generateFlags struct {
	out       string
	templates string
	author    string
}

func newGenerate(stdout io.Writer, logger func() *slog.Logger) *cobra.Command {
	var f generateFlags
	cmd := &cobra.Command{
		Use:   "generate [flags] INPUT...",
		Short: "Write YARA and Sigma rules (and a skip list) for each report",
		Long: `generate reads threat reports (files, or directories of them) and writes
  OUT/yara/<slug>.yar                the YARA rules of each report
  OUT/sigma/<slug>/<category>_*.yml  one Sigma rule per log source category
  OUT/skipped/<slug>.tsv             the values that made no rule, with the reason
Nothing is written unless every input parses, every YARA rule compiles and every
Sigma rule validates.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("generate needs at least one INPUT report file or directory")}
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			return runGenerate(stdout, logger(), f, args)
		},
	}
	cmd.Flags().StringVarP(&f.out, "out", "o", "rules", "output directory")
	cmd.Flags().StringVar(&f.templates, "templates", "", "directory whose yara/*.tmpl and sigma/*.tmpl files override the built-in templates by name")
	cmd.Flags().StringVar(&f.author, "author", "rulegen", "author written into every rule")
	return cmd
}

func runGenerate(stdout io.Writer, log *slog.Logger, f generateFlags, args []string) error {
	inputs, err := pipeline.Inputs(args)
	if err != nil {
		return err
	}
	opts := pipeline.Options{Author: f.author}
	if f.templates != "" {
		info, err := os.Stat(f.templates)
		if err != nil || !info.IsDir() {
			return usageError{fmt.Errorf("--templates %s: not a directory", f.templates)}
		}
		opts.Templates = os.DirFS(f.templates)
	}
	log.Debug("generating", "inputs", len(inputs), "out", f.out)
	res, err := pipeline.Run(inputs, opts)
	if err != nil {
		return err
	}
	if !res.CompileCheck {
		log.Warn("built without cgo: YARA output was not compile-checked")
	}
	written, err := render.Write(f.out, res.Files)
	if err != nil {
		return err
	}
	for _, r := range res.Reports {
		printReport(stdout, r, res.Files)
	}
	fmt.Fprintf(stdout, "%d reports, %d files in %s (%d written, %d unchanged)\n",
		len(res.Reports), len(res.Files), f.out, written, len(res.Files)-written)
	return nil
}

// printReport prints one report's line of the run summary and its skip list.
func printReport(w io.Writer, r *report.Report, files []render.File) {
	var outputs []string
	for _, f := range files {
		if f.Path == "yara/"+r.Slug+".yar" || path.Dir(f.Path) == "sigma/"+r.Slug {
			outputs = append(outputs, f.Path)
		}
	}
	fmt.Fprintf(w, "%s: %q → %s\n", r.Source, r.Title, strings.Join(outputs, ", "))
	fmt.Fprintf(w, "  %d samples, %d dropped files, %d registry values, %d domains, %d endpoints, %d URLs, %d mutexes; %d skipped\n",
		len(r.Samples()), len(r.Files)-len(r.Samples()), len(r.Registry), len(r.Domains)+len(r.Hostnames),
		len(r.Endpoints), len(r.URLs), len(r.Mutexes), len(r.Skipped))
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "  skipped %s %s %q: %s\n", s.Source, s.Kind, s.Value, s.Reason)
	}
}
