package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rulegen/rulegen/generate/export"
	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/output"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/synthfeed"
)

// bulkHashRules generates the rules of a bulk hash list of n lines, as malware databases
// publish them: one Windows process rule holding every hash. It returns the rules directory,
// the rule's Sigma id and its hashes (lower case, sorted).
func bulkHashRules(t *testing.T, n int) (string, string, []string) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in")
	if err := synthfeed.WriteHashList(filepath.Join(in, "samples.sha256"), n, 7); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(t.TempDir(), "rules")
	if _, err := output.Generate(context.Background(), []string{in}, output.Options{Out: rules,
		Pipeline: pipeline.Options{Render: render.Options{Author: "rulegen"}}, Today: "2026-12-01"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(rules, "sigma", "*", "proc_creation_win_*.yml"))
	if len(files) != 1 {
		t.Fatalf("%d process rules", len(files))
	}
	body, _ := os.ReadFile(files[0])
	var hashes []string
	for _, m := range regexp.MustCompile(`'SHA256=([0-9A-F]{64})'`).FindAllStringSubmatch(string(body), -1) {
		hashes = append(hashes, strings.ToLower(m[1]))
	}
	if len(hashes) != n {
		t.Fatalf("the rule holds %d hashes of %d", len(hashes), n)
	}
	slices.Sort(hashes)
	return rules, sigmaID(t, files[0]), hashes
}

// readCSV reads a CSV file whole: its header and its rows.
func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	return records[0], records[1:]
}

