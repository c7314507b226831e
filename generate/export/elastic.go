package export

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/normalize"
)

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
	// An indicator match rule's: where the indicators are, and which event field each matches.
	ThreatIndex         []string             `json:"threat_index,omitempty"`
	ThreatQuery         string               `json:"threat_query,omitempty"`
	ThreatLanguage      string               `json:"threat_language,omitempty"`
	ThreatMapping       []ElasticThreatGroup `json:"threat_mapping,omitempty"`
	ThreatIndicatorPath string               `json:"threat_indicator_path,omitempty"`
}

// ElasticThreatGroup is a threat_mapping entry: an event matches when all its entries do.
type ElasticThreatGroup struct {
	Entries []ElasticThreatEntryMapping `json:"entries"`
}

// ElasticThreatEntryMapping says an event field (field) equals an indicator field (value).
type ElasticThreatEntryMapping struct {
	Field string `json:"field"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// ElasticIndicatorIndex is the index the stored hashes are loaded into, which the indicator
// match rules look them up in.
const ElasticIndicatorIndex = "rulegen-indicators"

// ElasticStoreAbove is the most hashes an Elastic rule keeps in its query: about eight rules of
// ElasticMaxClauses. Past it they go to the indicator index.
const ElasticStoreAbove = 8000

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

// severities maps Sigma's level to Elastic's severity and its default risk score.
var severities = map[string]struct {
	severity string
	risk     int
}{"informational": {"low", 21}, "low": {"low", 21}, "medium": {"medium", 47}, "high": {"high", 73}, "critical": {"critical", 99}}

// attackTactics are ATT&CK Enterprise's tactics by the names Sigma's tags use.
var attackTactics = map[string]ElasticThreatEntry{
	"reconnaissance": {"TA0043", "Reconnaissance", ""}, "resource-development": {"TA0042", "Resource Development", ""},
	"initial-access": {"TA0001", "Initial Access", ""}, "execution": {"TA0002", "Execution", ""},
	"persistence": {"TA0003", "Persistence", ""}, "privilege-escalation": {"TA0004", "Privilege Escalation", ""},
	"defense-evasion": {"TA0005", "Defense Evasion", ""}, "credential-access": {"TA0006", "Credential Access", ""},
	// ATT&CK v18 renamed TA0005 Stealth and split Defense Impairment from it.
	"stealth": {"TA0005", "Stealth", ""}, "defense-impairment": {"TA0112", "Defense Impairment", ""},
	"discovery": {"TA0007", "Discovery", ""}, "lateral-movement": {"TA0008", "Lateral Movement", ""},
	"collection": {"TA0009", "Collection", ""}, "command-and-control": {"TA0011", "Command and Control", ""},
	"exfiltration": {"TA0010", "Exfiltration", ""}, "impact": {"TA0040", "Impact", ""},
}

// ElasticMaxClauses is the fewest clauses a search may have that Elasticsearch and OpenSearch
// both run: indices.query.bool.max_clause_count, 1,024 in OpenSearch and Elasticsearch 7, and
// the least Elasticsearch 8's limit (set from the heap) can be.
const ElasticMaxClauses = 1024

// elasticQueries converts with pySigma's Lucene backend and ecs_windows, in queries of at most
// ElasticMaxClauses terms.
var elasticQueries = queryTarget{name: "elastic", backend: "lucene", pipelines: []string{"ecs_windows"}, storeAbove: ElasticStoreAbove,
	over: func(query string) (float64, string) {
		n := LuceneClauses(query)
		if n <= ElasticMaxClauses {
			return float64(n) / ElasticMaxClauses, ""
		}
		return float64(n) / ElasticMaxClauses, fmt.Sprintf("its query has %d clauses, past the %d a search may have", n, ElasticMaxClauses)
	}}

// elasticEQL converts with pySigma's EQL backend and ecs_windows, for EQL rules (--language
// eql). An EQL list is one terms query, so a rule holds its values whole; the store still takes
// a bulk list's hashes.
var elasticEQL = queryTarget{name: "elastic", backend: "eql", pipelines: []string{"ecs_windows"}, storeAbove: ElasticStoreAbove}

// LuceneClauses counts the terms of a query pySigma's Lucene backend writes: one more than
// its boolean operators (NOT is one of AND's).
func LuceneClauses(query string) int {
	return strings.Count(query, " OR ") + strings.Count(query, " AND ") + 1
}

// exportElastic writes rules.ndjson for Elastic Security's rule import from the rules
// directory's Sigma rules (not the deprecated ones), converted by pySigma.
func exportElastic(opts Options) (*Result, error) {
	qt := elasticQueries
	switch opts.Language {
	case "", "lucene":
	case "eql":
		qt = elasticEQL
	default:
		return nil, fmt.Errorf("export: elastic takes no --language %q: want lucene or eql", opts.Language)
	}
	d, err := startDetections(opts, "elastic", "pySigma's Lucene backend (ecs_windows)", qt)
	if err != nil {
		return nil, err
	}
	var ndjson bytes.Buffer
	var indicators bytes.Buffer
	for _, r := range d.rules {
		rule := elasticRule(r, 0, opts)
		if r.hashes != nil {
			indicatorMatch(&rule, r)
			writeIndicators(&indicators, r)
			d.state.Stores = append(d.state.Stores, r.id)
		}
		mapping, _ := json.Marshal(rule.ThreatMapping)
		rule.Version = d.version(r.id, rule.Query+string(mapping)).Version
		line, err := json.Marshal(rule)
		if err != nil {
			return nil, err
		}
		ndjson.Write(line)
		ndjson.WriteByte('\n')
	}
	files := []atomicdir.File{{Path: "rules.ndjson", Body: ndjson.Bytes()}}
	if stores := append(slices.Clone(d.state.Stores), retiredStores(d.last, d.state)...); len(stores) > 0 {
		// Before loading indicators.ndjson (POST /_bulk), a deploy step empties what the lookup
		// rules, current and retired, had in the index (POST /rulegen-indicators/_delete_by_query).
		body, _ := json.MarshalIndent(map[string]any{"query": map[string]any{"terms": map[string]any{"rulegen.rule_id": stores}}}, "", "  ")
		files = append(files, atomicdir.File{Path: "delete.indicators.json", Body: append(body, '\n')})
	}
	if indicators.Len() > 0 {
		files = append(files, atomicdir.File{Path: "indicators.ndjson", Body: indicators.Bytes()})
	}
	return d.write(files, func(gone []string) atomicdir.File {
		// The body of DELETE /api/detection_engine/rules/_bulk_delete.
		var objects []map[string]string
		for _, id := range gone {
			objects = append(objects, map[string]string{"rule_id": id})
		}
		body, _ := json.MarshalIndent(objects, "", "  ")
		return atomicdir.File{Path: "delete.json", Body: append(body, '\n')}
	})
}

func elasticRule(qr queryRule, version int, opts Options) ElasticRule {
	meta := qr.meta
	sev := severities[meta.Level]
	if sev.severity == "" {
		sev = severities["medium"]
	}
	r := ElasticRule{RuleID: qr.id, Name: qr.title(), Description: cmp.Or(meta.Description, meta.Title), Type: "query",
		Language: cmp.Or(opts.Language, "lucene"), Query: qr.query, Index: opts.Index, Interval: "5m", From: "now-6m", Enabled: true,
		Severity: sev.severity, RiskScore: sev.risk, Author: []string{cmp.Or(meta.Author, "rulegen")}, License: opts.License,
		References: nonNil(meta.References), FalsePositives: nonNil(meta.FalsePositives), Tags: nonNil(meta.Tags),
		Threat: threats(meta.Tags), Version: version, MaxSignals: 100}
	if len(r.Index) == 0 {
		r.Index = DefaultElasticIndex
	}
	if r.Language == "eql" {
		r.Type = "eql"
	}
	return r
}

// ecsHashFields are the ECS fields of a process's hashes, by algorithm.
var ecsHashFields = map[string]string{"sha256": "process.hash.sha256", "sha1": "process.hash.sha1", "md5": "process.hash.md5"}

// indicatorMatch makes rule an indicator match rule that looks the process's hashes up in the
// indicator index, among the indicators of this rule.
func indicatorMatch(rule *ElasticRule, r queryRule) {
	var exists []string
	for _, a := range storeAlgorithms(r.hashes) {
		exists = append(exists, ecsHashFields[a]+":*")
		rule.ThreatMapping = append(rule.ThreatMapping, ElasticThreatGroup{Entries: []ElasticThreatEntryMapping{
			{Field: ecsHashFields[a], Type: "mapping", Value: "threat.indicator.file.hash." + a}}})
	}
	rule.Type, rule.Language, rule.Query = "threat_match", "lucene", strings.Join(exists, " OR ")
	rule.ThreatIndex = []string{ElasticIndicatorIndex}
	rule.ThreatQuery, rule.ThreatLanguage = fmt.Sprintf("rulegen.rule_id:%q", r.id), "lucene"
	rule.ThreatIndicatorPath = "threat.indicator"
	rule.Description += storeSummary(r.hashes, "the index "+ElasticIndicatorIndex)
}

// ElasticIndicator is a stored hash as the indicator index holds it (ECS threat.indicator).
type ElasticIndicator struct {
	Timestamp string `json:"@timestamp,omitempty"`
	Rulegen   struct {
		RuleID string `json:"rule_id"`
	} `json:"rulegen"`
	Threat struct {
		Indicator struct {
			Type        string `json:"type"`
			Provider    string `json:"provider"`
			Description string `json:"description"`
			File        struct {
				Hash map[string]string `json:"hash"`
			} `json:"file"`
		} `json:"indicator"`
	} `json:"threat"`
}

// writeIndicators writes a lookup rule's hashes as a bulk request body for the indicator index,
// each document's id its rule, algorithm and hash.
func writeIndicators(b *bytes.Buffer, r queryRule) {
	for _, h := range r.hashes {
		var doc ElasticIndicator
		doc.Timestamp = r.meta.Date
		doc.Rulegen.RuleID = r.id
		doc.Threat.Indicator.Type, doc.Threat.Indicator.Provider, doc.Threat.Indicator.Description = "file", "rulegen", r.meta.Title
		doc.Threat.Indicator.File.Hash = map[string]string{h.Algorithm: h.Value}
		action, _ := json.Marshal(map[string]any{"index": map[string]string{"_index": ElasticIndicatorIndex, "_id": r.id + ":" + h.Algorithm + ":" + h.Value}})
		line, _ := json.Marshal(doc)
		b.Write(action)
		b.WriteByte('\n')
		b.Write(line)
		b.WriteByte('\n')
	}
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
		case attackTactics[v].ID != "":
			tacticNames = append(tacticNames, v)
		}
	}
	out := []ElasticThreat{}
	for _, name := range tacticNames {
		ta := attackTactics[name]
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
