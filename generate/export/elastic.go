package export

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
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
	"github.com/rulegen/rulegen/generate/normalize"
)

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

// ElasticRule is one detection rule as Elastic Security's rule import (POST
// /api/detection_engine/rules/_import, NDJSON) takes it.
type ElasticRule struct {
	RuleID         string          `json:"rule_id"`
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	Type           string          `json:"type"`
	Language       string          `json:"language"`
	Query          string          `json:"query"`
	Index          []string        `json:"index"`
	Interval       string          `json:"interval"`
	From           string          `json:"from"`
	Enabled        bool            `json:"enabled"`
	Severity       string          `json:"severity"`
	RiskScore      int             `json:"risk_score"`
	Author         []string        `json:"author"`
	License        string          `json:"license,omitempty"`
	References     []string        `json:"references"`
	FalsePositives []string        `json:"false_positives"`
	Tags           []string        `json:"tags"`
	Threat         []ElasticThreat `json:"threat"`
	Version        int             `json:"version"`
	MaxSignals     int             `json:"max_signals"`
}

// ElasticThreat is an ATT&CK tactic of a rule with its techniques.
type ElasticThreat struct {
	Framework string             `json:"framework"`
	Tactic    ElasticThreatEntry `json:"tactic"`
	Technique []ElasticTechnique `json:"technique,omitempty"`
}

// ElasticThreatEntry is a tactic or technique: id, name, reference.
type ElasticThreatEntry struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Reference string `json:"reference"`
}

// ElasticTechnique is a technique with its sub-techniques.
type ElasticTechnique struct {
	ElasticThreatEntry
	Subtechnique []ElasticThreatEntry `json:"subtechnique,omitempty"`
}

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

// severities maps Sigma's level to Elastic's severity and its default risk score.
var severities = map[string]struct {
	severity string
	risk     int
}{"informational": {"low", 21}, "low": {"low", 21}, "medium": {"medium", 47}, "high": {"high", 73}, "critical": {"critical", 99}}

// tactics are ATT&CK Enterprise's tactics by the names Sigma's tags use.
var tactics = map[string]ElasticThreatEntry{
	"reconnaissance": {"TA0043", "Reconnaissance", ""}, "resource-development": {"TA0042", "Resource Development", ""},
	"initial-access": {"TA0001", "Initial Access", ""}, "execution": {"TA0002", "Execution", ""},
	"persistence": {"TA0003", "Persistence", ""}, "privilege-escalation": {"TA0004", "Privilege Escalation", ""},
	"defense-evasion": {"TA0005", "Defense Evasion", ""}, "credential-access": {"TA0006", "Credential Access", ""},
	"discovery": {"TA0007", "Discovery", ""}, "lateral-movement": {"TA0008", "Lateral Movement", ""},
	"collection": {"TA0009", "Collection", ""}, "command-and-control": {"TA0011", "Command and Control", ""},
	"exfiltration": {"TA0010", "Exfiltration", ""}, "impact": {"TA0040", "Impact", ""},
}

// ruleVersion is what the export state keeps of an exported rule: its query's digest and the
// version it was exported with, which rises when the query changes.
type ruleVersion struct {
	Query   string `json:"query_sha256"`
	Version int    `json:"version"`
}

// exportElastic writes rules.ndjson for Elastic Security's rule import from the rules
// directory's Sigma rules (not the deprecated ones), converted by pySigma.
func exportElastic(opts Options) (*Result, error) {
	rules, unsupported, err := convertedRules(opts, "elastic", []string{"lucene", "ecs_windows"})
	if err != nil {
		return nil, err
	}
	last, err := readState(opts.Out, "elastic")
	if err != nil {
		return nil, err
	}
	state := exportState{Target: "elastic", Rules: map[string]ruleVersion{}}
	res := &Result{Rules: len(rules), Unsupported: len(unsupported)}
	var ndjson bytes.Buffer
	for _, r := range rules {
		digest := sha256.Sum256([]byte(r.query))
		v := ruleVersion{Query: hex.EncodeToString(digest[:]), Version: 1}
		if old, ok := last.Rules[r.id]; ok {
			v.Version = old.Version
			if old.Query != v.Query {
				v.Version++
			}
		}
		state.Rules[r.id] = v
		line, err := json.Marshal(elasticRule(r.meta, r.id, r.query, v.Version, opts))
		if err != nil {
			return nil, err
		}
		ndjson.Write(line)
		ndjson.WriteByte('\n')
	}
	files := []atomicdir.File{{Path: "rules.ndjson", Body: ndjson.Bytes()}}
	if len(unsupported) > 0 {
		files = append(files, unsupportedRules("pySigma's Lucene backend (ecs_windows)", unsupported))
	}
	if gone := retiredRules(last, state); len(gone) > 0 {
		res.Deletions = len(gone)
		// The body of DELETE /api/detection_engine/rules/_bulk_delete.
		var objects []map[string]string
		for _, id := range gone {
			objects = append(objects, map[string]string{"rule_id": id})
		}
		body, _ := json.MarshalIndent(objects, "", "  ")
		files = append(files, atomicdir.File{Path: "delete.json", Body: append(body, '\n')})
	}
	return writeExport(opts.Out, res, files, state)
}

