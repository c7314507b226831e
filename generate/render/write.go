package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes files under dir. Each file is written to a temporary file beside its target and
// renamed into place, so a reader never sees half a rule file. Files whose content is
// unchanged are left alone, which keeps their timestamps and makes reruns a no-op.
func Write(dir string, files []File) (written int, err error) {
	for _, f := range files {
		target := filepath.Join(dir, filepath.FromSlash(f.Path))
		if old, err := os.ReadFile(target); err == nil && bytes.Equal(old, f.Body) {
			continue
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return written, fmt.Errorf("write rules: %w", err)
		}
		if err := writeAtomic(target, f.Body); err != nil {
			return written, err
		}
		written++
	}
	return written, nil
}

func writeAtomic(target string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("write rules: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp*")
	if err != nil {
		return fmt.Errorf("write rules: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	return nil
}

// Stage is a directory beside the output directory where a run writes its files as reports
// are rendered; Commit moves the changed ones into place. A run that fails or is interrupted
// discards its stage and leaves the output as it was.
type Stage struct {
	dir string // the stage, a hidden sibling of out
	out string
}

// NewStage makes a stage for out; out's parent is created if missing.
func NewStage(out string) (*Stage, error) {
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("write rules: %w", err)
	}
	dir, err := os.MkdirTemp(parent, ".rulegen-stage-")
	if err != nil {
		return nil, fmt.Errorf("write rules: %w", err)
	}
	return &Stage{dir: dir, out: out}, nil
}

// Put writes one file into the stage. It is safe for concurrent use with distinct paths.
func (s *Stage) Put(f File) error {
	target := filepath.Join(s.dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("stage rules: %w", err)
	}
	if err := os.WriteFile(target, f.Body, 0o644); err != nil {
		return fmt.Errorf("stage rules: %w", err)
	}
	return nil
}

// Commit renames every staged file whose content differs into the output directory and
// leaves identical files alone (their timestamps too). It then removes the stage.
func (s *Stage) Commit() (written, unchanged int, err error) {
	defer s.Discard()
	err = filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(s.dir, p)
		target := filepath.Join(s.out, rel)
		same, err := sameContent(p, target)
		if err != nil {
			return err
		}
		if same {
			unchanged++
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.Rename(p, target); err != nil {
			return err
		}
		written++
		return nil
	})
	if err != nil {
		return written, unchanged, fmt.Errorf("write rules: %w", err)
	}
	return written, unchanged, nil
}

// Discard removes the stage and everything in it.
func (s *Stage) Discard() error { return os.RemoveAll(s.dir) }

func sameContent(a, b string) (bool, error) {
	old, err := os.ReadFile(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	staged, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	return bytes.Equal(old, staged), nil
}
