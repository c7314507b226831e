//go:build !cgo

// Package yara compiles and runs generated rules with libyara. This build has no cgo, so it
// can only say so.
package yara

import "errors"

// Available says whether this build can compile and scan (it needs cgo and libyara).
const Available = false

// ErrUnavailable is returned by every function of a build without cgo.
var ErrUnavailable = errors.New("YARA support needs a build with cgo and libyara")

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

// RuleNames has no rules to name without cgo.
func (*Rules) RuleNames() []string { return nil }

// Metas has no rules to describe without cgo.
func (*Rules) Metas() []Meta { return nil }

// ScanFile always fails without cgo.
func (*Rules) ScanFile(string) ([]string, error) { return nil, ErrUnavailable }

// ScanMem always fails without cgo.
func (*Rules) ScanMem([]byte) ([]string, error) { return nil, ErrUnavailable }

// ScanTree always fails without cgo.
func (*Rules) ScanTree(string, func(string) bool) ([]Hit, int, error) { return nil, 0, ErrUnavailable }

// Destroy has nothing to free without cgo.
func (*Rules) Destroy() {}

// Save always fails without cgo.
func (*Rules) Save(string) error { return ErrUnavailable }

// Load always fails without cgo.
func Load(string) (*Rules, error) { return nil, ErrUnavailable }

// LibraryVersion is "" without cgo: no libyara is linked.
func LibraryVersion() string { return "" }
