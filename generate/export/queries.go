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
	"maps"
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
	meta sigmaMeta
	file string // below the rules directory's sigma/
	id   string
	// part of parts: the rule's share of the alternatives, when a limit cut it into parts
	part, parts int
	// hashes, for the rule that looks a rule's stored hashes up (its query is the target's)
	hashes []storedHash
	query  string
}

// title is the rule's title, with its part when the platform's limit cut it into several.
func (r queryRule) title() string {
	if r.hashes != nil {
		return r.meta.Title + " (stored hashes)"
	}
	if r.parts > 1 {
		return fmt.Sprintf("%s (part %d of %d)", r.meta.Title, r.part, r.parts)
	}
	return r.meta.Title
}

// queryTarget is a SIEM whose detections are queries pySigma converts: its backend and
// pipelines (with rulegen's own), and the platform's limit on a query.
type queryTarget struct {
	name      string
	backend   string
	pipelines []string
	own       []pipelineFile
	// over measures a query against the platform's limit: its share of it (above 1 past it)
	// and, past it, why the platform refuses it. Nil for a platform with no documented limit.
	over func(query string) (float64, string)
	// storeAbove is the most hashes a Windows process rule keeps in its query; past it they go
	// to the target's indicator store (store.go). 0: the target has none.
	storeAbove int
	// lookupRule, for a target whose lookup pySigma converts, is the Sigma rule that looks a
	// rule's stored hashes up (nil: the target writes its lookup itself).
	lookupRule func(meta sigmaMeta, hashes []storedHash) []byte
}

// maxParts is the most rules a rule past a limit is cut into: more would crowd the platform
// (Sentinel takes 512 analytics rules a workspace), and a store takes big hash sets.
const maxParts = 50

// splitRounds is how many times a rule past a limit is cut into twice as many parts before
// it is listed as one the target cannot take.
const splitRounds = 3

// convertedRules converts the rules directory's Sigma rules (not the deprecated ones) with
// the target's backend, and returns the queries and, as TSV lines, the rules it does not
// convert with the reason. A query past the platform's limit is converted again as parts
// within it, each a rule of its own (splitRule).
func convertedRules(opts Options, qt queryTarget) ([]queryRule, []string, error) {
	sigmaDir := filepath.Join(opts.Rules, "sigma")
	paths, err := activeSigmaRules(sigmaDir)
	if err != nil {
		return nil, nil, err
	}
	python := cmp.Or(opts.Python, "python3")
	metas, plan, err := readRules(qt, paths)
	defer plan.cleanup()
	if err != nil {
		return nil, nil, err
	}
	var toConvert []string
	for _, path := range paths {
		src, stored := plan.rest[path]
		switch {
		case !stored:
			toConvert = append(toConvert, path)
		case src != "":
			toConvert = append(toConvert, src)
		}
		if lookup := plan.lookup[path]; lookup != "" {
			toConvert = append(toConvert, lookup)
		}
	}
	converted, err := convertQueries(python, qt, toConvert)
	if err != nil {
		return nil, nil, err
	}
	for path, src := range plan.rest { // a stored rule's query is that of what it detects besides its hashes
		converted[path] = conversion{}
		if src != "" {
			converted[path] = converted[src]
		}
	}
	parts, tooBig, err := convertParts(python, qt, paths, plan.rest, converted)
	if err != nil {
		return nil, nil, err
	}
	var rules []queryRule
	var unsupported []string
	firstWithID := map[string]string{}
	for i, path := range paths {
		rel, _ := filepath.Rel(sigmaDir, path)
		file := filepath.ToSlash(rel)
		meta := metas[i]
		listed := func(why string) {
			unsupported = append(unsupported, fmt.Sprintf("%s\t%s\t%s", tsvField(file), tsvField(meta.ID), tsvField(why)))
		}
		if first, dup := firstWithID[meta.ID]; dup {
			listed("its id is that of " + first + ", which is exported") // a platform keeps one rule per id; lint refuses two
			continue
		}
		firstWithID[meta.ID] = file
		if hashes, stored := plan.hashes[path]; stored {
			lookup := queryRule{meta: meta, file: file, id: lookupID(meta.ID), hashes: hashes}
			if src := plan.lookup[path]; src != "" {
				lc := converted[src]
				if lc.Error != "" || len(lc.Queries) != 1 { // rulegen's own rule: a defect, not the input's
					return nil, nil, fmt.Errorf("export: %s: the lookup of its hashes does not convert: %s", path, lc.Error)
				}
				lookup.query = lc.Queries[0]
			}
			rules = append(rules, lookup)
			if plan.rest[path] == "" {
				continue // nothing but hashes
			}
		}
		c := converted[path]
		why := cmp.Or(c.Error, tooBig[path])
		if why == "" && len(c.Queries) == 0 {
			why = "no query"
		}
		if why != "" {
			listed(why)
			continue
		}
		rules = append(rules, queryRules(meta, file, c.Queries, parts[path])...)
	}
	return rules, unsupported, nil
}

