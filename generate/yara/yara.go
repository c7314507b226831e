//go:build cgo

// Package yara compiles and runs generated rules with libyara (through go-yara). It is the only
// package that needs cgo.
package yara

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	yr "github.com/hillu/go-yara/v4"
)

// Available says whether this build can compile and scan (it needs cgo and libyara).
const Available = true

// Rules is a compiled ruleset.
type Rules struct{ rules *yr.Rules }

// Compile compiles sources into one ruleset and fails on any
// error or warning.
func Compile(sources ...Source) (*Rules, error) {
	rules, warnings, err := CompileLenient(sources...)
	if err != nil {
		return nil, err
	}
	if len(warnings) > 0 {
		rules.Destroy()
		return nil, &CompileError{Warnings: warnings}
	}
	return rules, nil
}

// CompileLenient compiles sources into one ruleset, failing on errors only, and returns the
// warnings: `rulegen test --allow-warnings` accepts rules written elsewhere that warn.
func CompileLenient(sources ...Source) (*Rules, []Message, error) {
	c, err := yr.NewCompiler()
	if err != nil {
		return nil, nil, fmt.Errorf("yara compiler: %w", err)
	}
	defer c.Destroy()
	var warnings []Message
	if err := add(c, sources, ""); err != nil {
		ce := err.(*CompileError)
		if len(ce.Errors) > 0 {
			return nil, nil, err
		}
		warnings = ce.Warnings
	}
	rules, err := c.GetRules()
	if err != nil {
		return nil, nil, fmt.Errorf("yara rules: %w", err)
	}
	return &Rules{rules: rules}, warnings, nil
}

// Save writes the compiled rules in libyara's format (what `yarac` writes and `yara -C` and
// engines that load compiled rules read) to path, atomically: a temporary file beside it is
// renamed into place.
func (r *Rules) Save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save compiled rules: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := r.rules.Save(tmp.Name()); err != nil {
		return fmt.Errorf("save compiled rules %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("save compiled rules: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save compiled rules: %w", err)
	}
	return nil
}

// Load reads rules compiled by Save or by yarac.
func Load(path string) (*Rules, error) {
	rules, err := yr.LoadRules(path)
	if err != nil {
		return nil, fmt.Errorf("load compiled rules %s: %w", path, err)
	}
	return &Rules{rules: rules}, nil
}

// Destroy frees the compiled rules at once rather than at garbage collection.
func (r *Rules) Destroy() { r.rules.Destroy() }

// Metas lists every rule's meta entries, in rule order.
func (r *Rules) Metas() []Meta {
	var out []Meta
	for _, rule := range r.rules.GetRules() {
		for _, m := range rule.Metas() {
			out = append(out, Meta{Rule: rule.Identifier(), Key: m.Identifier, Value: m.Value})
		}
	}
	return out
}

func messages(in []yr.CompilerMessage, file string) []Message {
	var out []Message
	for _, m := range in {
		msg := Message{File: file, Line: m.Line, Text: m.Text}
		if m.Rule != nil {
			msg.Rule = m.Rule.Identifier()
		}
		out = append(out, msg)
	}
	return out
}

