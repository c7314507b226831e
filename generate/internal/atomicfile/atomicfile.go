// Package atomicfile writes a file whole or not at all: to a temporary file beside it, renamed
// into place, so that a reader (a CI job reading a report) never sees half of it.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write writes path with what write puts out, with mode 0644.
func Write(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	err = write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}
