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

// RunStateName is the file in the output directory that records what a later run needs to
// reproduce this one: the date ages were judged against and the expiry policy. It is committed
// with the rules; it holds no time of the run itself.
const RunStateName = ".rulegen-generate.json"

// RunState is what RunStateName holds.
type RunState struct {
	AsOf   string `json:"as_of,omitempty"`
	Expire string `json:"expire,omitempty"` // normalize.FormatLifetimes
}

// IndexDir holds one small file per report, what the run wrote for it: a later run reads the
// old one of each report it writes, to say what changed, and those of the reports it did not
// write, to say which are gone or to keep a failed input's rules. One file per report keeps
// memory flat however large the feed, and changes local in a diff.
const IndexDir = ".rulegen/reports"

// ReportIndex is what a run wrote for one report.
type ReportIndex struct {
	ID     string   `json:"id"`
	Source string   `json:"source"` // the input file, as given
	Title  string   `json:"title"`
	Files  []string `json:"files"`  // slash paths below the output directory
	Values []string `json:"values"` // report.Values: what its rules detect
}

func indexPath(slug string) string { return IndexDir + "/" + slug + ".json" }

// newIndex notes what a report's outcome wrote.
func newIndex(o *pipeline.Outcome) *ReportIndex {
	t := o.Tally
	ri := &ReportIndex{ID: t.ID, Source: t.Source, Title: t.Title, Values: t.Values}
	for _, f := range o.Files {
		ri.Files = append(ri.Files, f.Path)
	}
	slices.Sort(ri.Files)
	return ri
}

func (ri *ReportIndex) file(slug string) File {
	data, _ := json.MarshalIndent(ri, "", "  ")
	return File{Path: indexPath(slug), Body: append(data, '\n')}
}

// decodeIndex reads the index file at rel below the output directory.
func decodeIndex(rel string, data []byte) (*ReportIndex, error) {
	var ri ReportIndex
	if err := json.Unmarshal(data, &ri); err != nil {
		return nil, fmt.Errorf("%s: not rulegen's report index (remove it): %v", rel, err)
	}
	return &ri, nil
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
		return nil, fmt.Errorf("%s: not rulegen's run state (remove it, or pass --as-of): %v", path, err)
	}
	return &s, nil
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
		return &RunState{}, nil
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
	return &RunState{AsOf: asOf, Expire: normalize.FormatLifetimes(days)}, nil
}
