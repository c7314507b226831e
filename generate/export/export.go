// Package export writes what SIEMs and EDRs import from a rules directory as committed: its
// report index (each report's indicators with their expiry, its title, date, TLP and
// techniques) and the state of the last export into the same directory, which says what a
// deploy step must delete.
package export

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/runreport"
)

// Options says what to export, from where, to where.
type Options struct {
	Target string // a name of Targets
	Rules  string // the rules directory
	Out    string // where the target's files go
	// AsOf is the day (YYYY-MM-DD) expiry is judged on: an indicator whose expiry has passed
	// is not exported, and is deleted if an earlier export deployed it. Default: today (UTC).
	AsOf string
	// Action is the target's action for every indicator ("" for the target's default, which
	// detects and alerts without blocking).
	Action string
	// For elastic: the Python that has pySigma (default python3), the index patterns the rules
	// search (default DefaultElasticIndex) and the rules' license ("" for none).
	Python  string
	Index   []string
	License string
	// Language is the elastic rules' query language: lucene (default) or eql.
	Language string
}

// Result is what an export wrote.
type Result struct {
	Reports     int
	Rules       int      // detections exported (elastic)
	Indicators  int      // exported
	Files       []string // written or unchanged, below Out
	Unsupported int      // values the target cannot express (listed in unsupported.tsv)
	Warnings    []string // what the platform will not take as it is (a tenant's limit)
	Expired     int      // indicators past their expiry, not exported
	Deletions   int      // deployed by the last export, to be deleted now
	Sigma       int      // Sigma rules read (detection targets)
	Split       int      // of them, exported in parts, their query being past the platform's limit
	Stored      int      // of them, with their hashes in the platform's indicator store
}

// TargetDoc says what a target's export holds, how the platform loads it, what it takes, and
// what the export does past the platform's limits, for the README and the help.
type TargetDoc struct {
	Files, LoadedBy, Needs, Limits string
}

// Docs are the targets' TargetDoc, by name.
var Docs = map[string]TargetDoc{
	"elastic": {"`rules.ndjson`: Elastic Security rules (`rule_id` the Sigma id, severity, ATT&CK `threat`, `version` rising with the query; `--license`, `--index`)",
		"`POST /api/detection_engine/rules/_import?overwrite=true`", "pySigma's Lucene backend, or EQL with `--language eql` (ecs_windows): `--python` with `pysigma`, `pysigma-backend-elasticsearch`",
		"a query of at most 1,024 clauses (`indices.query.bool.max_clause_count`: OpenSearch's default, Elasticsearch 8's least), else in up to 50 parts; over 8,000 hashes an indicator match rule over the index `rulegen-indicators` (`indicators.ndjson`: its `_bulk` body, after `_delete_by_query` with `delete.indicators.json`)"},
	"splunk": {"an app: `default/app.conf`, `default/savedsearches.conf` (a search per rule named `rulegen <id>`, every 5 min over 6, severity, ATT&CK annotations, id and version)",
		"copy to `etc/apps/rulegen_detections`", "the Splunk backend (splunk_windows): `pysigma-backend-splunk`",
		"none documented; over 8,000 hashes a search using the app's lookup `rulegen_indicators` (`lookups/`, `default/transforms.conf`)"},
	"sentinel": {"`<id>.yaml`: scheduled analytics rules as Azure-Sentinel's `Detections/` (GUID, severity, tactics, techniques, `version` rising with the query)",
		"Azure-Sentinel's YAML-to-ARM tooling or a deploy step (`alertRules/{id}`)", "the Kusto backend (sentinel_asim + rulegen's DNS and firewall tables): `pysigma-backend-kusto`",
		"a query of at most 10,000 characters (Azure-Sentinel's rule validation), else in up to 50 parts; over 1,000 hashes a watchlist (`watchlist-<alias>.csv` and its definition; past 3.8 MB uploaded from Azure Storage) and a rule looking it up"},
	"mde": {"`indicators-NNN.csv`: Microsoft's import columns", "Settings > Endpoints > Indicators > Import", "FileSha256, FileSha1, DomainName, IpAddress, Url; no MD5",
		"500 rows a file (the import's limit); 15,000 indicators active per tenant"},
	"crowdstrike": {"`indicators-NNN.json`: bodies of `POST /iocs/entities/indicators/v1`", "the IOC API", "sha256, md5, domain, ipv4, ipv6; no SHA-1, no URL",
		"200 indicators a file"},
}

// StateName is the file in Out that records what an export wrote, for the next to say what
// to delete.
const StateName = ".rulegen-export.json"

