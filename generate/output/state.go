package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/pipeline"
)

// RunStateName is the file in the output directory that records what a later run needs to
// reproduce this one: the date ages were judged against and the expiry policy. It is committed
// with the rules; it holds no time of the run itself.
const RunStateName = pipeline.RunStateName // a walk of the inputs knows it: see pipeline.FindInputs

// RunState is what RunStateName holds.
type RunState struct {
	AsOf   string `json:"as_of,omitempty"`
	Expire string `json:"expire,omitempty"` // normalize.FormatLifetimes
	// FirstMade are the days rulegen first made the rules of publications that state no date,
	// by input: their rules keep that date on later runs, and --check reproduces it.
	FirstMade map[string]string `json:"first_made,omitempty"`
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

// expiry settles the run's expiry (opts.Pipeline.Normalize.Expiry) from what it was given and
// what the last run recorded: a date or policy given now wins; else the recorded one holds, so
// that a run without flags (generate --check in CI) reproduces the last; a date without a policy
// takes the default lifetimes. It returns the state this run starts to record.
func expiry(recorded *RunState, opts *Options) (*RunState, error) {
	given := opts.Pipeline.Normalize.Expiry
	asOf := given.AsOf
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
	days := given.Days
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