// stored reads the hashes a target's export keeps in its indicator store for the lookup rule
// id, sorted, and the rule that looks them up: its query and its description.
func stored(t *testing.T, target, out, id string) (hashes []string, query, description string) {
	t.Helper()
	switch target {
	case "elastic":
		for _, r := range readNDJSON(t, filepath.Join(out, "rules.ndjson")) {
			if r.RuleID == id {
				if r.Type != "threat_match" || !slices.Equal(r.ThreatIndex, []string{export.ElasticIndicatorIndex}) ||
					r.ThreatIndicatorPath != "threat.indicator" || len(r.ThreatMapping) == 0 || !strings.Contains(r.ThreatQuery, id) {
					t.Errorf("not an indicator match rule over %s: %+v", export.ElasticIndicatorIndex, r)
				}
				query, description = r.Query, r.Description
			}
		}
		f, err := os.Open(filepath.Join(out, "indicators.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var action struct {
				Index struct {
					Index string `json:"_index"`
					ID    string `json:"_id"`
				} `json:"index"`
			}
			if err := json.Unmarshal(sc.Bytes(), &action); err != nil || action.Index.Index != export.ElasticIndicatorIndex || !sc.Scan() {
				t.Fatalf("not a bulk request body: %s", sc.Text())
			}
			var doc export.ElasticIndicator
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&doc); err != nil || doc.Threat.Indicator.Type != "file" {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			if doc.Rulegen.RuleID == id {
				hashes = append(hashes, doc.Threat.Indicator.File.Hash["sha256"])
			}
		}
	case "splunk":
		search := readConf(t, filepath.Join(out, "default", "savedsearches.conf"))[export.SplunkStanza(id)]
		query, description = search["search"], search["description"]
		transforms := readConf(t, filepath.Join(out, "default", "transforms.conf"))[export.SplunkLookup]
		if transforms["filename"] != export.SplunkLookup+".csv" {
			t.Errorf("transforms.conf: %v", transforms)
		}
		header, rows := readCSV(t, filepath.Join(out, "lookups", export.SplunkLookup+".csv"))
		if !slices.Equal(header, []string{"rule_id", "algorithm", "hash"}) {
			t.Errorf("lookup header %q", header)
		}
		for _, r := range rows {
			if r[0] == id {
				hashes = append(hashes, r[2])
			}
		}
	case "sentinel":
		sigmaID := strings.TrimSuffix(id, "-hashes")
		rule := readSentinel(t, out)[export.SentinelID(id)]
		query, description = rule.Query, rule.Description
		alias := export.SentinelWatchlist(sigmaID)
		data, err := os.ReadFile(filepath.Join(out, "watchlist-"+alias+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var def export.SentinelWatchlistDefinition
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&def); err != nil || def.WatchlistAlias != alias || def.ItemsSearchKey != "SearchKey" || def.Source != "watchlist-"+alias+".csv" {
			t.Errorf("watchlist definition %+v: %v", def, err)
		}
		header, rows := readCSV(t, filepath.Join(out, def.Source))
		if header[0] != "SearchKey" {
			t.Errorf("watchlist header %q", header)
		}
		for _, r := range rows {
			hashes = append(hashes, r[0])
		}
	}
	slices.Sort(hashes)
	return hashes, query, description
}

// A bulk hash list of 10,000 samples gives one Sigma rule of 10,000 hashes, which no SIEM runs
// as one query nor as the dozens of rules its parts would be: for every SIEM target the hashes
// go to its indicator store (Elastic's indicator index, Splunk's lookup, Sentinel's watchlist),
// each once, none lost, and one rule within the platform's limits looks them up. When the
// report is pruned, the next export lists the store and its rule for deletion.
func TestBulkHashListGoesToIndicatorStores(t *testing.T) {
	root := golden.RepoRoot(t)
	rules, sigmaID, want := bulkHashRules(t, 10000)
	id := sigmaID + "-hashes"
	for _, target := range []string{"elastic", "splunk", "sentinel"} {
		t.Run(target, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), target)
			opts := export.Options{Target: target, Rules: rules, Out: out, Python: venvPython(t, root)}
			res, err := export.Export(opts)
			if err != nil || res.Rules != 1 || res.Unsupported != 0 {
				t.Fatalf("%+v, %v", res, err)
			}
			got, query, description := stored(t, target, out, id)
			if !slices.Equal(got, want) {
				t.Errorf("the store holds %d hashes, the rule %d", len(got), len(want))
			}
			if query == "" || utf8.RuneCountInString(query) > export.SentinelMaxQuery || export.LuceneClauses(query) > export.ElasticMaxClauses ||
				!strings.Contains(description, "10000 hashes") {
				t.Errorf("the lookup rule: %q, %q", query, description)
			}

			// The report pruned: its rule and its store are listed for deletion.
			copyRules := filepath.Join(t.TempDir(), "rules")
			if err := os.CopyFS(copyRules, os.DirFS(rules)); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(copyRules, "sigma", "*", "*.yml"))
			for _, f := range files {
				os.Remove(f)
			}
			opts.Rules = copyRules
			if res, err := export.Export(opts); err != nil || res.Deletions != 1 {
				t.Fatalf("%+v, %v", res, err)
			}
			if !deletionListed(t, out, deployedID(target, id)) {
				t.Errorf("the lookup rule %s is not listed for deletion", id)
			}
			switch target {
			case "elastic":
				body, _ := os.ReadFile(filepath.Join(out, "delete.indicators.json"))
				if !strings.Contains(string(body), id) {
					t.Errorf("delete.indicators.json does not empty the rule's indicators:\n%s", body)
				}
			case "sentinel":
				body, _ := os.ReadFile(filepath.Join(out, "delete.watchlists.txt"))
				if string(body) != export.SentinelWatchlist(sigmaID)+"\n" {
					t.Errorf("delete.watchlists.txt: %q", body)
				}
			case "splunk":
				if _, rows := readCSV(t, filepath.Join(out, "lookups", export.SplunkLookup+".csv")); len(rows) != 0 {
					t.Errorf("the lookup keeps %d hashes of a retired rule", len(rows))
				}
			}
		})
	}
}

// A report of 12,000 C2 domains makes rules of 24,000 values (each domain and its subdomains),
// which Sentinel would take only as hundreds of rules: the export lists them as rules it cannot
// take, with the reason, rather than crowd the workspace; no rule it writes is past the limit.
func TestRulesPastTooManyPartsAreListed(t *testing.T) {
	root := golden.RepoRoot(t)
	in := filepath.Join(t.TempDir(), "in")
	if err := synthfeed.WriteEvent(in, synthfeed.KindDomains, 12000, 3); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(t.TempDir(), "rules")
	if _, err := output.Generate(context.Background(), []string{in}, output.Options{Out: rules,
		Pipeline: pipeline.Options{Render: render.Options{Author: "rulegen"}}, Today: "2026-12-01"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sentinel")
	res, err := export.Export(export.Options{Target: "sentinel", Rules: rules, Out: out, Python: venvPython(t, root)})
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := os.ReadFile(filepath.Join(out, "unsupported.tsv"))
	if res.Unsupported == 0 || strings.Count(string(listed), "more than the 50 rulegen cuts a rule into") != res.Unsupported {
		t.Errorf("%+v:\n%s", res, listed)
	}
	readSentinel(t, out) // what is written is within the limit
	t.Logf("%d rules listed, %d written", res.Unsupported, res.Rules)
}
