// Package atomicdir writes a tree of files into a directory as one change: staged beside it
// (or inside it, on a mount point), locked against concurrent writers, and moved into place as
// a whole where the file system allows it, file by file where it does not. A writer that fails
// or is killed leaves the directory as it was; the next one removes what it left.
package atomicdir

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// File is one file of a tree, its path relative to the directory in slash form.
type File struct {
	Path string
	Body []byte
}

// Mode is how a commit put the files in place.
type Mode string

const (
	// Swapped: the completed new tree was exchanged with the directory in one step; a reader
	// saw the old rules or the new ones, never a mix.
	Swapped Mode = "swapped"
	// PerFile: each file was renamed into place on its own (a mount point, or a file system
	// that cannot exchange directories); a reader saw each file old or new, never half-written,
	// and for a moment some files new and others old. Orphans go last.
	PerFile Mode = "per-file"
	// Untouched: nothing had changed, nothing was written.
	Untouched Mode = "untouched"
)

// Bookkeeping says whether a path is the writer's own bookkeeping (a hidden file or
// directory: state, indexes) rather than content: the counts of files written leave it out.
func Bookkeeping(rel string) bool { return strings.HasPrefix(rel, ".") }

// Written sums up a commit.
type Written struct {
	Files, Unchanged, Removed int
	Mode                      Mode
}

// Stage holds a run's new and changed files until Commit moves them into the output
// directory. A run that fails or is interrupted discards its stage and leaves the output as it
// was.
type Stage struct {
	dir    string // the stage
	out    string // the output directory, symbolic links resolved
	inside bool   // the stage is in out (a mount point): files are moved one by one
	umask  os.FileMode

	mu        sync.Mutex
	dirs      map[string]bool // directories made in the stage
	staged    []string        // slash paths of the files staged
	removals  map[string]bool // slash paths of files to remove
	unchanged int
}