// Check runs sources through libyara's compiler as Compile does, failing on any error or
// warning, and returns the names of the rules they declare. It stops before building the
// scanning automaton (yr_compiler_get_rules), which only lays out what the parser accepted and
// costs twice the parse: generate checks thousands of files and keeps none of them compiled.
// Tests and scans use Compile, which builds everything.
func Check(sources ...Source) ([]string, error) {
	total := 0
	for _, s := range sources {
		total += len(s.Text)
	}
	if total > pieceBytes {
		return checkInPieces(sources)
	}
	if err := checkTogether(sources, 0); err != nil {
		return nil, err
	}
	var names []string
	for _, s := range sources {
		for _, d := range Declarations(s.Text) {
			names = append(names, d.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// checkTogether adds sources to a reused compiler in a namespace of their own, so that their
// rule names meet only each other, as they would in a compiler of their own. lineOffset is
// added to the line numbers of what libyara says.
func checkTogether(sources []Source, lineOffset int) error {
	c, err := checkers.get()
	if err != nil {
		return err
	}
	c.uses++
	for _, s := range sources {
		c.bytes += len(s.Text)
	}
	err = add(c.Compiler, sources, fmt.Sprintf("check%d", c.uses))
	checkers.put(c, err)
	var fail *CompileError
	if errors.As(err, &fail) && lineOffset != 0 {
		for _, list := range [][]Message{fail.Errors, fail.Warnings} {
			for i := range list {
				list[i].Line += lineOffset
			}
		}
	}
	return err
}

// checkInPieces checks large sources piece by piece (pieces), each piece alone, and then what
// pieces cannot see of each other: a rule name declared twice. The names are sorted to find
// those, not counted in a map: a bulk list declares a million.
func checkInPieces(sources []Source) ([]string, error) {
	defer releaseCompilers()
	type declared struct {
		Declaration
		source int
	}
	var all []declared
	for i, s := range sources {
		for p := range pieces(s.Text, pieceBytes) {
			if err := checkTogether([]Source{{Name: s.Name, Text: p.text}}, p.firstLine-1); err != nil {
				return nil, err
			}
		}
		for _, d := range Declarations(s.Text) {
			all = append(all, declared{d, i})
		}
	}
	slices.SortStableFunc(all, func(a, b declared) int { return strings.Compare(a.Name, b.Name) })
	names := make([]string, 0, len(all))
	var again []declared // every declaration after a name's first, in the sources' order
	for i, d := range all {
		if i > 0 && all[i-1].Name == d.Name {
			again = append(again, d)
			continue
		}
		names = append(names, d.Name)
	}
	if len(again) == 0 {
		return names, nil
	}
	slices.SortFunc(again, func(a, b declared) int { return cmp.Or(cmp.Compare(a.source, b.source), cmp.Compare(a.Line, b.Line)) })
	var dup CompileError
	for _, d := range again {
		dup.Errors = append(dup.Errors, Message{File: sources[d.source].Name, Line: d.Line, Text: fmt.Sprintf("duplicated identifier %q", d.Name)})
	}
	return nil, &dup
}

// checker is a compiler that Check reuses: a new compiler's first source costs about 60% more
// than the same source added to one that has parsed before (libyara sets up its tables on the
// first), which for 10,000 reports is seconds.
type checker struct {
	*yr.Compiler
	uses, bytes int
}

// checkerPool keeps idle compilers between checks. A compiler is retired after maxUses checks
// or maxBytes of source, since it keeps every rule and string it parsed, and after a failed
// check, since libyara leaves a compiler unusable after an error.
type checkerPool struct{ idle chan *checker }

const (
	maxUses  = 64
	maxBytes = 4 * pieceBytes
)

var checkers = checkerPool{idle: make(chan *checker, 2*runtime.NumCPU())}

func (p checkerPool) get() (*checker, error) {
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	c, err := yr.NewCompiler()
	if err != nil {
		return nil, fmt.Errorf("yara compiler: %w", err)
	}
	return &checker{Compiler: c}, nil
}

func (p checkerPool) put(c *checker, failed error) {
	if failed == nil && c.uses < maxUses && c.bytes < maxBytes {
		select {
		case p.idle <- c:
			return
		default:
		}
	}
	c.Destroy()
	if c.bytes >= pieceBytes {
		trimCHeap()
	}
}

// add adds sources to the compiler in one namespace and returns a *CompileError holding every
// error and warning, or nil.
func add(c *yr.Compiler, sources []Source, namespace string) error {
	c.DisableIncludes()
	var fail CompileError
	for _, s := range sources {
		nErr, nWarn := len(c.Errors), len(c.Warnings)
		// One namespace for all: a rules repository loads its files together, so a rule name
		// used twice anywhere must fail here too.
		err := c.AddString(s.Text, namespace)
		// libyara leaves the file name empty for string sources: name them here.
		fail.Errors = append(fail.Errors, messages(c.Errors[nErr:], s.Name)...)
		fail.Warnings = append(fail.Warnings, messages(c.Warnings[nWarn:], s.Name)...)
		if err != nil {
			break // after an error the compiler is unusable (go-yara's AddString doc)
		}
	}
	if len(fail.Errors) > 0 || len(fail.Warnings) > 0 {
		return &fail
	}
	return nil
}

// CompileFiles reads and compiles rule files.
func CompileFiles(paths ...string) (*Rules, error) {
	sources, err := ReadSources(paths...)
	if err != nil {
		return nil, err
	}
	return Compile(sources...)
}

// RuleNames lists the identifiers of the compiled rules, sorted.
func (r *Rules) RuleNames() []string {
	var names []string
	for _, rule := range r.rules.GetRules() {
		names = append(names, rule.Identifier())
	}
	slices.Sort(names)
	return names
}

const scanTimeout = time.Minute

// ScanFile returns the names of the rules that match the file, sorted and unique.
func (r *Rules) ScanFile(path string) ([]string, error) {
	var m yr.MatchRules
	if err := r.rules.ScanFile(path, 0, scanTimeout, &m); err != nil {
		return nil, fmt.Errorf("scan %s: %w", path, err)
	}
	return matchNames(m), nil
}

// ScanMem returns the names of the rules that match buf.
func (r *Rules) ScanMem(buf []byte) ([]string, error) {
	var m yr.MatchRules
	if err := r.rules.ScanMem(buf, 0, scanTimeout, &m); err != nil {
		return nil, fmt.Errorf("scan memory: %w", err)
	}
	return matchNames(m), nil
}

func matchNames(m yr.MatchRules) []string {
	var names []string
	for _, x := range m {
		names = append(names, x.Rule)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// ScanTree scans every regular file under root, skipping files and directories for which skip
// returns true, and returns the files that matched. Files that cannot be read are skipped: a benign
// corpus such as /usr/lib holds sockets and unreadable files.
func (r *Rules) ScanTree(root string, skip func(path string) bool) ([]Hit, int, error) {
	var hits []Hit
	scanned := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if p != root && skip != nil && skip(p) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || skip != nil && skip(p) {
			return nil
		}
		names, err := r.ScanFile(p)
		if err != nil {
			return nil
		}
		scanned++
		if len(names) > 0 {
			hits = append(hits, Hit{Path: p, Rules: names})
		}
		return nil
	})
	return hits, scanned, err
}
