// Package render writes normalised reports as rule files through text/template templates.
// What is detected was settled by normalize; render's view models turn it into rule parts
// (which strings, with which modifiers, which of them together are enough, which hash of a
// sample), and the templates only lay those parts out.
package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/safefs"
	"github.com/rulegen/rulegen/generate/report"
)

// Options are the settings templates see besides the report.
type Options struct {
	Author    string
	Templates fs.FS  `cache:"tree"` // overrides the embedded templates by file name; nil for none
	Layout    Layout // how YARA rules are laid out; "" is LayoutFast
	Case      Case   // the letter case YARA strings match; "" is CaseAny
}

// Case is the letter case a YARA string of a domain, URL, registry value or path matches.
type Case string

const (
	// CaseAny, the default, matches these strings in any letter case (nocase), as Windows and
	// DNS treat them.
	CaseAny Case = "any"
	// CaseListed matches them only as the report writes them: it matches less, and costs
	// YARA-X far less. nocase multiplies each string's atoms by the case variants of its
	// letters, and YARA-X's scan slows down about eightfold once a ruleset has more than 64
	// atoms in all (docs/scan-cost.md).
	CaseListed Case = "listed"
)

// ParseCase reads a --yara-case value.
func ParseCase(s string) (Case, error) {
	switch c := Case(s); c {
	case CaseAny, CaseListed:
		return c, nil
	case "":
		return CaseAny, nil
	}
	return "", fmt.Errorf("YARA case %q: want %s or %s", s, CaseAny, CaseListed)
}

// Layout is how generated YARA trades readability for scan cost. Both layouts detect exactly
// the same files and text.
type Layout string

const (
	// LayoutFast, the default, writes reports in the forms libyara scans cheaply: hash rules
	// over size ranges with a size tree, or a digest tree (hashes.go), domain families as
	// one regular expression (domains.go) and paths steered to a cheap atom (atoms.go). Rules are loaded into scanners that run on every endpoint; their scan cost
	// is paid on every file, their reading only when a rule fires.
	LayoutFast Layout = "fast"
	// LayoutReadable writes one hash term and one string per indicator, as analysts write them
	// by hand. Over a large report it costs many times more per scanned file (docs/scan-cost.md).
	LayoutReadable Layout = "readable"
	// LayoutFeed is LayoutFast with every report's samples in shared hash rules
	// (RenderFeed) instead of one hash rule per report: libyara spends time on every rule for
	// every file, and a feed has thousands of reports.
	LayoutFeed Layout = "feed"
)

// ParseLayout reads a --yara-layout value.
func ParseLayout(s string) (Layout, error) {
	switch l := Layout(s); l {
	case LayoutFast, LayoutReadable, LayoutFeed:
		return l, nil
	case "":
		return LayoutFast, nil
	}
	return "", fmt.Errorf("YARA layout %q: want %s, %s or %s", s, LayoutFast, LayoutReadable, LayoutFeed)
}

// File is one rendered output file, its path relative to the output directory.
type File struct {
	Path string
	Body []byte
}

// Renderer holds parsed templates; one Renderer renders any number of reports.
type Renderer struct {
	opts  Options
	yara  *Set
	sigma *Set
}

// New parses the templates.
func New(opts Options) (*Renderer, error) {
	y, err := LoadTemplates(opts.Templates, "yara")
	if err != nil {
		return nil, err
	}
	s, err := LoadTemplates(opts.Templates, "sigma")
	if err != nil {
		return nil, err
	}
	if opts.Case, err = ParseCase(string(opts.Case)); err != nil {
		return nil, err
	}
	if opts.Layout, err = ParseLayout(string(opts.Layout)); err != nil {
		return nil, err
	}
	return &Renderer{opts: opts, yara: y, sigma: s}, nil
}

// Render renders every report. Reports must have unique slugs (see UniqueSlugs). Files come
// back sorted by path.
func (rd *Renderer) Render(reports []*report.Normalized) ([]File, error) {
	var files []File
	for _, r := range reports {
		sigmaFiles, err := rd.RenderSigma(r)
		if err != nil {
			return nil, err
		}
		yaraFiles, err := rd.RenderYARA(r)
		if err != nil {
			return nil, err
		}
		files = append(append(files, sigmaFiles...), yaraFiles...)
	}
	return SortFiles(files)
}

// SortFiles sorts files by path and refuses two of one path.
func SortFiles(files []File) ([]File, error) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(files); i++ {
		if files[i].Path == files[i-1].Path {
			return nil, fmt.Errorf("two outputs for %s: report slugs must be unique", files[i].Path)
		}
	}
	return files, nil
}

