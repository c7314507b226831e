package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// StateName is the file in a reports directory that remembers its pulls: committed with the
// events, so that a CI job resumes where the last one stopped. Hidden, so that generate does
// not read it as a report.
const StateName = ".rulegen-pull.json"

// State is what a pull remembers. It holds no time of its own: the same pull of the same
// source writes the same bytes.
type State struct {
	Source  Kind             `json:"source"`
	URL     string           `json:"url"`
	Filters Filters          `json:"filters"`
	ETag    string           `json:"etag,omitempty"` // the feed manifest's
	Events  map[string]int64 `json:"events"`         // event uuid → its timestamp when pulled
	// HighWater is the newest event timestamp seen: a MISP pull asks for events changed since.
	HighWater int64 `json:"high_water,omitempty"`
	// AddedAfter is the newest X-TAXII-Date-Added-Last a TAXII server sent: the next pull asks
	// for objects added after it. A TAXII pull's Events are object ids and their versions
	// (modified, in Unix milliseconds).
	AddedAfter string `json:"added_after,omitempty"`
}

// Filters select the events a pull keeps; they are part of the state, so that a pull with
// other filters starts over.
type Filters struct {
	Tags        []string `json:"tags,omitempty"` // any of these; "!tag" excludes
	Since       int64    `json:"since,omitempty"`
	Org         string   `json:"org,omitempty"`
	Published   *bool    `json:"published,omitempty"`
	ToIDs       *bool    `json:"to_ids,omitempty"`
	ThreatLevel int      `json:"threat_level,omitempty"`
}

func (f Filters) equal(g Filters) bool {
	a, _ := json.Marshal(f)
	b, _ := json.Marshal(g)
	return bytes.Equal(a, b)
}

// loadState reads the state of dir; a directory without one has an empty state.
func loadState(dir string) (*State, error) {
	path := filepath.Join(dir, StateName)
	data, err := readIfExists(dir, StateName)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return &State{Events: map[string]int64{}}, nil
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: not a pull state (remove it to pull anew): %v", path, err)
	}
	if s.Events == nil {
		s.Events = map[string]int64{}
	}
	return &s, nil
}

// readIfExists reads dir/name; a file that does not exist reads as nil.
func readIfExists(dir, name string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// encode writes the state with sorted keys and a final newline.
func (s *State) encode() []byte {
	data, _ := json.MarshalIndent(s, "", "  ") // maps are written in key order
	return append(data, '\n')
}

// Kind is the kind of source a pull reads.
type Kind string

const (
	KindFeed  Kind = "feed"  // a MISP feed: manifest.json and one file per event
	KindMISP  Kind = "misp"  // a MISP instance's REST API
	KindTAXII Kind = "taxii" // a TAXII 2.1 collection
)

// sameSource says whether the state was pulled from source with filters: only then do its
// ETag, timestamps and high water mean anything for this pull.
func (s *State) sameSource(kind Kind, url string, f Filters) bool {
	return s.Source == kind && s.URL == url && s.Filters.equal(f)
}

// eventFile is where an event is kept in the reports directory.
func eventFile(uuid string) string { return uuid + ".json" }

// eventFiles lists the event files a directory holds, by uuid.
func eventFiles(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && report.IsUUID(name) && !e.IsDir() {
			out[name] = true
		}
	}
	return out, nil
}

// sortedKeys lists a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
