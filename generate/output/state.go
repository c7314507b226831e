package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/pipeline"
)

// RunStateName is the file in the output directory that records what a later run needs: the
// date ages were judged against and the expiry policy (so that it reproduces this run), and
// each report's input, files and values (so that it can say what changed, and keep a failed
// input's rules). It is committed with the rules.
const RunStateName = ".rulegen-generate.json"

// RunState is what RunStateName holds. It holds no time of the run itself.
type RunState struct {
	AsOf    string                  `json:"as_of,omitempty"`
	Expire  string                  `json:"expire,omitempty"` // normalize.FormatLifetimes
	Reports map[string]*ReportState `json:"reports"`          // by report id
}

// ReportState is what a run wrote for one report.
type ReportState struct {
	Source string   `json:"source"` // the input file, as given
	Slug   string   `json:"slug"`
	Title  string   `json:"title"`
	Files  []string `json:"files"`  // slash paths below the output directory
	Values []string `json:"values"` // report.Values: what its rules detect
}

func readRunState(dir string) (*RunState, error) {
	path := filepath.Join(dir, RunStateName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &RunState{}, nil
	}
	if err != nil {
		return nil, err
	}
	var s RunState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: not rulegen's run state (remove it to start anew): %v", path, err)
	}
	return &s, nil
}

// record notes what a report's outcome wrote.
func (s *RunState) record(o *pipeline.Outcome) {
	r := o.Report
	rs := &ReportState{Source: r.Source, Slug: r.Slug, Title: r.Title, Values: r.Values()}
	for _, f := range o.Files {
		rs.Files = append(rs.Files, f.Path)
	}
	slices.Sort(rs.Files)
	s.Reports[r.ID] = rs
}

func (s *RunState) file() File {
	data, _ := json.MarshalIndent(s, "", "  ")
	return File{Path: RunStateName, Body: append(data, '\n')}
}

// expiry settles the run's expiry from the options and what the last run recorded: a date or
// policy given now wins; else the recorded one holds, so that a run without flags (generate
// --check in CI) reproduces the last. It returns the state this run starts to record.
func expiry(recorded *RunState, opts *Options) (*RunState, error) {
	asOf := opts.AsOf
	if asOf == "" {
		asOf = recorded.AsOf
	}
	if asOf == "" {
		return &RunState{Reports: map[string]*ReportState{}}, nil
	}
	var err error
	if _, err := time.Parse(time.DateOnly, asOf); err != nil {
		return nil, fmt.Errorf("as-of date %q: want YYYY-MM-DD", asOf)
	}
	days := opts.Lifetimes
	if days == nil && recorded.Expire != "" {
		if days, err = normalize.ParseLifetimes(recorded.Expire); err != nil {
			return nil, fmt.Errorf("%s: expire: %w", RunStateName, err)
		}
	}
	if days == nil {
		days = normalize.DefaultLifetimes()
	}
	opts.Pipeline.Normalize.Expiry = normalize.Expiry{AsOf: asOf, Days: days}
	return &RunState{AsOf: asOf, Expire: normalize.FormatLifetimes(days), Reports: map[string]*ReportState{}}, nil
}
