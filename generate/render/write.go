package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
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

// Stage is a directory beside the output directory where a run writes its new and changed
// files as reports are rendered; Commit moves them into place. A run that fails or is
// interrupted discards its stage and leaves the output as it was.
type Stage struct {
	dir string // the stage, a hidden sibling of out
	out string

	mu        sync.Mutex
	dirs      map[string]bool // directories made in the stage
	fresh     bool            // out did not exist: nothing to compare with
	staged    int
	unchanged int
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
	dir = filepath.Clean(dir) // MkdirTemp("." ...) says "./x"; paths joined below say "x"
	_, statErr := os.Stat(out)
	return &Stage{dir: dir, out: out, dirs: map[string]bool{dir: true}, fresh: errors.Is(statErr, os.ErrNotExist)}, nil
}

// Put stages one file, unless the output already holds it byte for byte. It is safe for
// concurrent use with distinct paths.
func (s *Stage) Put(f File) error {
	rel := filepath.FromSlash(f.Path)
	if s.fresh {
		// nothing to compare with
	} else if old, err := os.ReadFile(filepath.Join(s.out, rel)); err == nil && bytes.Equal(old, f.Body) {
		s.mu.Lock()
		s.unchanged++
		s.mu.Unlock()
		return nil
	}
	target := filepath.Join(s.dir, rel)
	if err := s.mkdir(filepath.Dir(target)); err != nil {
		return fmt.Errorf("stage rules: %w", err)
	}
	if err := os.WriteFile(target, f.Body, 0o644); err != nil {
		return fmt.Errorf("stage rules: %w", err)
	}
	s.mu.Lock()
	s.staged++
	s.mu.Unlock()
	return nil
}

// mkdir makes a stage directory and its parents once each.
func (s *Stage) mkdir(dir string) error {
	s.mu.Lock()
	done, parentDone := s.dirs[dir], s.dirs[filepath.Dir(dir)]
	s.mu.Unlock()
	if done {
		return nil
	}
	if parent := filepath.Dir(dir); !parentDone && parent != dir {
		if err := s.mkdir(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	s.mu.Lock()
	s.dirs[dir] = true
	s.mu.Unlock()
	return nil
}

// Commit moves the staged files into the output directory (renames, so a reader never sees
// half a file; files whose content was unchanged were never staged and keep their
// timestamps), then removes the stage. When the output directory does not exist yet, the
// stage becomes it in one rename.
func (s *Stage) Commit() (written, unchanged int, err error) {
	defer s.Discard()
	if _, err := os.Stat(s.out); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(s.dir, s.out); err != nil {
			return 0, 0, fmt.Errorf("write rules: %w", err)
		}
		return s.staged, s.unchanged, nil
	}
	made := map[string]bool{}
	err = filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(s.dir, p)
		target := filepath.Join(s.out, rel)
		if dir := filepath.Dir(target); !made[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			made[dir] = true
		}
		return os.Rename(p, target)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("write rules: %w", err)
	}
	return s.staged, s.unchanged, nil
}

// Discard removes the stage and everything in it.
func (s *Stage) Discard() error { return os.RemoveAll(s.dir) }

// outputKinds are the directories and extensions generate writes: only such files can be
// orphans, so that a README or CI file kept in the output directory is never touched.
var outputKinds = map[string]string{"yara": ".yar", "sigma": ".yml", "skipped": ".tsv"}

// Orphans lists the rule files under out, as slash paths relative to it and sorted, that are
// not in produced: left over from reports that are gone or now give no rule.
func Orphans(out string, produced map[string]bool) ([]string, error) {
	var orphans []string
	for dir, ext := range outputKinds {
		root := filepath.Join(out, dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipDir
			}
			if err != nil || d.IsDir() || filepath.Ext(p) != ext {
				return err
			}
			rel, _ := filepath.Rel(out, p)
			if rel = filepath.ToSlash(rel); !produced[rel] {
				orphans = append(orphans, rel)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("orphans: %w", err)
		}
	}
	slices.Sort(orphans)
	return orphans, nil
}

// Prune removes orphans from out and the directories they leave empty.
func Prune(out string, orphans []string) error {
	for _, rel := range orphans {
		p := filepath.Join(out, filepath.FromSlash(rel))
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("prune: %w", err)
		}
		for dir := filepath.Dir(p); dir != filepath.Clean(out); dir = filepath.Dir(dir) {
			if os.Remove(dir) != nil { // not empty: stop climbing
				break
			}
		}
	}
	return nil
}