// exportState is what StateName holds.
type exportState struct {
	Target     string                 `json:"target"`
	Indicators []string               `json:"indicators,omitempty"` // keys: the target's type, a tab, the value
	Rules      map[string]ruleVersion `json:"rules,omitempty"`      // detections, by rule id
	Stores     []string               `json:"stores,omitempty"`     // indicator stores of lookup rules (watchlists, lookup rule ids)
}

// ruleVersion is what the export state keeps of an exported rule: its query's digest and the
// version it was exported with, which rises when the query changes.
type ruleVersion struct {
	Query   string `json:"query_sha256"`
	Version int    `json:"version"`
}

// item is one indicator of one report, as the target will write it.
type item struct {
	d      report.Deployable
	report *runreport.ReportIndex
	why    string // why the target cannot take it; "" when it can
}

// indicatorTarget is a target that takes indicator lists (an EDR): what it calls each kind,
// and how it writes a batch.
type indicatorTarget struct {
	name string
	// kind is the target's type for a deployable, or "" and why it cannot take it.
	kind func(report.Deployable) (string, string)
	// batch is the most indicators one file holds.
	batch int
	// tenantLimit is the most indicators the platform keeps active (0: none documented).
	tenantLimit int
	// actions are the values Action may take; the first is the default.
	actions []string
	// write writes one batch, and says the extension of its file.
	write func(items []item, kinds []string, action string) (ext string, body []byte, err error)
	// deletions writes the list of what to delete, keyed as the state keys them.
	deletions func(keys []string) (name string, body []byte)
}

// Targets lists the targets by name.
func Targets() []string {
	names := []string{"elastic", "sentinel", "splunk"}
	for n := range indicatorTargets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

var indicatorTargets = map[string]*indicatorTarget{"mde": mde, "crowdstrike": falcon}

// WritesDetections says whether a target takes detections (queries a SIEM runs) rather than
// indicator lists.
func WritesDetections(target string) bool {
	_, indicators := indicatorTargets[target]
	return !indicators && slices.Contains(Targets(), target)
}

// Export writes the target's files for the rules directory into Out, replacing what an
// earlier export wrote there, in one change.
func Export(opts Options) (*Result, error) {
	switch opts.Target {
	case "elastic":
		return exportElastic(opts)
	case "splunk":
		return exportSplunk(opts)
	case "sentinel":
		return exportSentinel(opts)
	}
	t, ok := indicatorTargets[opts.Target]
	if !ok {
		return nil, fmt.Errorf("export: unknown target %q: want one of %s", opts.Target, strings.Join(Targets(), ", "))
	}
	action := cmp.Or(opts.Action, t.actions[0])
	if !slices.Contains(t.actions, action) {
		return nil, fmt.Errorf("export: %s takes no action %q: want one of %s", t.name, action, strings.Join(t.actions, ", "))
	}
	asOf := cmp.Or(opts.AsOf, time.Now().UTC().Format(time.DateOnly))
	if _, err := time.Parse(time.DateOnly, asOf); err != nil {
		return nil, fmt.Errorf("export: --as-of %q: want YYYY-MM-DD", asOf)
	}
	reports, err := ReadIndex(opts.Rules)
	if err != nil {
		return nil, err
	}
	res := &Result{Reports: len(reports)}
	exported, kinds, unsupported, expired := choose(t, reports, asOf)
	res.Indicators, res.Unsupported, res.Expired = len(exported), len(unsupported), len(expired)
	if t.tenantLimit > 0 && len(exported) > t.tenantLimit {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s keeps at most %d indicators active per tenant; this export has %d: import the newest, or narrow the reports",
			t.name, t.tenantLimit, len(exported)))
	}

	var files []atomicdir.File
	// Numbered from 001, as wide as the last number needs: the files sort in their order.
	width := max(3, len(fmt.Sprint((len(exported)+t.batch-1)/t.batch)))
	for start := 0; start < len(exported); start += t.batch {
		end := min(start+t.batch, len(exported))
		ext, body, err := t.write(exported[start:end], kinds[start:end], action)
		if err != nil {
			return nil, err
		}
		files = append(files, atomicdir.File{Path: fmt.Sprintf("indicators-%0*d%s", width, start/t.batch+1, ext), Body: body})
	}
	if len(unsupported) > 0 {
		files = append(files, atomicdir.File{Path: "unsupported.tsv", Body: unsupportedList(t.name, unsupported)})
	}
	state := exportState{Target: t.name}
	for i, it := range exported {
		state.Indicators = append(state.Indicators, kinds[i]+"\t"+it.d.Value)
	}
	slices.Sort(state.Indicators)
	gone, err := deletions(opts.Out, t.name, state.Indicators)
	if err != nil {
		return nil, err
	}
	res.Deletions = len(gone)
	if len(gone) > 0 {
		name, body := t.deletions(gone)
		files = append(files, atomicdir.File{Path: name, Body: body})
	}
	return writeExport(opts.Out, res, files, state)
}

