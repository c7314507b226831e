// Package parse reads threat reports into the report model, one file per input format.
// Parsers understand syntax only; what a value means is decided by normalize.
package parse

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rulegen/rulegen/generate/internal/safefs"
	"github.com/rulegen/rulegen/generate/report"
)

// ErrInput marks errors caused by the input itself (as opposed to I/O failures); test for it
// with errors.Is.
var ErrInput = errors.New("invalid input")

// ErrUnsupported marks a file of a format rulegen knows and does not read (a STIX 1.x
// package): a run passes over those it found in a directory, saying what they are.
var ErrUnsupported = errors.New("a format rulegen does not read")

// IsSTIX1 says whether data (a file's first bytes) is a STIX 1.x package: XML whose root is
// STIX_Package.
func IsSTIX1(data []byte) bool {
	head := data[:min(len(data), 4096)]
	return firstByte(head) == '<' && bytes.Contains(head, []byte("STIX_Package"))
}

// ErrNoIndicators marks a document that states no indicator (a README beside reports, notes):
// a run passes over those it found in a directory.
var ErrNoIndicators = errors.New("document without indicators")

// InputError is a problem with the input at a position; its message quotes the offending value.
type InputError struct {
	Pos report.Pos
	Msg string
	err error // the cause, when a library reported it
}

func (e *InputError) Error() string        { return e.Pos.String() + ": " + e.Msg }
func (e *InputError) Is(target error) bool { return target == ErrInput }
func (e *InputError) Unwrap() error        { return e.err }

// inputError quotes at most quotedBytes of each string it is given: the value an error quotes
// is the input's, which may be a secret it should never have held (a file named .csv that is
// a password file), or megabytes on one line.
func inputError(pos report.Pos, format string, args ...any) error {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = safefs.Prefix(s, quotedBytes)
		}
	}
	return &InputError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// quotedBytes is the most of a value an error or a skip list quotes.
const quotedBytes = 120

// Format names an input format: a report's format, or FormatAuto.
type Format = report.Format

const (
	FormatAuto     Format = "" // sniffed from the name and the content
	FormatMarkdown        = report.FormatMarkdown
	FormatMISP            = report.FormatMISP
	FormatIOCs            = report.FormatIOCs
	FormatSTIX            = report.FormatSTIX
	FormatDocument        = report.FormatDocument
	FormatCSV             = report.FormatCSV
	FormatHashes          = report.FormatHashes
	FormatYARA            = report.FormatYARA
	FormatSigma           = report.FormatSigma
	FormatLOKI            = report.FormatLOKI
	FormatOpenIOC         = report.FormatOpenIOC
	FormatJSON            = report.FormatJSON
	FormatHTML            = report.FormatHTML
	FormatXLSX            = report.FormatXLSX
)

// ParseFormat reads a --format value (see formatTable).
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(s))
	if f == "auto" || f == FormatAuto {
		return FormatAuto, nil
	}
	if _, ok := specOf(f); ok {
		return f, nil
	}
	names := []string{"auto"}
	for _, spec := range formatTable {
		names = append(names, string(spec.format))
	}
	return "", fmt.Errorf("format %q: want one of %s", s, strings.Join(names, ", "))
}

// Sniff tells the format from the content: JSON starts with an object or a list, and a STIX
// bundle says "type": "bundle"; other text is markdown.
func Sniff(data []byte) Format {
	switch firstByte(data) {
	case '{':
		if IsSTIXBundle(data) {
			return FormatSTIX
		}
		if isMISPJSON(data) {
			return FormatMISP
		}
		return FormatJSON
	case '[':
		if isMISPJSON(data) {
			return FormatMISP
		}
		return FormatJSON
	}
	return FormatMarkdown
}

// SniffFile tells a file's format from its name, then its content: a vendor's Markdown is a
// document unless it is the rendering of a MISP event; a file without an extension (as some
// vendors name theirs) is a hash list, an IOC list or a document by what its lines hold.
func SniffFile(name string, data []byte) Format {
	if IsOpenIOC(data) { // whatever its name: .ioc, .xml
		return FormatOpenIOC
	}
	if IsHTML(data) { // a saved page, whatever its name
		return FormatHTML
	}
	if extOf(name) == "" && IsXLSX(data) {
		return FormatXLSX
	}
	if f := FormatOfName(name); f != FormatAuto {
		return refined(f, data)
	}
	f := Sniff(data)
	if f == FormatMarkdown && extOf(name) == "" && !isMISPRendering(data) {
		return textFormat(data)
	}
	if f == FormatMarkdown && !isMISPRendering(data) {
		return FormatDocument
	}
	return f
}

