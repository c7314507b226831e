package output

import (
	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/render"
)

// File is one file of a run, its path relative to the output directory in slash form.
type File = render.File

// outputDir is the output directory held for writing a run's files.
type outputDir struct{ *atomicdir.Dir }

func openOutput(dir string) (outputDir, error) {
	d, err := atomicdir.Open(dir)
	return outputDir{d}, err
}

func (d outputDir) Put(f File) error   { return d.Dir.Put(atomicdir.File(f)) }
func (d outputDir) Write(f File) error { return d.Dir.Write(atomicdir.File(f)) }
