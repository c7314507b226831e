// Package parse reads threat reports into the report model, one file per input format.
// Parsers understand syntax only; what a value means is decided by normalize.
package parse

import (
	"errors"
	"fmt"
	"os"
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
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "auto":
		return FormatAuto, nil
	case FormatAuto, FormatMarkdown, FormatMISP:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want auto, markdown or misp", s)
}

// Sniff tells the format from the content: JSON starts with an object or a list.
func Sniff(data []byte) Format {
	switch firstByte(data) {
	case '{', '[':
		return FormatMISP
	}
	return FormatMarkdown
}

// Each parses a report file held in memory and calls yield with each report in file order (a
// MISP file may hold many events). name is used in positions and errors.
func Each(name string, data []byte, format Format, yield func(*report.Report) error) error {
	if firstByte(data) == 0 {
		return inputError(report.Pos{File: name}, "empty file")
	}
	if format == FormatAuto {
		format = Sniff(data)
	}
	if format == FormatMISP {
		return MISP(name, data, yield)
	}
	r, err := Markdown(name, data)
	if err != nil {
		return err
	}
	return yield(r)
}

// ReadFile reads a report file and calls yield with each report it holds.
func ReadFile(path string, format Format, yield func(*report.Report) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read report: %w", err)
	}
	return Each(path, data, format, yield)
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
	err := Each(name, data, FormatAuto, func(r *report.Report) error {
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
