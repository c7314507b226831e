// Package parse reads threat reports into the report model, one file per input format.
// Parsers understand syntax only; what a value means is decided by normalize.
package parse

import (
	"bytes"
	"errors"
	"fmt"
	"os"

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

// File reads and parses one report file, choosing the parser from its content.
func File(path string) (*report.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	return Bytes(path, data)
}

// Bytes parses a report held in memory; name is used in positions and errors.
func Bytes(name string, data []byte) (*report.Report, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return nil, inputError(report.Pos{File: name}, "empty file")
	}
	switch trimmed[0] {
	case '{', '[':
		return nil, inputError(report.Pos{File: name, Line: 1}, "MISP JSON input is not supported yet; use the markdown rendering")
	}
	return Markdown(name, data)
}

var errUnbalancedQuote = errors.New("unbalanced double quote")
