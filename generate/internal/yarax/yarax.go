// Package yarax runs YARA-X for tests and benchmarks: rules a user loads must compile and match
// alike in libyara and in YARA-X. YARA-X is VirusTotal's official Python package (`yara-x` on
// PyPI), pinned with hashes in testdata/pysigma/requirements.txt beside the other oracles and
// driven by testdata/yarax/yarax.py in testdata/pysigma/venv; `make test` and .ci/run install
// it (make pysigma-deps), so a missing engine is a failure, not a skip.
package yarax

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Message is an error or warning of YARA-X's compiler; File is "" for one that only the
// files compiled together show.
type Message struct {
	File    string `json:"file"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// CheckResult is what YARA-X's compiler says of a set of rule files.
type CheckResult struct {
	Files    int       `json:"files"`
	Errors   []Message `json:"errors"`
	Warnings []Message `json:"warnings"`
}

// Clean says whether the rules compiled with no error and no warning.
func (r CheckResult) Clean() bool { return len(r.Errors) == 0 && len(r.Warnings) == 0 }

func (r CheckResult) String() string {
	var b strings.Builder
	for _, m := range append(r.Errors, r.Warnings...) {
		fmt.Fprintf(&b, "%s: %s\n", m.File, m.Message)
	}
	return b.String()
}

// Check compiles rule files (or directories of .yar files) together, as one namespace.
func Check(root string, rules ...string) (CheckResult, error) {
	var out CheckResult
	err := run(root, &out, append([]string{"check"}, rules...)...)
	return out, err
}

// Scan compiles rule files (or directories) and returns the sorted names of the rules each
// target matches, by target.
func Scan(root string, rules, targets []string) (map[string][]string, error) {
	var results []struct {
		Target string   `json:"target"`
		Rules  []string `json:"rules"`
	}
	args := append(append(append([]string{"scan"}, rules...), "--"), targets...)
	if err := run(root, &results, args...); err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(results))
	for _, r := range results {
		out[r.Target] = r.Rules
	}
	return out, nil
}

// ScanBuffers scans each buffer, written to a file under dir, and returns the rules each
// matched, in the buffers' order.
func ScanBuffers(root, dir string, rules []string, bufs [][]byte) ([][]string, error) {
	targets := make([]string, len(bufs))
	for i, b := range bufs {
		targets[i] = filepath.Join(dir, "buf-"+strconv.Itoa(i))
		if err := os.WriteFile(targets[i], b, 0o644); err != nil {
			return nil, err
		}
	}
	byTarget, err := Scan(root, rules, targets)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(bufs))
	for i, t := range targets {
		out[i] = byTarget[t]
	}
	return out, nil
}

// BenchResult is the scan cost of a ruleset in YARA-X against a baseline ruleset, over a corpus
// held in memory: the sums of each file's fastest scan.
type BenchResult struct {
	Files          int     `json:"files"`
	Bytes          int64   `json:"bytes"`
	CompileSeconds float64 `json:"compile_s"`
	RulesSeconds   float64 `json:"rules_s"`
	BaseSeconds    float64 `json:"baseline_s"`
	Ratio          float64 `json:"ratio"`
}

// Bench measures rules against baseline over up to mb MiB of corpus, in passes passes.
func Bench(root, corpus string, mb, passes int, baseline string, rules ...string) (BenchResult, error) {
	var out BenchResult
	args := append([]string{"bench", corpus, strconv.Itoa(mb), strconv.Itoa(passes), baseline}, rules...)
	err := run(root, &out, args...)
	return out, err
}

// run runs yarax.py (root is the repository) and decodes its JSON output into out. A crash
// is reported with what it printed.
func run(root string, out any, args ...string) error {
	script := filepath.Join(root, "testdata", "yarax", "yarax.py")
	python := filepath.Join(root, "testdata", "pysigma", "venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		return fmt.Errorf("YARA-X is not installed (%v): run make pysigma-deps", err)
	}
	cmd := exec.Command(python, append([]string{script}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("yarax.py %s: %w\n%s", args[0], err, tail(stderr.String(), 2000))
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("yarax.py %s: output: %w", args[0], err)
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
