package verify

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RuleFiles are the rule files of a directory, sorted.
type RuleFiles struct {
	Dir   string
	YARA  []string // *.yar, *.yara
	Sigma []string // *.yml, *.yaml
}

// Find lists the rule files under dir, passing over hidden files and directories. A directory
// without any rule file is an error: a gate that checks nothing must not pass.
func Find(dir string) (RuleFiles, error) {
	rf := RuleFiles{Dir: dir}
	info, err := os.Stat(dir)
	if err != nil {
		return rf, fmt.Errorf("rules: %w", err)
	}
	if !info.IsDir() {
		return rf, fmt.Errorf("rules %s: not a directory", dir)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
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