// storePlan is what goes to a target's indicator store: by rule file, its hashes, the file of
// what it detects besides them ("" for nothing) and, for a target whose lookup pySigma
// converts, the file of the Sigma rule that looks them up.
type storePlan struct {
	hashes       map[string][]storedHash
	rest, lookup map[string]string
	dir          string // of the files, removed by cleanup
}

func (p *storePlan) cleanup() {
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

// write writes a file of the plan, named by the rule file's index and what it is.
func (p *storePlan) write(kind string, body []byte) (string, error) {
	if p.dir == "" {
		dir, err := os.MkdirTemp("", "rulegen-store-")
		if err != nil {
			return "", fmt.Errorf("export: %w", err)
		}
		p.dir = dir
	}
	path := filepath.Join(p.dir, fmt.Sprintf("%d-%s.yml", len(p.hashes), kind))
	if err := os.WriteFile(path, body, 0o600); err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	return path, nil
}

// readRules reads each rule file once: its meta, in the order of paths, and whether its
// hashes go to the target's indicator store.
func readRules(qt queryTarget, paths []string) ([]sigmaMeta, *storePlan, error) {
	plan := &storePlan{hashes: map[string][]storedHash{}, rest: map[string]string{}, lookup: map[string]string{}}
	metas := make([]sigmaMeta, len(paths))
	for i, path := range paths {
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, plan, fmt.Errorf("export: %w", err)
		}
		if metas[i], err = parseSigmaMeta(path, text); err != nil {
			return nil, plan, err
		}
		if qt.storeAbove == 0 || countHashes(text) <= qt.storeAbove {
			continue
		}
		hashes, rest, ok := storeHashes(text)
		if !ok || len(hashes) <= qt.storeAbove {
			continue
		}
		plan.rest[path] = ""
		if rest != nil {
			if plan.rest[path], err = plan.write("rest", rest); err != nil {
				return nil, plan, err
			}
		}
		if qt.lookupRule != nil {
			if plan.lookup[path], err = plan.write("lookup", qt.lookupRule(metas[i], hashes)); err != nil {
				return nil, plan, err
			}
		}
		plan.hashes[path] = hashes
	}
	return metas, plan, nil
}

// queryRules are the rules a Sigma rule's queries make: one, or one per query (id-N) when the
// backend gives several, or one per part (id-partN) when a limit cut it.
func queryRules(meta sigmaMeta, file string, queries, parts []string) []queryRule {
	form := "%s-%d"
	if parts != nil {
		queries, form = parts, "%s-part%d"
	}
	var out []queryRule
	for i, q := range queries {
		r := queryRule{meta: meta, file: file, id: meta.ID, query: q}
		if len(queries) > 1 {
			r.id = fmt.Sprintf(form, meta.ID, i+1)
		}
		if parts != nil {
			r.part, r.parts = i+1, len(parts)
		}
		out = append(out, r)
	}
	return out
}

