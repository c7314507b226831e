package export

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/normalize"
)

// SentinelRule is a Microsoft Sentinel scheduled analytics rule as the Azure-Sentinel
// repository's Detections/ keeps them (YAML), which its tooling and Sentinel's repositories
// turn into alert rules.
type SentinelRule struct {
	ID                     string              `yaml:"id"`
	Name                   string              `yaml:"name"`
	Description            string              `yaml:"description"`
	Severity               string              `yaml:"severity"`
	RequiredDataConnectors []SentinelConnector `yaml:"requiredDataConnectors"`
	QueryFrequency         string              `yaml:"queryFrequency"`
	QueryPeriod            string              `yaml:"queryPeriod"`
	TriggerOperator        string              `yaml:"triggerOperator"`
	TriggerThreshold       int                 `yaml:"triggerThreshold"`
	Tactics                []string            `yaml:"tactics"`
	RelevantTechniques     []string            `yaml:"relevantTechniques"`
	Query                  string              `yaml:"query"`
	Version                string              `yaml:"version"`
	Kind                   string              `yaml:"kind"`
}

// SentinelConnector is a data connector a rule needs, with the tables it reads.
type SentinelConnector struct {
	ConnectorID string   `yaml:"connectorId"`
	DataTypes   []string `yaml:"dataTypes"`
}

// Sentinel's limits for a scheduled rule, as Azure-Sentinel's template validation holds them
// (.script/tests/detectionTemplateSchemaValidation): a query of 1 to 10,000 characters, a
// name of at most 256 and a description of at most 5,000.
const (
	SentinelMaxQuery       = 10000
	sentinelMaxName        = 256
	sentinelMaxDescription = 5000
)

// SentinelPipeline is rulegen's processing pipeline run with sentinel_asim: the ASIM tables and
// fields of the categories sentinel_asim has none for.
//
//go:embed sentinel_asim.yml
var SentinelPipeline []byte

// sentinelWatchlistPipeline turns a watchlist placeholder into a lookup in the watchlist.
//
//go:embed sentinel_watchlist.yml
var sentinelWatchlistPipeline []byte

// SentinelStoreAbove is the most hashes a Sentinel rule keeps in its query: about eight rules of
// SentinelMaxQuery characters. Past it they go to a watchlist.
const SentinelStoreAbove = 1000

// sentinelLocalUpload is the largest watchlist file Sentinel takes from a local upload (3.8 MB);
// a larger one is uploaded from Azure Storage (up to 500 MB).
const sentinelLocalUpload = 3800000

// SentinelWatchlist is the alias of the watchlist of a Sigma rule's stored hashes.
func SentinelWatchlist(sigmaID string) string {
	hex := strings.ReplaceAll(sigmaID, "-", "")
	return "rulegen_" + hex[:min(12, len(hex))]
}

// sentinelLookupRule is the Sigma rule that looks a rule's stored hashes up in its watchlist:
// each algorithm's field (sentinel_asim names it) tested against the watchlist.
func sentinelLookupRule(meta sigmaMeta, hashes []storedHash) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "title: rulegen hash lookup\nid: %s\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n", uuid.NewSHA1(uuid.NameSpaceURL, []byte(meta.ID)))
	for _, a := range storeAlgorithms(hashes) {
		fmt.Fprintf(&b, "    selection_%s:\n        %s|expand: '%%%s%%'\n", a, a, SentinelWatchlist(meta.ID))
	}
	b.WriteString("    condition: 1 of selection_*\n")
	return []byte(b.String())
}

// SentinelWatchlistDefinition is what a watchlist of stored hashes is created with
// (Microsoft.SecurityInsights/watchlists: its properties), its items in the CSV beside it.
type SentinelWatchlistDefinition struct {
	WatchlistAlias string `json:"watchlistAlias"`
	DisplayName    string `json:"displayName"`
	Description    string `json:"description"`
	Provider       string `json:"provider"`
	Source         string `json:"source"`
	SourceType     string `json:"sourceType"`
	ItemsSearchKey string `json:"itemsSearchKey"`
	ContentType    string `json:"contentType"`
}

