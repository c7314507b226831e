// Package verify proves a rules directory, whoever wrote it: the checks of `rulegen test` (the
// rules compile, validate, match their fixtures and events, and leave benign files alone) and
// of `rulegen lint` (the rules are well made). Both report cases that print as a table, JSON or
// JUnit XML.
package verify

import (
	"cmp"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/atomicfile"
)

// Status is the outcome of one case.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail" // an error: the gate fails
	Warn Status = "warn" // worth a look; fails only where the caller says so
)

// Case is one check of one thing: a file compiled, a fixture scanned, a lint finding.
type Case struct {
	Suite   string `json:"suite"` // yara-compile, sigma-validate, yara-fixtures, sigma-events, benign, lint
	Name    string `json:"name"`  // what was checked: a file, a fixture, an event, a lint check
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Status  Status `json:"status"`
	Message string `json:"message,omitempty"`
}

// Where is file:line, or the file alone.
func (c Case) Where() string {
	if c.Line > 0 {
		return fmt.Sprintf("%s:%d", c.File, c.Line)
	}
	return c.File
}

// Count returns how many cases have the status.
func Count(cases []Case, s Status) int {
	n := 0
	for _, c := range cases {
		if c.Status == s {
			n++
		}
	}
	return n
}

// sortCases orders cases by suite, file, line and name, so every report reads the same twice.
func sortCases(cases []Case) {
	slices.SortStableFunc(cases, func(a, b Case) int {
		return cmp.Or(strings.Compare(a.Suite, b.Suite), strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Name, b.Name))
	})
}

// suites lists the suites of cases in order of first appearance.
func suites(cases []Case) []string {
	var out []string
	for _, c := range cases {
		if !slices.Contains(out, c.Suite) {
			out = append(out, c.Suite)
		}
	}
	return out
}

// WriteTable writes a count per suite, then every failure and warning with where it is.
func WriteTable(w io.Writer, cases []Case) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %6s %6s %6s\n", "suite", "pass", "fail", "warn")
	for _, s := range suites(cases) {
		var in []Case
		for _, c := range cases {
			if c.Suite == s {
				in = append(in, c)
			}
		}
		fmt.Fprintf(&b, "%-16s %6d %6d %6d\n", s, Count(in, Pass), Count(in, Fail), Count(in, Warn))
	}
	for _, c := range cases {
		if c.Status == Pass {
			continue
		}
		label := "FAIL"
		if c.Status == Warn {
			label = "warn"
		}
		fmt.Fprintf(&b, "%s %s %s: %s: %s\n", label, c.Suite, c.Where(), c.Name, strings.ReplaceAll(c.Message, "\n", "\n    "))
	}
	fmt.Fprintf(&b, "%d cases: %d passed, %d failed, %d warnings\n", len(cases), Count(cases, Pass), Count(cases, Fail), Count(cases, Warn))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the cases with their totals.
func WriteJSON(w io.Writer, cases []Case) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Passed   int    `json:"passed"`
		Failed   int    `json:"failed"`
		Warnings int    `json:"warnings"`
		Cases    []Case `json:"cases"`
	}{Count(cases, Pass), Count(cases, Fail), Count(cases, Warn), orEmpty(cases)})
}

func orEmpty(cases []Case) []Case {
	if cases == nil {
		return []Case{}
	}
	return cases
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name  string      `xml:"name,attr"`
	Tests int         `xml:"tests,attr"`
	Fails int         `xml:"failures,attr"`
	Skips int         `xml:"skipped,attr"`
	Cases []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	File    string        `xml:"file,attr,omitempty"`
	Line    int           `xml:"line,attr,omitempty"`
	Failure *junitMessage `xml:"failure,omitempty"`
	Skipped *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML, one testsuite per suite. Failures are <failure>; warnings are
// <skipped> with their message, so CI systems show them without failing the build.
func WriteJUnit(w io.Writer, cases []Case) error {
	out := junitSuites{Tests: len(cases), Fails: Count(cases, Fail)}
	for _, s := range suites(cases) {
		js := junitSuite{Name: s}
		for _, c := range cases {
			if c.Suite != s {
				continue
			}
			jc := junitCase{Class: s, Name: c.Name, File: c.File, Line: c.Line}
			msg := &junitMessage{Message: firstLine(c.Message), Text: c.Where() + ": " + c.Message}
			switch c.Status {
			case Fail:
				msg.Type = "error"
				jc.Failure = msg
				js.Fails++
			case Warn:
				msg.Type = "warning"
				jc.Skipped = msg
				js.Skips++
			}
			js.Tests++
			js.Cases = append(js.Cases, jc)
		}
		out.Suites = append(out.Suites, js)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// SaveJUnit writes the cases as JUnit XML to path, whole or not at all: a CI job that reads it
// never sees half a report.
func SaveJUnit(path string, cases []Case) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return WriteJUnit(w, cases) }); err != nil {
		return fmt.Errorf("junit %s: %w", path, err)
	}
	return nil
}