func elasticRule(meta sigmaMeta, id, query string, version int, opts Options) ElasticRule {
	sev := severities[meta.Level]
	if sev.severity == "" {
		sev = severities["medium"]
	}
	r := ElasticRule{RuleID: id, Name: meta.Title, Description: cmp.Or(meta.Description, meta.Title), Type: "query",
		Language: "lucene", Query: query, Index: opts.Index, Interval: "5m", From: "now-6m", Enabled: true,
		Severity: sev.severity, RiskScore: sev.risk, Author: []string{cmp.Or(meta.Author, "rulegen")}, License: opts.License,
		References: nonNil(meta.References), FalsePositives: nonNil(meta.FalsePositives), Tags: nonNil(meta.Tags),
		Threat: threats(meta.Tags), Version: version, MaxSignals: 100}
	if len(r.Index) == 0 {
		r.Index = DefaultElasticIndex
	}
	return r
}

// DefaultElasticIndex are the index patterns rules search unless --index says otherwise.
var DefaultElasticIndex = []string{"logs-*", "winlogbeat-*"}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// threats maps a rule's ATT&CK tags (attack.<tactic>, attack.tNNNN[.NNN]) to Elastic's threat
// list: each tactic with the techniques tagged that ATT&CK puts under it.
func threats(tags []string) []ElasticThreat {
	var tacticNames, techniques []string
	for _, tag := range tags {
		v, ok := strings.CutPrefix(strings.ToLower(tag), "attack.")
		switch {
		case !ok:
		case len(v) > 1 && v[0] == 't' && v[1] >= '0' && v[1] <= '9':
			techniques = append(techniques, strings.ToUpper(v))
		case tactics[v].ID != "":
			tacticNames = append(tacticNames, v)
		}
	}
	out := []ElasticThreat{}
	for _, name := range tacticNames {
		ta := tactics[name]
		ta.Reference = "https://attack.mitre.org/tactics/" + ta.ID + "/"
		th := ElasticThreat{Framework: "MITRE ATT&CK", Tactic: ta}
		byParent := map[string]int{}
		for _, id := range techniques {
			t, err := normalize.Technique(id)
			if err != nil || !slices.Contains(t.Tactics, name) {
				continue
			}
			parent, sub, _ := strings.Cut(t.ID, ".")
			i, ok := byParent[parent]
			if !ok {
				pt := t
				if sub != "" {
					if p, err := normalize.Technique(parent); err == nil {
						pt = p
					}
				}
				i = len(th.Technique)
				byParent[parent] = i
				th.Technique = append(th.Technique, ElasticTechnique{ElasticThreatEntry: ElasticThreatEntry{ID: parent, Name: pt.Name,
					Reference: "https://attack.mitre.org/techniques/" + parent + "/"}})
			}
			if sub != "" {
				th.Technique[i].Subtechnique = append(th.Technique[i].Subtechnique, ElasticThreatEntry{ID: t.ID, Name: t.Name,
					Reference: "https://attack.mitre.org/techniques/" + parent + "/" + sub + "/"})
			}
		}
		out = append(out, th)
	}
	return out
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

// readState reads the last export into out, for target; an empty state when there is none.
func readState(out, target string) (exportState, error) {
	path := filepath.Join(out, StateName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return exportState{Target: target}, nil
	}
	if err != nil {
		return exportState{}, fmt.Errorf("export: %w", err)
	}
	var last exportState
	if err := json.Unmarshal(data, &last); err != nil {
		return exportState{}, fmt.Errorf("export: %s: not rulegen's export state (remove it): %v", path, err)
	}
	if last.Target != target {
		return exportState{}, fmt.Errorf("export: %s holds an export for %s, not %s: give each target a directory of its own", out, last.Target, target)
	}
	return last, nil
}
