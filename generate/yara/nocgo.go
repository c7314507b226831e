//go:build !cgo

// Package yara compiles and runs generated rules with libyara. This build has no cgo, so it
// can only say so.
package yara

import "errors"

// Available says whether this build can compile and scan (it needs cgo and libyara).
const Available = false

// ErrUnavailable is returned by every function of a build without cgo.
var ErrUnavailable = errors.New("YARA support needs a build with cgo and libyara")

// Source is one YARA source file to compile.
type Source struct {
	Name string
	Text string
}

// Rules is a compiled ruleset; a build without cgo never has one.
type Rules struct{}

// Compile always fails without cgo.
func Compile(...Source) (*Rules, error) { return nil, ErrUnavailable }

// CompileFiles always fails without cgo.
func CompileFiles(...string) (*Rules, error) { return nil, ErrUnavailable }

// Check always fails without cgo.
func Check(...Source) ([]string, error) { return nil, ErrUnavailable }

// CompileLenient always fails without cgo.
func CompileLenient(...Source) (*Rules, []Message, error) { return nil, nil, ErrUnavailable }
