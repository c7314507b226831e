// Package pipeline wires the stages: parse → normalize → render → verify. It holds no detection
// or formatting logic of its own.
package pipeline

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/sigma"
	"github.com/rulegen/rulegen/generate/yara"
)

// Options configure a run.
type Options struct {
	Author    string
	Templates fs.FS // template overrides; nil for the embedded templates
}

// Result is what a run produced, before anything is written.
type Result struct {
	Reports      []*report.Report
	Files        []render.File
	CompileCheck bool // whether the YARA output was compiled with libyara
}

// reportExtensions are the file names a directory input contributes.
var reportExtensions = []string{".md", ".markdown"}

// Inputs expands directories into the report files they hold, sorted; files are kept as given.
func Inputs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		info, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if !info.IsDir() {
			out = append(out, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && slices.Contains(reportExtensions, strings.ToLower(filepath.Ext(p))) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", a, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no report files in %s", strings.Join(args, ", "))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Run reads every input and renders the rules in memory. Any bad input fails the whole run, so
// that a caller writes all of the output or none of it.
func Run(inputs []string, opts Options) (*Result, error) {
	rd, err := render.New(render.Options{Author: opts.Author, Templates: opts.Templates})
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for _, in := range inputs {
		r, err := parse.File(in) // its errors name the file and line
		if err != nil {
			return nil, err
		}
		if err := normalize.Report(r); err != nil {
			return nil, err
		}
		res.Reports = append(res.Reports, r)
	}
	render.UniqueSlugs(res.Reports)
	if res.Files, err = rd.Render(res.Reports); err != nil {
		return nil, err
	}
	if err := validateSigma(res.Files); err != nil {
		return nil, err
	}
	if yara.Available {
		if err := compileYARA(res.Files); err != nil {
			return nil, err
		}
		res.CompileCheck = true
	}
	return res, nil
}

// validateSigma proves every rendered Sigma rule meets the schema and parses with sigma-go.
func validateSigma(files []render.File) error {
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yml") {
			if _, err := sigma.Load(f.Path, f.Body); err != nil {
				return fmt.Errorf("generated Sigma is invalid (a template or escaping defect):\n%w", err)
			}
		}
	}
	return nil
}

// compileYARA proves every rendered YARA file compiles clean before anything is written.
func compileYARA(files []render.File) error {
	var sources []yara.Source
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") {
			sources = append(sources, yara.Source{Name: f.Path, Text: string(f.Body)})
		}
	}
	if len(sources) == 0 {
		return nil
	}
	if _, err := yara.Compile(sources...); err != nil {
		return fmt.Errorf("generated YARA does not compile (a template or escaping defect):\n%w", err)
	}
	return nil
}