// newStage makes a stage for out: beside it, so that the finished tree can be exchanged with
// it, or inside it when out is a mount point (nothing can be renamed over a mount point) or
// its parent cannot be written.
func newStage(out string) (*Stage, error) {
	if !isMountPoint(out) {
		dir, err := os.MkdirTemp(filepath.Dir(out), stagePrefix(out)+"*")
		if err == nil {
			return openStage(dir, out, false)
		}
		if !errors.Is(err, fs.ErrPermission) {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(out, stagePrefix(out)+"*")
	if err != nil {
		return nil, err
	}
	return openStage(dir, out, true)
}

// openStage gives a fresh stage the umask's mode (MkdirTemp makes it 0700).
func openStage(dir, out string, inside bool) (*Stage, error) {
	umask := currentUmask()
	if err := os.Chmod(dir, 0o777&^umask); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &Stage{dir: dir, out: out, inside: inside, umask: umask, dirs: map[string]bool{dir: true}}, nil
}

// Put stages one file, unless the output already holds it byte for byte. It is safe for
// concurrent use with distinct paths. A file that replaces another keeps that one's mode.
func (s *Stage) Put(f File) error {
	if body, err := os.ReadFile(filepath.Join(s.out, filepath.FromSlash(f.Path))); err == nil && bytes.Equal(body, f.Body) {
		s.Same(f.Path)
		return nil
	}
	return s.Write(f)
}

// Same notes a file that the caller found in the output as it would write it.
func (s *Stage) Same(rel string) {
	if !Bookkeeping(rel) {
		s.mu.Lock()
		s.unchanged++
		s.mu.Unlock()
	}
}

// Write stages a file that the caller knows to be new or changed.
func (s *Stage) Write(f File) error {
	rel := filepath.FromSlash(f.Path)
	old := filepath.Join(s.out, rel)
	perm := os.FileMode(0o666) &^ s.umask
	if info, err := os.Stat(old); err == nil {
		perm = info.Mode().Perm()
	}
	target := filepath.Join(s.dir, rel)
	if err := s.mkdir(filepath.Dir(target)); err != nil {
		return fmt.Errorf("stage %s: %w", f.Path, err)
	}
	if err := writeFile(target, f.Body, perm); err != nil {
		return fmt.Errorf("stage %s: %w", f.Path, err)
	}
	s.mu.Lock()
	s.staged = append(s.staged, f.Path)
	s.mu.Unlock()
	return nil
}

// writeFile writes a new file with exactly perm, whatever the umask.
func writeFile(path string, body []byte, perm os.FileMode) error {
	if err := os.WriteFile(path, body, perm); err != nil {
		return err
	}
	return os.Chmod(path, perm)
}

// mkdir makes a stage directory and its parents once each, with the mode of the output's
// directory it stands for, or the umask's for a new one.
func (s *Stage) mkdir(dir string) error {
	s.mu.Lock()
	done := s.dirs[dir]
	s.mu.Unlock()
	if done {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := s.mkdir(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	rel, _ := filepath.Rel(s.dir, dir)
	if info, err := os.Stat(filepath.Join(s.out, rel)); err == nil && info.IsDir() {
		if err := os.Chmod(dir, info.Mode().Perm()); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.dirs[dir] = true
	s.mu.Unlock()
	return nil
}

// Commit puts the staged files in place and removes those marked with Remove. A run that
// changes nothing touches nothing.
//
// Where it can, Commit completes the stage into the whole new tree, with the output's other
// files carried over as hard links (unchanged files keep their inode and timestamps), and
// exchanges it with the output directory in one step (renameat2 RENAME_EXCHANGE), so that a
// crash or an interrupt leaves the old rules or the new ones, never a mix. On a mount point,
// or where the exchange is refused, each file is renamed into place on its own instead.
func (s *Stage) Commit() (Written, error) {
	defer s.Discard()
	slices.Sort(s.staged)
	w := Written{Unchanged: s.unchanged, Mode: Untouched}
	staged := make(map[string]bool, len(s.staged))
	for _, p := range s.staged {
		staged[p] = true
		delete(s.removals, p) // written by this run
		if !Bookkeeping(p) {
			w.Files++
		}
	}
	w.Removed = len(s.removals)
	if len(s.staged) == 0 && w.Removed == 0 {
		return w, nil
	}
	if !s.inside {
		if err := s.carryOver(staged); err != nil {
			return Written{}, fmt.Errorf("write rules: %w", err)
		}
		err := s.swap()
		if err == nil {
			w.Mode = Swapped
			return w, nil // Discard removes the old tree, now at s.dir
		}
		if !exchangeRefused(err) {
			return Written{}, fmt.Errorf("write rules: %w", err)
		}
	}
	if err := s.moveEach(); err != nil {
		return Written{}, fmt.Errorf("write rules: %w", err)
	}
	w.Mode = PerFile
	return w, nil
}

// Remove marks a file of the output for removal at Commit, unless this run writes it; a file
// that is not there is no error. It is safe for concurrent use.
func (s *Stage) Remove(rel string) {
	if _, err := os.Lstat(filepath.Join(s.out, filepath.FromSlash(rel))); err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removals == nil {
		s.removals = map[string]bool{}
	}
	s.removals[rel] = true
}

// carryOver links into the stage every file of the output that the stage does not hold and
// that is not marked for removal.
func (s *Stage) carryOver(staged map[string]bool) error {
	type link struct {
		src, dst string
		d        fs.DirEntry
	}
	var links []link
	err := filepath.WalkDir(s.out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == s.out {
			return err
		}
		if s.inside && p == s.dir {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(s.out, p)
		slash := filepath.ToSlash(rel)
		if d.IsDir() || s.removals[slash] || staged[slash] {
			return nil // directories are made when a file needs them: those left empty go
		}
		links = append(links, link{p, filepath.Join(s.dir, rel), d})
		return nil
	})
	if err != nil {
		return err
	}
	// One system call or two per file: a few at a time keep the disk busy.
	return inParallel(links, func(l link) error {
		if err := s.mkdir(filepath.Dir(l.dst)); err != nil {
			return err
		}
		return linkOrCopy(l.src, l.dst, l.d)
	})
}

// fileWorkers is how many file system calls inParallel keeps in flight.
const fileWorkers = 8

// inParallel calls fn on every item, fileWorkers at a time, and returns the first error.
func inParallel[T any](items []T, fn func(T) error) error {
	jobs := make(chan T)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range fileWorkers {
		wg.Go(func() {
			for item := range jobs {
				if err := fn(item); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, item := range items {
		jobs <- item
	}
	close(jobs)
	wg.Wait()
	return first
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
	return writeFile(dst, body, info.Mode().Perm())
}

// swap gives the completed stage the output directory's mode (and owner, where this run may
// set it) and exchanges the two.
func (s *Stage) swap() error {
	info, err := os.Stat(s.out)
	if err != nil {
		return err
	}
	if err := os.Chmod(s.dir, info.Mode().Perm()); err != nil {
		return err
	}
	matchOwner(s.dir, info)
	return exchange(s.dir, s.out)
}

// moveEach renames each staged file into place, then removes the files marked for removal. A
// rename within one file system replaces a file in one step; from a stage on another one, the
// file is first copied to a temporary name beside its target.
func (s *Stage) moveEach() error {
	for _, rel := range s.staged {
		src := filepath.Join(s.dir, filepath.FromSlash(rel))
		dst := filepath.Join(s.out, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o777); err != nil { // the umask's mode
			return err
		}
		if err := os.Rename(src, dst); err == nil {
			continue
		} else if !errors.Is(err, errCrossDevice) {
			return err
		}
		if err := copyInto(src, dst); err != nil {
			return err
		}
	}
	for _, rel := range slices.Sorted(maps.Keys(s.removals)) {
		p := filepath.Join(s.out, filepath.FromSlash(rel))
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removeEmptyParents(s.out, filepath.Dir(p))
	}
	return nil
}

// copyInto writes src's content to a temporary file beside dst and renames it over dst.
func copyInto(src, dst string) error {
	body, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), tempPrefix+"*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(body)
	if err == nil {
		err = tmp.Chmod(info.Mode().Perm())
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// removeEmptyParents removes dir and its parents up to root while they are empty.
func removeEmptyParents(root, dir string) {
	for dir != root && len(dir) > len(root) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// Discard removes the stage and everything in it.
func (s *Stage) Discard() error { return removeTree(s.dir) }

// removeTree removes dir and everything in it, the entries two levels down a few at a time:
// after a swap dir is the old tree, tens of thousands of files for a large feed, and one
// remover leaves the other cores idle at the end of every run.
func removeTree(dir string) error {
	top, err := os.ReadDir(dir)
	if err != nil {
		return os.RemoveAll(dir)
	}
	var parts []string
	for _, e := range top {
		p := filepath.Join(dir, e.Name())
		children, err := os.ReadDir(p)
		if !e.IsDir() || err != nil {
			parts = append(parts, p)
			continue
		}
		for _, c := range children {
			parts = append(parts, filepath.Join(p, c.Name()))
		}
	}
	inParallel(parts, os.RemoveAll) // what fails here, the RemoveAll of dir reports
	return os.RemoveAll(dir)
}