// convertParts converts again, in parts, the rules whose query is past the platform's limit:
// the queries of each rule's parts, and why a rule could not be brought within the limit. A
// stored rule's parts are cut from what it detects besides its hashes (sources).
func convertParts(python string, qt queryTarget, paths []string, sources map[string]string, converted map[string]conversion) (map[string][]string, map[string]string, error) {
	parts, tooBig := map[string][]string{}, map[string]string{}
	if qt.over == nil {
		return parts, tooBig, nil
	}
	pending := map[string]int{} // rule file: into how many parts
	for _, path := range paths {
		c := converted[path]
		for _, q := range c.Queries {
			if share, why := qt.over(q); why != "" {
				tooBig[path] = why
				if len(c.Queries) == 1 { // a rule the backend gives several queries for is not cut
					pending[path] = int(share*1.25) + 1
				}
				break
			}
		}
	}
	for path, n := range pending {
		if n > maxParts {
			tooBig[path] += fmt.Sprintf("; it would take %d rules, more than the %d rulegen cuts a rule into", n, maxParts)
			delete(pending, path)
		}
	}
	for round := 0; round < splitRounds && len(pending) > 0; round++ {
		dir, err := os.MkdirTemp("", "rulegen-parts-")
		if err != nil {
			return nil, nil, fmt.Errorf("export: %w", err)
		}
		defer os.RemoveAll(dir)
		files := map[string][]string{}
		var all []string
		for _, path := range slices.Sorted(maps.Keys(pending)) {
			text, err := os.ReadFile(cmp.Or(sources[path], path))
			if err != nil {
				return nil, nil, fmt.Errorf("export: %w", err)
			}
			texts, err := splitRule(text, pending[path])
			if err != nil {
				tooBig[path] += "; " + err.Error()
				delete(pending, path)
				continue
			}
			for i, t := range texts {
				f := filepath.Join(dir, fmt.Sprintf("%d-%d-%d.yml", round, len(files), i))
				if err := os.WriteFile(f, t, 0o600); err != nil {
					return nil, nil, fmt.Errorf("export: %w", err)
				}
				files[path] = append(files[path], f)
				all = append(all, f)
			}
		}
		if len(all) == 0 {
			break
		}
		out, err := convertQueries(python, qt, all)
		if err != nil {
			return nil, nil, err
		}
		for path, fs := range files {
			queries, fits := partQueries(qt, fs, out)
			switch {
			case queries == nil:
				tooBig[path] += "; its parts do not convert"
				delete(pending, path)
			case fits:
				parts[path] = queries
				delete(tooBig, path)
				delete(pending, path)
			case pending[path]*2 > maxParts:
				tooBig[path] += fmt.Sprintf("; in %d parts one is still past it, and more than %d are too many", pending[path], maxParts)
				delete(pending, path)
			default:
				pending[path] *= 2
			}
		}
	}
	for path := range pending {
		tooBig[path] += fmt.Sprintf("; in %d parts one is still past it", pending[path]/2)
	}
	return parts, tooBig, nil
}

// partQueries are the queries of a rule's parts (nil when one does not convert to a single
// query), and whether each is within the platform's limit.
func partQueries(qt queryTarget, files []string, out map[string]conversion) ([]string, bool) {
	var queries []string
	fits := true
	for _, f := range files {
		c := out[f]
		if c.Error != "" || len(c.Queries) != 1 {
			return nil, false
		}
		if _, why := qt.over(c.Queries[0]); why != "" {
			fits = false
		}
		queries = append(queries, c.Queries[0])
	}
	return queries, fits
}

// unsupportedRules is the unsupported.tsv of the rules a backend does not convert.
func unsupportedRules(backend string, lines []string) atomicdir.File {
	body := "# Sigma rules " + backend + " does not convert, or whose query no parts bring within the platform's limit.\n# rule\tid\treason\n" + strings.Join(lines, "\n") + "\n"
	return atomicdir.File{Path: "unsupported.tsv", Body: []byte(body)}
}

// detectionExport is a detection target's export under way: the last export's state, the
// rules converted, and the state and result being made.
type detectionExport struct {
	out         string
	backend     string // what converts the rules, as unsupported.tsv names it
	last, state exportState
	rules       []queryRule
	unsupported []string
	res         *Result
}

// startDetections reads the last export's state, then converts the rules: a directory that
// belongs to another target fails before minutes of pySigma.
func startDetections(opts Options, target, backend string, qt queryTarget) (*detectionExport, error) {
	last, err := readState(opts.Out, target)
	if err != nil {
		return nil, err
	}
	rules, unsupported, err := convertedRules(opts, qt)
	if err != nil {
		return nil, err
	}
	return &detectionExport{out: opts.Out, backend: backend, last: last, state: exportState{Target: target, Rules: map[string]ruleVersion{}},
		rules: rules, unsupported: unsupported, res: detectionResult(rules, unsupported)}, nil
}

// version is the version the rule id is exported with (nextVersion), noted in the new state.
func (d *detectionExport) version(id, query string) ruleVersion {
	v := nextVersion(d.last, id, query)
	d.state.Rules[id] = v
	return v
}

