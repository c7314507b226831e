package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"

	"github.com/rulegen/rulegen/generate/runreport"
)

// outputKinds are the directories and extensions generate writes: only such files can be
// orphans, so that a README or CI file kept in the output directory is never touched.
var outputKinds = map[string]string{"yara": ".yar", "sigma": ".yml", "skipped": ".tsv", runreport.IndexDir: ".json"}

// ruleFiles lists the files under out that generate could have written, as sorted slash paths
// relative to out. Hidden files (stages, temporaries) are not rule files.
func ruleFiles(out string) ([]string, error) {
	var files []string
	for dir, ext := range outputKinds {
		listed, err := listFiles(out, dir)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", out, err)
		}
		for _, rel := range listed {
			if path.Ext(rel) == ext {
				files = append(files, rel)
			}
		}
	}
	slices.Sort(files)
	return files, nil
}

// listFiles lists the files below out/sub, hidden ones left out, as sorted slash paths relative
// to out; a missing sub has none.
func listFiles(out, sub string) ([]string, error) {
	root := filepath.Join(out, filepath.FromSlash(sub))
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == root {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	slices.Sort(files)
	return files, err
}

// Orphans lists the rule files under out, as sorted slash paths relative to it, that are not
// in produced: left over from reports that are gone or now give no rule.
func Orphans(out string, produced map[string]bool) ([]string, error) {
	files, err := ruleFiles(out)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(files, func(rel string) bool { return produced[rel] }), nil
}

// Comparison is what --check found: the files that differ from what the inputs generate, as
// unified diffs, and the orphans.
type Comparison struct {
	Dir      string
	Matching int               // files identical to what the inputs generate
	Diffs    map[string][]byte // by slash path
	Orphans  []string
}

// Stale says whether the directory differs from what the inputs generate.
func (c *Comparison) Stale() bool { return len(c.Diffs)+len(c.Orphans) > 0 }

// Write prints the diffs in path order, the orphans, and a closing line.
func (c *Comparison) Write(w io.Writer) {
	for _, p := range slices.Sorted(maps.Keys(c.Diffs)) {
		w.Write(c.Diffs[p])
	}
	for _, o := range c.Orphans {
		fmt.Fprintf(w, "orphan: %s is produced by no input (remove it, or run generate --prune)\n", path.Join(c.Dir, o))
	}
	if c.Stale() {
		fmt.Fprintf(w, "%s is stale: %d files differ from what the inputs generate, %d orphaned; run rulegen generate --prune and commit\n", c.Dir, len(c.Diffs), len(c.Orphans))
		return
	}
	fmt.Fprintf(w, "%s is up to date: %d files match what the inputs generate\n", c.Dir, c.Matching)
}

// Checker compares a run's files with the output directory without writing anything. Put is
// safe for concurrent use.
type Checker struct {
	dir      string
	mu       sync.Mutex
	produced map[string]bool
	diffs    map[string][]byte
}

// NewChecker compares with dir.
func NewChecker(dir string) *Checker {
	return &Checker{dir: dir, produced: map[string]bool{}, diffs: map[string][]byte{}}
}

// Put compares one file with its counterpart in the directory.
func (c *Checker) Put(f File) error {
	old, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(f.Path)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check %s: %w", f.Path, err)
	}
	var d []byte
	if err != nil || !bytes.Equal(old, f.Body) {
		name := path.Join(filepath.ToSlash(c.dir), f.Path)
		d = diff.Diff(name, old, name+" (generated)", f.Body)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.produced[f.Path] = true
	if d != nil {
		c.diffs[f.Path] = d
	}
	return nil
}

// Same notes a file found as it would be written.
func (c *Checker) Same(rel string) {
	c.mu.Lock()
	c.produced[rel] = true
	c.mu.Unlock()
}

// Write compares a file known to differ (or to be new).
func (c *Checker) Write(f File) error { return c.Put(f) }

// Result returns the comparison, with the orphans of the run (rule files it neither made nor
// keeps).
func (c *Checker) Result(orphans []string) (*Comparison, error) {
	matching := 0
	for p := range c.produced {
		if _, differs := c.diffs[p]; !differs && !atomicdir.Bookkeeping(p) {
			matching++
		}
	}
	return &Comparison{Dir: c.dir, Matching: matching, Diffs: c.diffs, Orphans: orphans}, nil
}