// RenderSigma renders a report's Sigma files: the templates' and its analysts' rules. With
// RenderYARA it is Render, in two steps so that a caller can check the Sigma files, and let
// their parse go, before the YARA files exist (a bulk list's are hundreds of megabytes).
func (rd *Renderer) RenderSigma(r *report.Normalized) ([]File, error) {
	files, err := rd.sigma.renderAll(newSigmaView(r, rd.opts.Author), func(entry string) string { return sigmaPath(entry, r.Slug, r.Platform) })
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", r.Source, err)
	}
	for i, a := range r.SigmaRules {
		f, err := PassedSigma(r, a, i)
		if err != nil {
			return nil, fmt.Errorf("render %s: %s: Sigma rule %d: %w", r.Source, r.Source, i+1, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// RenderYARA renders a report's YARA files and its skip list.
func (rd *Renderer) RenderYARA(r *report.Normalized) ([]File, error) {
	view, err := newYaraView(r, rd.opts, RuleBase(r))
	if err == nil {
		err = view.takePassedRules(rd.yara.passedMeta)
	}
	if err != nil {
		return nil, fmt.Errorf("render %s: %s: %w", r.Source, r.Source, err)
	}
	files, err := rd.yara.renderAll(view, func(entry string) string { return yaraPath(entry, r.Slug) })
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", r.Source, err)
	}
	if f, ok := newFile(path.Join("skipped", r.Slug+".tsv"), SkipList(r)); ok {
		files = append(files, f)
	}
	return files, nil
}

// renderAll runs every entry template of the set on view; outPath names each entry's file.
func (s *Set) renderAll(view any, outPath func(entry string) string) ([]File, error) {
	var files []File
	for _, entry := range s.entries {
		body, err := s.execute(entry, view)
		if err != nil {
			return nil, err
		}
		if f, ok := newFile(outPath(entry), body); ok {
			files = append(files, f)
		}
	}
	return files, nil
}

// newFile normalises line endings and the final newline; a template that said nothing makes
// no file.
func newFile(p string, body []byte) (File, bool) {
	if bytes.Contains(body, []byte("\r\n")) { // ReplaceAll copies even when nothing matches
		body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	}
	body = bytes.TrimRight(body, " \t\n")
	if len(bytes.TrimSpace(body)) == 0 {
		return File{}, false
	}
	return File{Path: p, Body: append(body, '\n')}, true
}

func yaraPath(entry, slug string) string {
	name := strings.TrimSuffix(path.Base(entry), ".tmpl")
	if name == "report" {
		return path.Join("yara", slug+".yar")
	}
	return path.Join("yara", slug+"_"+name+".yar")
}

// RuleBase is a report's rule-name stem: its title as an identifier, with the report's short id
// when its slug carries one (see slugShortID).
func RuleBase(r *report.Normalized) string {
	base := YaraIdent("MAL_" + r.Title)
	if len(base) > 96 { // leave room for the short id and the kind suffix within 128 characters
		base = strings.TrimRight(base[:96], "_")
	}
	if short := slugShortID(r); short != "" {
		base += "_" + short
	}
	return base
}

// slugShortID is the report's short id when its slug carries one (slugs shared by several
// reports, MISP events, titles without letters), else "": names and titles made from a report's
// title carry it too, so that they are unique wherever slugs are.
func slugShortID(r *report.Normalized) string {
	if short := report.ShortID(r.ID); strings.HasSuffix(r.Slug, "_"+short) {
		return short
	}
	return ""
}

// SkipList is the tab-separated list of skipped values kept beside the rules: where each came
// from, its type, the value and why it made no rule.
func SkipList(r *report.Normalized) []byte {
	if len(r.Skipped) == 0 {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Values of %q that made no rule.\n# source\ttype\tvalue\treason\n", Comment(r.Title))
	for _, s := range r.Skipped {
		src := s.Source
		src.File = path.Base(strings.ReplaceAll(src.File, `\`, "/"))
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", tsvField(src.String()), tsvField(s.Kind), tsvField(safefs.Prefix(s.Value, maxSkippedValue)), tsvField(s.Why()))
	}
	return b.Bytes()
}

// maxSkippedValue is the most of a value a skip list quotes: the list is committed, and a
// value no rule took may be a line of anything (a secret a file should never have held).
const maxSkippedValue = 256

// tsvField keeps a value on one line and in one column.
func tsvField(s string) string {
	return tsvEscapes.Replace(s)
}

var tsvEscapes = strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