// textFormat is the format of text that no name types: a hash list when most of its lines are
// a hash (and maybe a file name), a document when it has Markdown or AsciiDoc headings, else
// an IOC list (sectioned text, labelled lines, values a line).
func textFormat(data []byte) Format {
	lines, hashes := 0, 0
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		if strings.HasPrefix(line, "# ") || strings.HasPrefix(line, "## ") || strings.HasPrefix(line, "= ") || strings.HasPrefix(line, "== ") {
			return FormatDocument
		}
		lines++
		if _, _, ok := hashAndName(line); ok {
			hashes++
		} else if v, ok := valueOf(line); ok && report.HashTypeOfLength(len(v.value)) == v.typ {
			hashes++
		}
	}
	if lines > 0 && hashes*10 >= lines*8 {
		return FormatHashes
	}
	return refined(FormatIOCs, data)
}

// IsText says whether data (a file's first bytes) is text: no NUL byte, valid UTF-8 but for a
// character cut at the end. A file without an extension is read only when it is.
func IsText(data []byte) bool {
	if bytes.IndexByte(data, 0) >= 0 {
		return false
	}
	for i := 0; i < 3 && len(data) > 0 && !utf8.Valid(data); i++ {
		data = data[:len(data)-1]
	}
	return utf8.Valid(data)
}

// FormatOfName is the format a file name says (FormatAuto when it says none, or when only the
// content tells: a .md may be a MISP rendering or a vendor's document, a .json MISP or STIX).
func FormatOfName(name string) Format {
	ext := extOf(name)
	stem := strings.ToLower(strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)))
	if (stem == "samples" || stem == "hashes") && ext == ".txt" {
		return FormatHashes
	}
	if f := formatOfExtension(ext); vendorFormat(f) {
		return f
	}
	return FormatAuto
}

func extOf(name string) string { return strings.ToLower(filepath.Ext(name)) }

// isMISPRendering says whether Markdown is the rendering of a MISP event: a "# Threat Report:"
// title, or its "## Key Intelligence" or "## Objects" section.
func isMISPRendering(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "\ufeff"))
		lower := strings.ToLower(line)
		if strings.HasPrefix(lower, "# threat report:") || strings.HasPrefix(lower, "## key intelligence") || lower == "## objects" {
			return true
		}
	}
	return false
}

// isAsciiDoc says whether a document is AsciiDoc: by its name, or by an "= Title" first line.
func isAsciiDoc(name string, data []byte) bool {
	if ext := extOf(name); ext == ".adoc" || ext == ".asciidoc" {
		return true
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(string(data), "\ufeff"), "\n")
	return strings.HasPrefix(first, "= ") || strings.HasPrefix(first, "== ")
}

// Limits bound what one input may hold, so that a hostile or broken file fails with a clear
// error instead of exhausting memory or time. Zero fields take the defaults.
type Limits struct {
	FileBytes  int64 // size of one input file
	Depth      int   // JSON nesting depth
	Attributes int   // attributes of one event, objects' attributes included
}

// DefaultLimits are generous for real MISP events and feeds (the largest real event here is
// 0.6 MB with 340 attributes) and for the bulk hash lists malware databases publish (a
// million lines of hash and name are two million attributes), and stop what no report needs.
var DefaultLimits = Limits{FileBytes: 256 << 20, Depth: 64, Attributes: 5_000_000}

func (l Limits) withDefaults() Limits {
	if l.FileBytes <= 0 {
		l.FileBytes = DefaultLimits.FileBytes
	}
	if l.Depth <= 0 {
		l.Depth = DefaultLimits.Depth
	}
	if l.Attributes <= 0 {
		l.Attributes = DefaultLimits.Attributes
	}
	return l
}

// CheckDepth fails JSON nested deeper than the limit (--max-depth), before anything decodes
// it: pull holds what it downloads to the limits generate reads with.
func (l Limits) CheckDepth(name string, data []byte) error {
	return checkDepth(name, data, l.withDefaults().Depth)
}

// MaxAttributes is the limit on one report's attributes, objects' included (--max-attributes).
func (l Limits) MaxAttributes() int { return l.withDefaults().Attributes }

