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

// Commit puts the new rules in place as a whole. The stage is completed into the full new
// tree, with the output's other files carried over as hard links (unchanged files keep their
// inode and timestamps), and then exchanged with the output directory in one step, so that a
// crash or an interrupt leaves the old rules or the new ones, never a mix. keep decides which
// existing files that this run did not write are carried over (nil: all of them; --prune
// passes the orphans' complement). A run that changes nothing touches nothing.
func (s *Stage) Commit(keep func(rel string) bool) (written, unchanged int, err error) {
	defer s.Discard()
	if _, err := os.Stat(s.out); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(s.dir, s.out); err != nil {
			return 0, 0, fmt.Errorf("write rules: %w", err)
		}
		return s.staged, s.unchanged, nil
	}
	dropped, err := s.carryOver(keep)
	if err != nil {
		return 0, 0, fmt.Errorf("write rules: %w", err)
	}
	if s.staged == 0 && dropped == 0 {
		return 0, s.unchanged, nil
	}
	if err := swap(s.dir, s.out); err != nil {
		return 0, 0, fmt.Errorf("write rules: %w", err)
	}
	return s.staged, s.unchanged, nil // Discard removes the old tree, now at s.dir
}

// carryOver links into the stage every file of the output that the stage does not hold and
// keep accepts, and returns how many it left out.
func (s *Stage) carryOver(keep func(rel string) bool) (dropped int, err error) {
	err = filepath.WalkDir(s.out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == s.out {
			return err
		}
		rel, _ := filepath.Rel(s.out, p)
		target := filepath.Join(s.dir, rel)
		switch {
		case d.IsDir():
			return nil // made below when a file needs it: directories left empty go
		case keep != nil && !keep(filepath.ToSlash(rel)):
			dropped++
			return nil
		}
		if _, err := os.Lstat(target); err == nil {
			return nil // written by this run
		}
		if err := s.mkdir(filepath.Dir(target)); err != nil {
			return err
		}
		return linkOrCopy(p, target, d)
	})
	return dropped, err
}

func linkOrCopy(src, dst string, d fs.DirEntry) error {
	if d.Type()&fs.ModeSymlink != 0 {
		to, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(to, dst)
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	body, err := os.ReadFile(src) // a file system without hard links
	if err != nil {
		return err
	}
	info, err := d.Info()
	if err != nil {
		return err
	}
	return os.WriteFile(dst, body, info.Mode().Perm())
}

// swap exchanges the stage and the output directory; where the system cannot exchange in one
// step it renames the output aside first, leaving a moment with no output directory but the
// old tree always on disk.
func swap(stage, out string) error {
	if err := exchange(stage, out); err == nil {
		return nil
	}
	aside := stage + ".old"
	if err := os.Rename(out, aside); err != nil {
		return err
	}
	if err := os.Rename(stage, out); err != nil {
		os.Rename(aside, out)
		return err
	}
	return os.Rename(aside, stage) // where Discard removes it
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
