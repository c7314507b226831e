package yara

import (
	"fmt"
	"os"
	"strings"
)

// The types and helpers below need no libyara: builds without cgo have them too.

// Message is a compiler error or warning at a line of a named source.
type Message struct {
	File string
	Line int
	Rule string
	Text string
}

func (m Message) String() string {
	s := fmt.Sprintf("%s:%d: %s", m.File, m.Line, m.Text)
	if m.Rule != "" {
		s = fmt.Sprintf("%s:%d: rule %s: %s", m.File, m.Line, m.Rule, m.Text)
	}
	return s
}

// CompileError lists everything the compiler had to say about a source; warnings count as
// failures because generated rules must compile clean.
type CompileError struct {
	Errors, Warnings []Message
}

func (e *CompileError) Error() string {
	var lines []string
	for _, m := range e.Errors {
		lines = append(lines, "error: "+m.String())
	}
	for _, m := range e.Warnings {
		lines = append(lines, "warning: "+m.String())
	}
	return strings.Join(lines, "\n")
}

// Source is one YARA source file to compile.
type Source struct {
	Name string // shown in messages
	Text string
}

// Meta is one meta entry of a compiled rule.
type Meta struct {
	Rule, Key string
	Value     any
}

// ReadSources reads rule files, each named by its path.
func ReadSources(paths ...string) ([]Source, error) {
	var sources []Source
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read rules: %w", err)
		}
		sources = append(sources, Source{Name: p, Text: string(b)})
	}
	return sources, nil
}

// Hit is a file a ruleset matched.
type Hit struct {
	Path  string
	Rules []string
}