// write adds to files the rules the backend did not convert and, when rules retired since the
// last export, the file deletion makes of their ids; then writes the export with its state.
func (d *detectionExport) write(files []atomicdir.File, deletion func(gone []string) atomicdir.File) (*Result, error) {
	if len(d.unsupported) > 0 {
		files = append(files, unsupportedRules(d.backend, d.unsupported))
	}
	if gone := retiredRules(d.last, d.state); len(gone) > 0 {
		d.res.Deletions = len(gone)
		files = append(files, deletion(gone))
	}
	return writeExport(d.out, d.res, files, d.state)
}

// detectionResult is a detection target's Result before it writes: the rules it exports, the
// Sigma rules it does not, and those it exports in parts.
func detectionResult(rules []queryRule, unsupported []string) *Result {
	res := &Result{Rules: len(rules), Unsupported: len(unsupported)}
	files := map[string]bool{}
	for _, r := range rules {
		files[r.file] = true
		if r.part == 1 {
			res.Split++
		}
		if r.hashes != nil {
			res.Stored++
		}
	}
	for _, line := range unsupported {
		file, _, _ := strings.Cut(line, "\t")
		files[file] = true
	}
	res.Sigma = len(files)
	return res
}

// nextVersion is the version a rule is exported with: 1 the first time, then the last
// export's, one higher when the query changed since.
func nextVersion(last exportState, id, query string) ruleVersion {
	digest := sha256.Sum256([]byte(query))
	v := ruleVersion{Query: hex.EncodeToString(digest[:]), Version: 1}
	if old, ok := last.Rules[id]; ok {
		v.Version = old.Version
		if old.Query != v.Query && old.Query != "" { // "": an export that kept no digest (splunk's first)
			v.Version++
		}
	}
	return v
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

// retiredStores are the indicator stores the last export deployed that this one does not.
func retiredStores(last, now exportState) []string {
	var gone []string
	for _, s := range last.Stores {
		if !slices.Contains(now.Stores, s) {
			gone = append(gone, s)
		}
	}
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
	slices.Sort(res.Files)
	return res, writeAll(out, files)
}

// convertScript runs pySigma's Elasticsearch backend: query languages stay with pySigma.
//
//go:embed convert.py
var convertScript []byte

// pySigmaPins are the packages each query target needs in the Python it runs, as the tests pin
// them (testdata/pysigma/requirements.txt).
var pySigmaPins = map[string]string{
	"elastic":  "pysigma==1.5.1 pysigma-backend-elasticsearch==2.1.1",
	"sentinel": "pysigma==1.5.1 pysigma-backend-kusto==1.0.1",
	"splunk":   "pysigma==1.5.1 pysigma-backend-splunk==2.1.0",
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
	Date           string   `yaml:"date"`
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

func parseSigmaMeta(path string, data []byte) (sigmaMeta, error) {
	var m sigmaMeta
	if err := yaml.Unmarshal(data, &m); err != nil || m.ID == "" || m.Title == "" {
		return m, fmt.Errorf("export: %s: not a Sigma rule with a title and an id (%v)", path, err)
	}
	return m, nil
}

type conversion struct {
	Queries []string `json:"queries"`
	Error   string   `json:"error"`
}

// pipelineFile is a processing pipeline of rulegen's own, given to pySigma with the backend's.
type pipelineFile struct {
	name string
	body []byte
}

// convertQueries runs convert.py with python, the target's backend and pipelines over the
// rule files.
func convertQueries(python string, qt queryTarget, paths []string) (map[string]conversion, error) {
	if len(paths) == 0 {
		return map[string]conversion{}, nil
	}
	dir, err := os.MkdirTemp("", "rulegen-convert-")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "convert.py")
	if err := os.WriteFile(script, convertScript, 0o600); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	args := append([]string{qt.backend}, qt.pipelines...)
	for _, p := range qt.own {
		path := filepath.Join(dir, p.name)
		if err := os.WriteFile(path, p.body, 0o600); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		args = append(args, path)
	}
	cmd := exec.Command(python, append([]string{script}, args...)...)
	cmd.Stdin = strings.NewReader(strings.Join(paths, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var missing struct{ Missing string }
	if json.Unmarshal(out, &missing) == nil && missing.Missing != "" || errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("export --target %s converts with pySigma, which %s lacks (%s): pip install %s, or give --python a Python that has them",
			qt.name, python, cmp.Or(missing.Missing, "no such program"), pySigmaPins[qt.name])
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
