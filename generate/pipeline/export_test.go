package pipeline

import (
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/yara"
)

// Test-only entry points: the tests of package pipeline_test drive the pipeline through them.

// Bytes runs the pipeline on one input held in memory, on the calling goroutine: the path
// fuzzing drives. Like Run, it returns the shared files in the Result.
func Bytes(name string, data []byte, opts Options, emit func(*Outcome) error) (*Result, error) {
	p, err := newRun(opts, emit)
	if err != nil {
		return nil, err
	}
	var reports []*report.Normalized
	if err := parse.Each(name, data, p.opts.Parse, func(parsed *report.Report) error {
		r, err := normalize.Report(parsed, p.opts.Normalize)
		if err != nil {
			return err
		}
		reports = append(reports, r)
		return nil
	}); err != nil {
		return nil, err
	}
	normalize.UniqueSlugs(reports)
	for _, r := range reports {
		if err := p.process(r, p.deliver); err != nil {
			return nil, err
		}
	}
	res := &Result{Reports: p.reports, CompileCheck: yara.Available}
	res.Shared, res.SharedRules, err = p.shared()
	return res, err
}

// CheckFiles runs the checks process runs on a report's rendered files: its Sigma validated and
// parsed, its YARA compiled. BenchmarkChecksFeed times them alone.
func CheckFiles(files []render.File) error {
	if _, err := validateSigma(files); err != nil {
		return err
	}
	if yara.Available {
		_, err := compileYARA(files)
		return err
	}
	return nil
}
