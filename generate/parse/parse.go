// Package parse reads threat reports into the report model, one file per input format.
// Parsers understand syntax only; what a value means is decided by normalize.
package parse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// ErrInput marks errors caused by the input itself (as opposed to I/O failures); test for it
// with errors.Is.
var ErrInput = errors.New("invalid input")

// InputError is a problem with the input at a position; its message quotes the offending value.
type InputError struct {
	Pos report.Pos
	Msg string
}

func (e *InputError) Error() string        { return e.Pos.String() + ": " + e.Msg }
func (e *InputError) Is(target error) bool { return target == ErrInput }

func inputError(pos report.Pos, format string, args ...any) error {
	return &InputError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Format names an input format.
type Format string

const (
	FormatAuto     Format = ""         // sniffed from the content
	FormatMarkdown Format = "markdown" // the markdown rendering of a MISP event
	FormatMISP     Format = "misp"     // MISP JSON: an event, a REST response or a feed event
	FormatIOCs     Format = "iocs"     // a plain list of indicators, one a line (*.txt)
	FormatSTIX     Format = "stix"     // a STIX 2.0 or 2.1 bundle
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "auto":
		return FormatAuto, nil
	case FormatAuto, FormatMarkdown, FormatMISP, FormatIOCs, FormatSTIX:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want auto, markdown, misp, stix or iocs", s)
}

// Sniff tells the format from the content: JSON starts with an object or a list, and a STIX
// bundle says "type": "bundle".
func Sniff(data []byte) Format {
	switch firstByte(data) {
	case '{':
		if IsSTIXBundle(data) {
			return FormatSTIX
		}
		return FormatMISP
	case '[':
		return FormatMISP
	}
	return FormatMarkdown
}

// Limits bound what one input may hold, so that a hostile or broken file fails with a clear
// error instead of exhausting memory or time. Zero fields take the defaults.
type Limits struct {
	FileBytes  int64 // size of one input file
	Depth      int   // JSON nesting depth
	Attributes int   // attributes of one event, objects' attributes included
}

// DefaultLimits are generous for real MISP events and feeds (the largest real event here is
// 0.6 MB with 340 attributes) and stop what no report needs.
var DefaultLimits = Limits{FileBytes: 256 << 20, Depth: 64, Attributes: 500_000}

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

// Options choose the format and the limits of a parse. Title and Date name and date an IOC
// list (by default its file name does).
type Options struct {
	Format      Format
	Limits      Limits
	Title, Date string
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
	format := opts.Format
	if format == FormatAuto {
		format = Sniff(data)
		if strings.EqualFold(filepath.Ext(name), ".txt") {
			format = FormatIOCs
		}
	}
	count := func(r *report.Report) error {
		n := len(r.Attributes)
		for _, o := range r.Objects {
			n += len(o.Attributes)
		}
		if n > limits.Attributes {
			return inputError(report.Pos{File: name}, "event %q has %d attributes: more than the limit of %d (--max-attributes)", r.Title, n, limits.Attributes)
		}
		return yield(r)
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
	parseOne := Markdown
	if format == FormatIOCs {
		parseOne = func(name string, data []byte) (*report.Report, error) { return IOCs(name, data, opts.Title, opts.Date) }
	}
	r, err := parseOne(name, data)
	if err != nil {
		return err
	}
	return count(r)
}

// ReadFile reads a report file and calls yield with each report it holds. A file over the size
// limit is refused before it is read.
func ReadFile(path string, opts Options, yield func(*report.Report) error) error {
	data, err := ReadInput(path, opts)
	if err != nil {
		return err
	}
	return Each(path, data, opts, yield)
}

// ReadInput reads an input file within the size limit.
func ReadInput(path string, opts Options) ([]byte, error) {
	limit := opts.Limits.withDefaults().FileBytes
	if info, err := os.Stat(path); err == nil && info.Size() > limit {
		return nil, inputError(report.Pos{File: path}, "%d bytes: larger than the limit of %d bytes (--max-input-bytes)", info.Size(), limit)
	}
	data, err := os.ReadFile(path)
	if err != nil {
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