// checkAttributes fails a report of more attributes than the limit, objects' included.
func (l Limits) checkAttributes(name string, r *report.Report) error {
	n := len(r.Attributes)
	for _, o := range r.Objects {
		n += len(o.Attributes)
	}
	if n > l.Attributes {
		return inputError(report.Pos{File: name}, "report %q has %d attributes: more than the limit of %d (--max-attributes)", r.Title, n, l.Attributes)
	}
	return nil
}

// Options choose the format and the limits of a parse. Title and Date name and date an IOC
// list (by default its file name does).
type Options struct {
	Format Format
	Limits Limits // zero fields: DefaultLimits
	// Title and Date name and date plain IOC lists (--title, --date); "" takes them from the
	// file name.
	Title, Date string
	// Today is the run's day (--as-of, else the day it runs): no date after it is a
	// publication's, and a publication that states none, in its text, path or history, is
	// dated by FirstMade or by it. "" keeps such a publication an ErrUndated error. Only
	// publications read it, and the per-input cache holds MISP files only: it is no cache key.
	Today string `cache:"-"`
	// FirstMade are the days earlier runs first made the rules of undated publications, by
	// source (the run state records them): they keep their date on later days.
	FirstMade map[string]string `cache:"-"`
	// Added are the days files were first committed, when the inputs lie in a git work tree
	// (gitdates.Added): a publication's date when nothing it says dates it.
	Added map[string]string `cache:"-"`
}

// Each parses a report file held in memory and calls yield with each report in file order (a
// MISP file may hold many events). name is used in positions and errors.
func Each(name string, data []byte, opts Options, yield func(*report.Report) error) error {
	limits := opts.Limits.withDefaults()
	if int64(len(data)) > limits.FileBytes {
		return inputError(report.Pos{File: name}, "%d bytes: larger than the limit of %d bytes (--max-input-bytes)", len(data), limits.FileBytes)
	}
	if firstByte(data) == 0 {
		return inputError(report.Pos{File: name}, "empty file")
	}
	if IsSTIX1(data) {
		return &InputError{Pos: report.Pos{File: name, Line: 1}, err: ErrUnsupported,
			Msg: "a STIX 1.x package (XML): rulegen reads STIX 2.0 and 2.1 JSON bundles, not STIX 1 (convert it to STIX 2.1 first, e.g. with OASIS' stix2-elevator)"}
	}
	format := opts.Format
	if format == FormatAuto {
		format = SniffFile(name, data)
	}
	count := func(r *report.Report) error {
		if err := limits.checkAttributes(name, r); err != nil {
			return err
		}
		return yield(r)
	}
	if format == FormatJSON {
		if err := checkDepth(name, data, limits.Depth); err != nil {
			return err
		}
	}
	if format == FormatMISP || format == FormatSTIX {
		if err := checkDepth(name, data, limits.Depth); err != nil {
			return err
		}
		if format == FormatSTIX {
			return STIX(name, data, count)
		}
		return MISP(name, data, count)
	}
	r, err := readOne(name, data, format, opts)
	if err != nil {
		return err
	}
	return count(r)
}

// readOne reads a file of a format that holds one report. A vendor's document must state an
// indicator: a Markdown file that states none is no report.
func readOne(name string, data []byte, format Format, opts Options) (*report.Report, error) {
	if !vendorFormat(format) {
		return Markdown(name, data)
	}
	p, err := readVendorPart(name, data, format)
	if err != nil {
		return nil, err
	}
	if format == FormatSigma && !hasIndicators(p.r) {
		return nil, &InputError{Pos: report.Pos{File: name, Line: 1}, err: ErrNoIndicators,
			Msg: "not a Sigma rule: no YAML document with detection and logsource at its top"}
	}
	if format == FormatDocument && !hasIndicators(p.r) {
		return nil, &InputError{Pos: report.Pos{File: name, Line: 1}, err: ErrNoIndicators,
			Msg: "not a threat report: no indicators in its tables, lists or labelled lines, and none of the sections '## Key Intelligence', '## Indicators of Compromise', '## Objects'"}
	}
	if (format == FormatHTML || format == FormatXLSX) && !hasIndicators(p.r) {
		return nil, &InputError{Pos: report.Pos{File: name}, err: ErrNoIndicators,
			Msg: "not a threat report: no indicators in its tables, lists, labelled lines or text"}
	}
	if format == FormatJSON && !hasIndicators(p.r) {
		return nil, &InputError{Pos: report.Pos{File: name}, err: ErrNoIndicators,
			Msg: "JSON that is neither a MISP event (no \"Event\", \"response\" or \"info\" key) nor a STIX bundle, and states no indicator"}
	}
	return publish(name, []string{name}, []*part{p}, opts)
}

