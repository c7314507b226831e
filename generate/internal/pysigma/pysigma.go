// Package pysigma runs the Sigma ecosystem's own tools for tests: sigma-cli, pySigma with
// SigmaHQ's validators and the Splunk, Elasticsearch, Kusto and SQLite backends, and
// yara-python, as testdata/pysigma/harness.py drives them, offline, in the virtual environment
// `make test` and .ci/run install (make pysigma-deps). A missing environment is a failure, not
// a skip.
package pysigma

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Check runs `sigma check --fail-on-error --fail-on-issues` with the repository's validation
// config (testdata/pysigma/sigma-check.yml) on dirs, and returns what it printed; the error
// says whether it passed.
func Check(root string, dirs ...string) (string, error) {
	config := filepath.Join(root, "testdata", "pysigma", "sigma-check.yml")
	args := append([]string{"sigma", "check", "--fail-on-error", "--fail-on-issues", "-c", config}, dirs...)
	out, err := run(root, args...)
	return string(out), err
}

// Verdict is what one target made of one rule: its queries, or pySigma's error.
type Verdict struct {
	Target  string   `json:"target"`
	Backend string   `json:"backend"`
	Rule    string   `json:"rule"` // the rule file's path below the directory, without .yml
	Queries []string `json:"queries"`
	Error   string   `json:"error"`
}

// Convert converts every rule under dir with each target harness.py lists.
func Convert(root, dir string) ([]Verdict, error) {
	var out []Verdict
	return out, runJSON(root, &out, "convert", dir)
}

// Evaluation is the rules pySigma's sqlite backend fires on one event case (a line of an
// --events file of sysmon or flat format).
type Evaluation struct {
	File  string   `json:"file"`
	Line  int      `json:"line"`
	Fires []string `json:"fires"`
}

// Evaluate runs every rule under rulesDir, converted by the sqlite backend, over the sysmon
// and flat events of the event files.
func Evaluate(root, rulesDir string, eventFiles ...string) ([]Evaluation, error) {
	var out []Evaluation
	return out, runJSON(root, &out, append([]string{"evaluate", rulesDir}, eventFiles...)...)
}

// ECSDocument is an event case as an ECS document (harness.py ecs).
type ECSDocument struct {
	File string         `json:"file"`
	Line int            `json:"line"`
	Doc  map[string]any `json:"doc"`
}

// ECS returns the sysmon and flat event cases of the files as ECS documents: each event's
// fields as they are, and each Sysmon field also under the names pySigma's ecs_windows
// pipeline gives it for the event's category.
func ECS(root string, eventFiles ...string) ([]ECSDocument, error) {
	var out []ECSDocument
	return out, runJSON(root, &out, append([]string{"ecs"}, eventFiles...)...)
}

// YARAResult is what yara-python's libyara says of each rule file compiled alone, and of all
// of them compiled together ("" as File).
type YARAResult struct {
	Version  string        `json:"version"`
	Files    int           `json:"files"`
	Messages []YARAMessage `json:"messages"`
}

// YARAMessage is an error or a warning of libyara's compiler.
type YARAMessage struct {
	File    string `json:"file"`
	Kind    string `json:"kind"` // error or warning
	Message string `json:"message"`
}

// CompileYARA compiles the .yar files under dir with yara-python (libyara 4.5).
func CompileYARA(root, dir string) (YARAResult, error) {
	var out YARAResult
	return out, runJSON(root, &out, "yara", dir)
}

// ScanYARA compiles rule files together with yara-python (libyara 4.5) and returns the sorted
// names of the rules each target matches, by target.
func ScanYARA(root string, rules, targets []string) (map[string][]string, error) {
	out := map[string][]string{}
	args := append(append(append([]string{"yara-scan"}, rules...), "--"), targets...)
	return out, runJSON(root, &out, args...)
}

// IOCs are the values ioc-finder finds in a file, by kind (md5s, sha1s, sha256s, domains,
// ipv4s, urls).
type IOCs map[string][]string

// FindIOCs runs ioc-finder over files and returns what it finds in each, by file.
func FindIOCs(root string, files ...string) (map[string]IOCs, error) {
	out := map[string]IOCs{}
	return out, runJSON(root, &out, append([]string{"iocs"}, files...)...)
}

func runJSON(root string, out any, args ...string) error {
	stdout, err := run(root, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		return fmt.Errorf("harness.py %s: output: %w", args[0], err)
	}
	return nil
}

// run runs harness.py with the virtual environment's Python; stderr goes into the error.
func run(root string, args ...string) ([]byte, error) {
	python := filepath.Join(root, "testdata", "pysigma", "venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		return nil, fmt.Errorf("%s: %w (run make pysigma-deps)", python, err)
	}
	cmd := exec.Command(python, append([]string{filepath.Join(root, "testdata", "pysigma", "harness.py")}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return stdout.Bytes(), fmt.Errorf("harness.py %s: %w\n%s%s", args[0], err, tail(stdout.String()), tail(stderr.String()))
	}
	return stdout.Bytes(), err
}

func tail(s string) string {
	const n = 4000
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
