package atomicdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Dir is an output directory held for writing: symbolic links resolved, locked against other
// runs, with the stages that dead runs left removed and a fresh stage made for this run.
// Close releases it; a Dir that was never committed leaves the directory as it found it.
type Dir struct {
	Path    string // as the user gave it, for messages
	real    string // symbolic links resolved: where files land
	created bool   // this run made the directory
	lock    *lock
	stage   *Stage
}

// Open prepares dir for writing. A symbolic link is followed (the link stays, its target
// receives the rules); a missing directory is created with the umask's mode; a directory that
// another run holds is an error naming that run (ErrLocked), and nothing is changed.
func Open(dir string) (*Dir, error) {
	real, created, err := resolve(dir)
	if err != nil {
		return nil, err
	}
	d := &Dir{Path: dir, real: real, created: created}
	if d.lock, err = acquire(real, dir); err != nil {
		d.forget()
		return nil, err
	}
	if err := removeDeadStages(real); err != nil {
		d.Close()
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	if d.stage, err = newStage(real); err != nil {
		d.Close()
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	return d, nil
}

// resolve follows dir's symbolic links and creates the directory when it is missing.
func resolve(dir string) (real string, created bool, err error) {
	real, err = filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(dir); lerr == nil {
			target, _ := os.Readlink(dir)
			return "", false, fmt.Errorf("write %s: a symbolic link to %s, which does not exist", dir, target)
		}
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return "", false, fmt.Errorf("write %s: %w", dir, err)
		}
		real, err = filepath.EvalSymlinks(dir)
		created = true
	}
	if err != nil {
		return "", false, fmt.Errorf("write %s: %w", dir, err)
	}
	if info, err := os.Stat(real); err != nil || !info.IsDir() {
		return "", false, fmt.Errorf("write %s: not a directory", dir)
	}
	return real, created, nil
}

// Put stages one file (see Stage.Put).
func (d *Dir) Put(f File) error { return d.stage.Put(f) }

// Resolved is where the files land: the directory with symbolic links resolved.
func (d *Dir) Resolved() string { return d.real }

// Same notes a file found as it would be written (see Stage.Same).
func (d *Dir) Same(rel string) { d.stage.Same(rel) }

// Write stages a file known to be new or changed (see Stage.Write).
func (d *Dir) Write(f File) error { return d.stage.Write(f) }

// Remove marks a file of the directory for removal at Commit (see Stage.Remove).
func (d *Dir) Remove(rel string) { d.stage.Remove(rel) }

// Commit moves the staged files into place (see Stage.Commit).
func (d *Dir) Commit() (Written, error) {
	w, err := d.stage.Commit()
	if err == nil {
		d.created = false // it holds this run's rules now
	}
	return w, err
}

// Close discards what was not committed and releases the lock. A directory this run created
// and never committed to is removed again.
func (d *Dir) Close() {
	if d.stage != nil {
		d.stage.Discard()
	}
	d.lock.release()
	d.forget()
}

// forget removes the directory this run made, if nothing was committed to it.
func (d *Dir) forget() {
	if d.created {
		os.Remove(d.real) // only when empty
		d.created = false
	}
}

// A stage is named ".<name>.rulegen-stage-<digits>" after the output directory it is for, beside
// it or, on a mount point, inside it; per-file temporaries ".rulegen-tmp-<digits>". Versions
// before the lock named stages ".rulegen-stage-<digits>", beside the output directory.
const (
	stageInfix   = ".rulegen-stage-"
	legacyPrefix = ".rulegen-stage-"
	tempPrefix   = ".rulegen-tmp-"
)

func stagePrefix(out string) string { return "." + filepath.Base(out) + stageInfix }

var digits = regexp.MustCompile(`^[0-9]+(\.old)?$`)

// removeDeadStages removes what runs killed while writing dir left behind. It runs under the
// lock, so no live run owns any of it.
func removeDeadStages(dir string) error {
	parent := filepath.Dir(dir)
	for _, p := range []struct{ dir, prefix string }{
		{parent, stagePrefix(dir)},
		{parent, legacyPrefix},
		{dir, stagePrefix(dir)},
	} {
		entries, err := os.ReadDir(p.dir)
		if err != nil {
			if p.dir == parent && errors.Is(err, fs.ErrPermission) {
				continue
			}
			return err
		}
		for _, e := range entries {
			if rest, ok := strings.CutPrefix(e.Name(), p.prefix); ok && digits.MatchString(rest) {
				if err := os.RemoveAll(filepath.Join(p.dir, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	return removeTemps(dir)
}

// removeTemps removes the per-file temporaries a killed run left anywhere in the directory.
func removeTemps(dir string) error {
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasPrefix(e.Name(), tempPrefix) {
			return os.Remove(p)
		}
		return nil
	})
}