// sentinelWatchlist writes a lookup rule's watchlist: its items (CSV) and its definition.
func sentinelWatchlist(r queryRule) []atomicdir.File {
	alias := SentinelWatchlist(r.meta.ID)
	var csv strings.Builder
	csv.WriteString("SearchKey,Algorithm\n")
	for _, h := range r.hashes {
		csv.WriteString(h.Value + "," + h.Algorithm + "\n")
	}
	def := SentinelWatchlistDefinition{WatchlistAlias: alias, DisplayName: clip(r.meta.Title, sentinelMaxName),
		Description: fmt.Sprintf("The %d hashes of the Sigma rule %s, which the analytics rule %s looks up.", len(r.hashes), r.meta.ID, SentinelID(r.id)),
		Provider:    "rulegen", Source: "watchlist-" + alias + ".csv", SourceType: "Local file", ItemsSearchKey: "SearchKey", ContentType: "text/csv"}
	if csv.Len() > sentinelLocalUpload {
		def.SourceType = "AzureStorage"
	}
	body, _ := json.MarshalIndent(def, "", "  ")
	return []atomicdir.File{
		{Path: "watchlist-" + alias + ".csv", Body: []byte(csv.String())},
		{Path: "watchlist-" + alias + ".json", Body: append(body, '\n')},
	}
}

// sentinelSeverity maps Sigma's level to Sentinel's severity, which has no critical.
var sentinelSeverity = map[string]string{"informational": "Informational", "low": "Low", "medium": "Medium", "high": "High", "critical": "High"}

// sentinelQueries converts with pySigma's Kusto backend, sentinel_asim and rulegen's additions,
// in queries of at most SentinelMaxQuery characters.
var sentinelQueries = queryTarget{name: "sentinel", backend: "kusto", pipelines: []string{"sentinel_asim"},
	own:        []pipelineFile{{"rulegen_sentinel_asim.yml", SentinelPipeline}, {"rulegen_sentinel_watchlist.yml", sentinelWatchlistPipeline}},
	storeAbove: SentinelStoreAbove, lookupRule: sentinelLookupRule,
	over: func(query string) (float64, string) {
		n := utf8.RuneCountInString(query)
		if n <= SentinelMaxQuery {
			return float64(n) / SentinelMaxQuery, ""
		}
		return float64(n) / SentinelMaxQuery, fmt.Sprintf("its query has %d characters, past the %d a Sentinel analytics rule takes", n, SentinelMaxQuery)
	}}

// exportSentinel writes a scheduled analytics rule per Sigma rule (not the deprecated ones),
// each in <id>.yaml, its KQL from pySigma's Kusto backend with the sentinel_asim pipeline.
func exportSentinel(opts Options) (*Result, error) {
	d, err := startDetections(opts, "sentinel", "pySigma's Kusto backend (sentinel_asim)", sentinelQueries)
	if err != nil {
		return nil, err
	}
	var files []atomicdir.File
	for _, r := range d.rules {
		id := SentinelID(r.id)
		body, err := sentinelYAML(sentinelRule(r, id, d.version(id, r.query).Version))
		if err != nil {
			return nil, fmt.Errorf("export: %s: %w", r.file, err)
		}
		files = append(files, atomicdir.File{Path: id + ".yaml", Body: body})
		if r.hashes != nil {
			files = append(files, sentinelWatchlist(r)...)
			d.state.Stores = append(d.state.Stores, SentinelWatchlist(r.meta.ID))
		}
	}
	if gone := retiredStores(d.last, d.state); len(gone) > 0 {
		// The watchlists to delete (DELETE .../providers/Microsoft.SecurityInsights/watchlists/{alias}).
		files = append(files, atomicdir.File{Path: "delete.watchlists.txt", Body: []byte(strings.Join(gone, "\n") + "\n")})
	}
	return d.write(files, func(gone []string) atomicdir.File {
		// The alert rules to delete, by the id their resource is named by
		// (DELETE .../providers/Microsoft.SecurityInsights/alertRules/{id}).
		return atomicdir.File{Path: "delete.txt", Body: []byte(strings.Join(gone, "\n") + "\n")}
	})
}