// hasIndicators says whether a report states anything meant as an indicator, whether or not
// it can become a rule.
func hasIndicators(r *report.Report) bool {
	if len(r.Objects) > 0 {
		return true
	}
	for _, a := range r.Attributes {
		if a.Type != "text" && a.Type != "link" {
			return true
		}
	}
	return false
}

// ReadFile reads a report file and calls yield with each report it holds. A file over the size
// limit is refused before it is read.
func ReadFile(path string, opts Options, yield func(*report.Report) error) error {
	if files, ok := publicationFiles(path); ok {
		r, err := Publication(path, files, opts)
		if err != nil {
			return err
		}
		if err := opts.Limits.withDefaults().checkAttributes(path, r); err != nil {
			return err
		}
		return yield(r)
	}
	data, err := ReadInput(path, opts)
	if err != nil {
		return err
	}
	return Each(path, data, opts, yield)
}

// ReadInput reads an input file within the size limit: only a regular file, and never more
// than the limit, whatever its size says (a /proc file says 0, a device has none).
func ReadInput(path string, opts Options) ([]byte, error) {
	limit := opts.Limits.withDefaults().FileBytes
	data, err := safefs.ReadFile(path, limit)
	var notRegular *safefs.NotRegularError
	switch {
	case errors.Is(err, safefs.ErrTooLarge):
		return nil, inputError(report.Pos{File: path}, "larger than the limit of %d bytes (--max-input-bytes)", limit)
	case errors.As(err, &notRegular):
		return nil, inputError(report.Pos{File: path}, "%s: only regular files are read", safefs.Kind(notRegular.Mode))
	case err != nil:
		return nil, fmt.Errorf("read report: %w", err)
	}
	return data, nil
}

// File reads a file that holds exactly one report.
func File(path string) (*report.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	return Bytes(path, data)
}

// Bytes parses data that holds exactly one report, sniffing its format.
func Bytes(name string, data []byte) (*report.Report, error) {
	var reports []*report.Report
	err := Each(name, data, Options{}, func(r *report.Report) error {
		reports = append(reports, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(reports) != 1 {
		return nil, inputError(report.Pos{File: name}, "holds %d events, want one", len(reports))
	}
	return reports[0], nil
}

var errUnbalancedQuote = errors.New("unbalanced double quote")

// publicationFiles lists the files a publication folder's report is read from, sorted; ok is
// false when path is no folder. A link is read when it leads to a regular file inside the
// folder; links out of it, FIFOs and devices are never opened (the walk that found the folder
// lists them as passed over).
func publicationFiles(path string) ([]string, bool) {
	info, err := os.Stat(path)
	if err != nil || !info.IsDir() {
		return nil, false
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, true // Publication reports the error reading none of them
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, true
	}
	var files []string
	for _, e := range entries {
		p := filepath.Join(path, e.Name())
		// Never opened to sniff when it is not read (a link out of the folder, a FIFO).
		if _, notRead := safefs.Regular(real, p, e); notRead != "" || !IsPublicationFile(e.Name()) && !IsOpenIOCFile(p) {
			continue
		}
		files = append(files, p)
	}
	return files, true
}

// IsOpenIOCFile says whether the file at p is an OpenIOC document by its content, whatever its
// name (Mandiant's are .ioc, others .xml).
func IsOpenIOCFile(p string) bool {
	head, err := safefs.Head(p, 4096)
	return err == nil && IsOpenIOC(head)
}

// IsPublicationFile says whether a file of a publication folder is read: a format rulegen
// reads, not hidden, and not the folder's licence or notes on where it came from.
func IsPublicationFile(name string) bool {
	stem := strings.ToUpper(strings.TrimSuffix(name, filepath.Ext(name)))
	if strings.HasPrefix(name, ".") || stem == "LICENSE" || stem == "NOTICE" || stem == "SOURCES" || stem == "CHANGELOG" || stem == "COPYING" {
		return false
	}
	return slices.Contains(publicationExtensions(), extOf(name))
}
