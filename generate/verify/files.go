package verify

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/safefs"
)

// RuleFiles are the rule files of a directory, sorted.
type RuleFiles struct {
	Dir   string
	YARA  []string // *.yar, *.yara
	Sigma []string // *.yml, *.yaml
	// Skipped are the entries never opened: links out of the directory, FIFOs, devices.
	Skipped []safefs.Skip
}

// Find lists the rule files under dir, passing over hidden files and directories; it never
// leaves dir and reads regular files only (safefs.Walk). A directory without any rule file is
// an error: a gate that checks nothing must not pass.
func Find(dir string) (RuleFiles, error) {
	rf := RuleFiles{Dir: dir}
	info, err := os.Stat(dir)
	if err != nil {
		return rf, fmt.Errorf("rules: %w", err)
	}
	if !info.IsDir() {
		return rf, fmt.Errorf("rules %s: not a directory", dir)
	}
	rf.Skipped, err = safefs.Walk(dir, safefs.Options{}, func(p string, d fs.DirEntry) error {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yar", ".yara":
			rf.YARA = append(rf.YARA, p)
		case ".yml", ".yaml":
			rf.Sigma = append(rf.Sigma, p)
		}
		return nil
	})
	if err != nil {
		return rf, fmt.Errorf("rules %s: %w", dir, err)
	}
	if len(rf.YARA)+len(rf.Sigma) == 0 {
		return rf, fmt.Errorf("rules %s: no .yar, .yara, .yml or .yaml files", dir)
	}
	slices.Sort(rf.YARA)
	slices.Sort(rf.Sigma)
	return rf, nil
}

// skippedCases are warnings naming the entries a walk never opened.
func (rf RuleFiles) skippedCases(suite string) []Case {
	var out []Case
	for _, s := range rf.Skipped {
		out = append(out, Case{Suite: suite, Name: "not-read", File: s.Path, Status: Warn, Message: s.Reason})
	}
	return out
}

// SigmaName names a Sigma rule file as event cases do: its path below the rules directory,
// without the extension and without a leading sigma/ (rules/sigma/x/y.yml is x/y).
func (rf RuleFiles) SigmaName(path string) string {
	rel, err := filepath.Rel(rf.Dir, path)
	if err != nil {
		rel = path
	}
	rel = filepath.ToSlash(rel)
	rel = strings.TrimPrefix(rel, "sigma/")
	return strings.TrimSuffix(rel, filepath.Ext(rel))
}
