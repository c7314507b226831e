// Package runreport holds what a run reports beside its rules: its closing summary, the
// change log of a rules repository, the ATT&CK Navigator layer of its Sigma rules, and the
// report index each later run reads them from.
package runreport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
)

// IndexDir holds one small file per report, what the run wrote for it: a later run reads the
// old one of each report it writes, to say what changed, and those of the reports it did not
// write, to say which are gone or to keep a failed input's rules. One file per report keeps
// memory flat however large the feed, and changes local in a diff.
const IndexDir = pipeline.IndexDirName // a walk of the inputs knows it: see pipeline.FindInputs

// ReportIndex is what a run wrote for one report.
type ReportIndex struct {
	ID     string   `json:"id"`
	Source string   `json:"source"` // the input file, as given
	Title  string   `json:"title"`
	Files  []string `json:"files"`  // slash paths below the output directory
	Values []string `json:"values"` // report.Values: what its rules detect
	// What `export` needs beside the rules: the report's date, TLP and techniques, and its
	// indicators as EDR lists take them, with their expiry.
	Date       string              `json:"date,omitempty"`
	TLP        string              `json:"tlp,omitempty"`
	Techniques []string            `json:"techniques,omitempty"`
	Indicators []report.Deployable `json:"indicators,omitempty"`
}

func indexPath(slug string) string { return IndexDir + "/" + slug + ".json" }

// NewIndex notes what a report's outcome wrote.
func NewIndex(o *pipeline.Outcome) *ReportIndex {
	t := o.Tally
	ri := &ReportIndex{ID: t.ID, Source: t.Source, Title: t.Title, Values: t.Values, Date: t.Date, TLP: t.TLP,
		Techniques: t.Techniques, Indicators: t.Deployables}
	for _, f := range o.Files {
		ri.Files = append(ri.Files, f.Path)
	}
	slices.Sort(ri.Files)
	return ri
}

// File is the index as the run writes it, for the report of slug: JSON as json.MarshalIndent
// writes it with two spaces, but each indicator on one line, written into one buffer of about
// its size. A bulk list's index is
// tens of megabytes, which MarshalIndent would hold three times over (its growing buffer,
// the compact form, the indented copy) beside the report's rules.
func (ri *ReportIndex) File(slug string) render.File {
	size := 128 + len(ri.ID) + len(ri.Source) + len(ri.Title)
	for _, list := range [][]string{ri.Files, ri.Values, ri.Techniques} {
		for _, v := range list {
			size += len(v) + 8
		}
	}
	for _, d := range ri.Indicators {
		size += len(d.Value) + len(d.Name) + 64
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.WriteString("{\n")
	field(b, "id", ri.ID)
	field(b, "source", ri.Source)
	field(b, "title", ri.Title)
	listField(b, "files", ri.Files)
	b.WriteString(",\n")
	listField(b, "values", ri.Values)
	if ri.Date != "" {
		fmt.Fprintf(b, ",\n  \"date\": %s", quote(ri.Date))
	}
	if ri.TLP != "" {
		fmt.Fprintf(b, ",\n  \"tlp\": %s", quote(ri.TLP))
	}
	if len(ri.Techniques) > 0 {
		b.WriteString(",\n")
		listField(b, "techniques", ri.Techniques)
	}
	if len(ri.Indicators) > 0 {
		// One indicator a line: a bulk list's index stays a line per value, as its values are.
		b.WriteString(",\n  \"indicators\": [")
		for i, d := range ri.Indicators {
			if i > 0 {
				b.WriteString(",")
			}
			data, _ := json.Marshal(d)
			b.WriteString("\n    ")
			b.Write(data)
		}
		b.WriteString("\n  ]")
	}
	b.WriteString("\n}\n")
	return render.File{Path: indexPath(slug), Body: b.Bytes()}
}

func field(b *bytes.Buffer, name, value string) {
	fmt.Fprintf(b, "  %s: %s,\n", quote(name), quote(value))
}

// listField writes a list as MarshalIndent does: null when nil, [] when empty, one a line.
func listField(b *bytes.Buffer, name string, values []string) {
	fmt.Fprintf(b, "  %s: ", quote(name))
	switch {
	case values == nil:
		b.WriteString("null")
	case len(values) == 0:
		b.WriteString("[]")
	default:
		b.WriteString("[")
		for i, v := range values {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n    ")
			b.WriteString(quote(v))
		}
		b.WriteString("\n  ]")
	}
}

// quote is a string as encoding/json writes it (HTML characters escaped, as MarshalIndent).
func quote(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}

// DecodeIndex reads the index file at rel below the output directory.
func DecodeIndex(rel string, data []byte) (*ReportIndex, error) {
	var ri ReportIndex
	if err := json.Unmarshal(data, &ri); err != nil {
		return nil, fmt.Errorf("%s: not rulegen's report index (remove it): %v", rel, err)
	}
	return &ri, nil
}

// DeprecatedDir is where retired Sigma rules are kept, below sigma/: SigmaHQ's layout.
const DeprecatedDir = "sigma/deprecated"

// Retirement is what a pruning run did with the files nothing produces any more: YARA rules
// and skip lists go; a Sigma rule is deprecated into DeprecatedDir, where it stays for the
// retention period, or until its report makes it again.
type Retirement struct {
	Retired []Retired // Sigma rules deprecated by this run
	Expired []string  // deprecated rules removed after the retention period
	Revived []string  // deprecated rules removed because their rule is made again
}

// Retired is a Sigma rule moved to DeprecatedDir.
type Retired struct{ From, To string }

// FailedInput is an input of a run that kept going that could not be read or did not make
// valid rules, with the files of its last good run that were kept.
type FailedInput struct {
	Input, Reason string
	Kept          []string
}