// choose picks the indicators the target takes, once each (the first report that gives one
// names it; its expiry is the latest any report gives), and lists the others: what the target
// cannot express, and what has expired by asOf.
func choose(t *indicatorTarget, reports []*runreport.ReportIndex, asOf string) (exported []item, kinds []string, unsupported []item, expired []item) {
	at := map[string]int{}
	for _, ri := range reports {
		taken := 0 // the sample whose hash the target took
		for i, d := range ri.Indicators {
			if d.Sample > 0 && d.Sample == taken {
				continue // one hash of a sample is the sample
			}
			kind, why := t.kind(d)
			if kind == "" {
				if !sampleTaken(t, ri.Indicators, i) {
					unsupported = append(unsupported, item{d: d, report: ri, why: why})
				}
				continue
			}
			taken = d.Sample
			if d.Expires != "" && d.Expires < asOf {
				expired = append(expired, item{d: d, report: ri})
				continue
			}
			key := kind + "\t" + d.Value
			if i, ok := at[key]; ok {
				exported[i].d.Expires = report.LaterExpiry(exported[i].d.Expires, d.Expires)
				continue
			}
			at[key] = len(exported)
			exported = append(exported, item{d: d, report: ri})
			kinds = append(kinds, kind)
		}
	}
	return exported, kinds, unsupported, expired
}

// sampleTaken says whether the target takes another hash of the sample of list[i], so that
// the one it cannot take is no loss.
func sampleTaken(t *indicatorTarget, list []report.Deployable, i int) bool {
	n := list[i].Sample
	if n == 0 {
		return false
	}
	for _, d := range list {
		if d.Sample == n {
			if kind, _ := t.kind(d); kind != "" {
				return true
			}
		}
	}
	return false
}

// deletions are the keys the last export into out deployed that this one does not: the
// indicators of reports gone or pruned, and those expired since.
func deletions(out, target string, now []string) ([]string, error) {
	last, err := readState(out, target)
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, k := range last.Indicators {
		if _, found := slices.BinarySearch(now, k); !found {
			gone = append(gone, k)
		}
	}
	return gone, nil
}

// unsupportedList is the TSV of what the target cannot take, with the reason.
func unsupportedList(target string, items []item) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Indicators %s cannot take.\n# report\ttype\tvalue\treason\n", target)
	for _, it := range items {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", tsvField(it.report.Title), it.d.Type, tsvField(it.d.Value), it.why)
	}
	return []byte(b.String())
}

func tsvField(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// writeAll replaces the files in out with files, in one change: what an earlier export wrote
// and this one does not (a batch fewer) is removed.
func writeAll(out string, files []atomicdir.File) error {
	dir, err := atomicdir.Open(out)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer dir.Close()
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Path] = true
		if err := dir.Put(f); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	entries, err := os.ReadDir(dir.Resolved())
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, e := range entries {
		if name := e.Name(); !keep[name] && !atomicdir.Bookkeeping(name) && e.Type().IsRegular() && isExportFile(name) {
			dir.Remove(name)
		}
	}
	if _, err := dir.Commit(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// isExportFile says whether name is a file an export writes (so that a stale one is removed
// and nothing else a user keeps there is).
func isExportFile(name string) bool {
	if id, ok := strings.CutSuffix(name, ".yaml"); ok { // sentinel: <id>.yaml
		return report.IsUUID(id)
	}
	return strings.HasPrefix(name, "indicators-") || strings.HasPrefix(name, "watchlist-") || name == "indicators.ndjson" || name == "rules.ndjson" || name == "unsupported.tsv" || strings.HasPrefix(name, "delete.")
	// default/ (splunk) holds fixed names: rewritten, never stale
}

// ReadIndex reads the report index of a rules directory, sorted by file name.
func ReadIndex(rules string) ([]*runreport.ReportIndex, error) {
	dir := filepath.Join(rules, filepath.FromSlash(runreport.IndexDir))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("export: %s is no rules directory rulegen wrote (no report index): %w", rules, err)
	}
	var out []*runreport.ReportIndex
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || !e.Type().IsRegular() {
			continue
		}
		rel := runreport.IndexDir + "/" + e.Name()
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		ri, err := runreport.DecodeIndex(filepath.Join(rules, filepath.FromSlash(rel)), data)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		out = append(out, ri)
	}
	return out, nil
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
