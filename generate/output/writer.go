package output

import (
	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/render"
)

// File is one file of a run, its path relative to the output directory in slash form.
type File = render.File

// What the directory writer (generate/internal/atomicdir) reports, under the names generate's
// callers use.
type (
	Written     = atomicdir.Written
	LockedError = atomicdir.LockedError
)

const (
	Swapped   = atomicdir.Swapped
	PerFile   = atomicdir.PerFile
	Untouched = atomicdir.Untouched
	LockName  = atomicdir.LockName
)

var ErrLocked = atomicdir.ErrLocked

// outputDir is the output directory held for writing a run's files.
type outputDir struct{ *atomicdir.Dir }

func openOutput(dir string) (outputDir, error) {
	d, err := atomicdir.Open(dir)
	return outputDir{d}, err
}

func (d outputDir) Put(f File) error   { return d.Dir.Put(atomicdir.File(f)) }
func (d outputDir) Write(f File) error { return d.Dir.Write(atomicdir.File(f)) }