// SentinelID is the GUID a Sentinel rule is known by: the Sigma id itself, or one derived from
// it (the n-th query of a rule the backend gives several for, a Sigma id that is not a UUID).
func SentinelID(queryID string) string {
	if id, err := uuid.Parse(queryID); err == nil {
		return id.String()
	}
	if len(queryID) > 37 && queryID[36] == '-' {
		if id, err := uuid.Parse(queryID[:36]); err == nil {
			return uuid.NewSHA1(id, []byte(queryID[37:])).String()
		}
	}
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("rulegen:sigma:"+queryID)).String()
}

func sentinelRule(r queryRule, id string, version int) SentinelRule {
	meta := r.meta
	tactics, techniques := sentinelAttack(meta.Tags)
	description := cmp.Or(meta.Description, meta.Title)
	if r.hashes != nil {
		description += storeSummary(r.hashes, "the watchlist "+SentinelWatchlist(meta.ID))
	}
	return SentinelRule{
		ID: id, Name: clip(r.title(), sentinelMaxName), Description: clip(description, sentinelMaxDescription),
		Severity: cmp.Or(sentinelSeverity[meta.Level], "Medium"), RequiredDataConnectors: []SentinelConnector{},
		QueryFrequency: "5m", QueryPeriod: "6m", TriggerOperator: "gt", TriggerThreshold: 0,
		Tactics: tactics, RelevantTechniques: techniques, Query: r.query, Version: fmt.Sprintf("%d.0.0", version), Kind: "Scheduled",
	}
}

// sentinelAttack gives a rule's tactics in Sentinel's names (CommandAndControl) and its
// techniques, with every tactic ATT&CK puts a technique under: Sentinel refuses a technique
// whose tactics are not all listed.
func sentinelAttack(tags []string) (tactics, techniques []string) {
	add := func(name string) {
		if s := sentinelTactic(name); s != "" && !slices.Contains(tactics, s) {
			tactics = append(tactics, s)
		}
	}
	for _, tag := range tags {
		v, ok := strings.CutPrefix(strings.ToLower(tag), "attack.")
		if !ok {
			continue
		}
		if len(v) > 1 && v[0] == 't' && v[1] >= '0' && v[1] <= '9' {
			t, err := normalize.Technique(strings.ToUpper(v))
			if err != nil {
				continue // not in rulegen's ATT&CK table: no tactic to list it under
			}
			if !slices.Contains(techniques, t.ID) {
				techniques = append(techniques, t.ID)
			}
			for _, name := range t.Tactics {
				add(name)
			}
			continue
		}
		add(v)
	}
	return nonNil(tactics), nonNil(techniques)
}

// sentinelTactic is Sentinel's name of an ATT&CK tactic (CommandAndControl), "" for one it
// does not know. Sentinel's tactics predate ATT&CK v18, which split Defense Evasion into Stealth
// and Defense Impairment: their techniques are Defense Evasion's there.
func sentinelTactic(name string) string {
	if name == "stealth" || name == "defense-impairment" {
		name = "defense-evasion"
	}
	ta, ok := attackTactics[name]
	if !ok {
		return ""
	}
	var s strings.Builder
	for _, word := range strings.Fields(ta.Name) { // Command and Control: CommandAndControl
		s.WriteString(strings.ToUpper(word[:1]) + word[1:])
	}
	return s.String()
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func sentinelYAML(r SentinelRule) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Written by rulegen export --target sentinel from a Sigma rule; the query is pySigma's (kusto, sentinel_asim).\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}
