package export

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
)

// queryRule is one query a target gets from a Sigma rule: the rule's meta, the id the target
// knows it by (the Sigma id; with -N when the backend gives several queries), the query.
type queryRule struct {
	meta  sigmaMeta
	id    string
	query string
}

// convertedRules converts the rules directory's Sigma rules (not the deprecated ones) with
// pySigma's backend and pipeline (args), and returns the queries and, as TSV lines, the rules
// the backend does not convert with its reason.
func convertedRules(opts Options, target string, args []string) ([]queryRule, []string, error) {
	sigmaDir := filepath.Join(opts.Rules, "sigma")
	paths, err := activeSigmaRules(sigmaDir)
	if err != nil {
		return nil, nil, err
	}
	converted, err := convertQueries(cmp.Or(opts.Python, "python3"), target, args, paths)
	if err != nil {
		return nil, nil, err
	}
	var rules []queryRule
	var unsupported []string
	for _, path := range paths {
		rel, _ := filepath.Rel(sigmaDir, path)
		meta, err := readSigmaMeta(path)
		if err != nil {
			return nil, nil, err
		}
		c := converted[path]
		if c.Error != "" || len(c.Queries) == 0 {
			unsupported = append(unsupported, fmt.Sprintf("%s\t%s\t%s", filepath.ToSlash(rel), meta.ID, tsvField(cmp.Or(c.Error, "no query"))))
			continue
		}
		for i, q := range c.Queries {
			id := meta.ID
			if len(c.Queries) > 1 { // a rule per query, each with an id of its own
				id = fmt.Sprintf("%s-%d", meta.ID, i+1)
			}
			rules = append(rules, queryRule{meta: meta, id: id, query: q})
		}
	}
	return rules, unsupported, nil
}

// unsupportedRules is the unsupported.tsv of the rules a backend does not convert.
func unsupportedRules(backend string, lines []string) atomicdir.File {
	body := "# Sigma rules " + backend + " does not convert.\n# rule\tid\treason\n" + strings.Join(lines, "\n") + "\n"
	return atomicdir.File{Path: "unsupported.tsv", Body: []byte(body)}
}

// retiredRules are the ids of the last export's rules that this one does not have, sorted.
func retiredRules(last, now exportState) []string {
	var gone []string
	for id := range last.Rules {
		if _, ok := now.Rules[id]; !ok {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	return gone
}

// writeExport adds the export state to files, notes the files in res and writes them into out.
func writeExport(out string, res *Result, files []atomicdir.File, state exportState) (*Result, error) {
	stateBody, _ := json.MarshalIndent(state, "", "  ")
	files = append(files, atomicdir.File{Path: StateName, Body: append(stateBody, '\n')})
	for _, f := range files {
		if !atomicdir.Bookkeeping(f.Path) {
			res.Files = append(res.Files, f.Path)
		}
	}
	return res, writeAll(out, files)
}

// convertScript runs pySigma's Elasticsearch backend: query languages stay with pySigma.
//
//go:embed convert.py
var convertScript []byte

// pySigmaPins are the packages each query target needs in the Python it runs, as the tests pin
// them (testdata/pysigma/requirements.txt).
var pySigmaPins = map[string]string{
	"elastic": "pysigma==1.5.1 pysigma-backend-elasticsearch==2.1.1",
	"splunk":  "pysigma==1.5.1 pysigma-backend-splunk==2.1.0",
}

// PySigmaPins says what to pip install for a target that converts queries.
func PySigmaPins(target string) string { return pySigmaPins[target] }

// sigmaMeta is what export reads of a Sigma rule beside its detection.
type sigmaMeta struct {
	Title          string   `yaml:"title"`
	ID             string   `yaml:"id"`
	Description    string   `yaml:"description"`
	Author         string   `yaml:"author"`
	References     []string `yaml:"references"`
	FalsePositives []string `yaml:"falsepositives"`
	Tags           []string `yaml:"tags"`
	Level          string   `yaml:"level"`
	Status         string   `yaml:"status"`
}

// activeSigmaRules are the rule files below dir but the deprecated ones, sorted; none when the
// rules directory has no Sigma rules at all (its reports made YARA only).
func activeSigmaRules(dir string) ([]string, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "deprecated" && filepath.Dir(path) == dir {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && strings.HasSuffix(path, ".yml") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return paths, nil
}

func readSigmaMeta(path string) (sigmaMeta, error) {
	var m sigmaMeta
	data, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("export: %w", err)
	}
	if err := yaml.Unmarshal(data, &m); err != nil || m.ID == "" || m.Title == "" {
		return m, fmt.Errorf("export: %s: not a Sigma rule with a title and an id (%v)", path, err)
	}
	return m, nil
}

type conversion struct {
	Queries []string `json:"queries"`
	Error   string   `json:"error"`
}

// convertQueries runs convert.py with python and the backend and pipeline args over the rule
// files, for target.
func convertQueries(python, target string, args []string, paths []string) (map[string]conversion, error) {
	script, err := os.CreateTemp("", "rulegen-convert-*.py")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer os.Remove(script.Name())
	if _, err := script.Write(convertScript); err != nil {
		script.Close()
		return nil, fmt.Errorf("export: %w", err)
	}
	script.Close()
	cmd := exec.Command(python, append([]string{script.Name()}, args...)...)
	cmd.Stdin = strings.NewReader(strings.Join(paths, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var missing struct{ Missing string }
	if json.Unmarshal(out, &missing) == nil && missing.Missing != "" || errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("export --target %s converts with pySigma, which %s lacks (%s): pip install %s, or give --python a Python that has them",
			target, python, cmp.Or(missing.Missing, "no such program"), pySigmaPins[target])
	}
	if err != nil {
		return nil, fmt.Errorf("export: pySigma: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var converted map[string]conversion
	if err := json.Unmarshal(out, &converted); err != nil {
		return nil, fmt.Errorf("export: pySigma's output: %w", err)
	}
	return converted, nil
}
