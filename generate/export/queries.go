package export

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

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
