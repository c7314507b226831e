package yara

import (
	"fmt"
	"os"
	"strings"
	"unicode"
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

// Declaration is a rule a source declares, and the line it starts on.
type Declaration struct {
	Name string
	Line int
}

// Declarations lists the rules declared in source, read line by line: a line whose first words
// are "rule NAME", after "private" or "global". It does not parse YARA: comments and strings
// spanning lines are not recognised, which is safe for sources libyara accepted and that
// start each rule on its own line, as generated files do.
func Declarations(source string) []Declaration {
	var out []Declaration
	n := 0
	for line := range strings.Lines(source) {
		n++
		word, rest := firstWord(line)
		for word == "private" || word == "global" {
			word, rest = firstWord(rest)
		}
		if word != "rule" {
			continue
		}
		name, _ := firstWord(rest)
		name, _, _ = strings.Cut(name, ":")
		name, _, _ = strings.Cut(name, "{")
		if name != "" {
			out = append(out, Declaration{Name: name, Line: n})
		}
	}
	return out
}

// firstWord splits s after its first run of non-space characters, as strings.Fields would cut
// it, without making the list: a bulk list's YARA has millions of lines.
func firstWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	end := strings.IndexFunc(s, unicode.IsSpace)
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}
