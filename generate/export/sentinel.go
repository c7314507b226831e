package export

import (
	"bytes"
	"cmp"
	_ "embed"
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

// sentinelSeverity maps Sigma's level to Sentinel's severity, which has no critical.
var sentinelSeverity = map[string]string{"informational": "Informational", "low": "Low", "medium": "Medium", "high": "High", "critical": "High"}

// sentinelQueries converts with pySigma's Kusto backend, sentinel_asim and rulegen's additions,
// in queries of at most SentinelMaxQuery characters.
var sentinelQueries = queryTarget{name: "sentinel", backend: "kusto", pipelines: []string{"sentinel_asim"},
	own: []pipelineFile{{"rulegen_sentinel_asim.yml", SentinelPipeline}},
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
	rules, unsupported, err := convertedRules(opts, sentinelQueries)
	if err != nil {
		return nil, err
	}
	last, err := readState(opts.Out, "sentinel")
	if err != nil {
		return nil, err
	}
	state := exportState{Target: "sentinel", Rules: map[string]ruleVersion{}}
	res := detectionResult(rules, unsupported)
	var files []atomicdir.File
	for _, r := range rules {
		id := SentinelID(r.id)
		v := nextVersion(last, id, r.query)
		state.Rules[id] = v
		body, err := sentinelYAML(sentinelRule(r, id, v.Version))
		if err != nil {
			return nil, fmt.Errorf("export: %s: %w", r.file, err)
		}
		files = append(files, atomicdir.File{Path: id + ".yaml", Body: body})
	}
	if len(unsupported) > 0 {
		files = append(files, unsupportedRules("pySigma's Kusto backend (sentinel_asim)", unsupported))
	}
	if gone := retiredRules(last, state); len(gone) > 0 {
		res.Deletions = len(gone)
		// The alert rules to delete, by the id their resource is named by
		// (DELETE .../providers/Microsoft.SecurityInsights/alertRules/{id}).
		files = append(files, atomicdir.File{Path: "delete.txt", Body: []byte(strings.Join(gone, "\n") + "\n")})
	}
	return writeExport(opts.Out, res, files, state)
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
	return SentinelRule{
		ID: id, Name: clip(r.title(), sentinelMaxName), Description: clip(cmp.Or(meta.Description, meta.Title), sentinelMaxDescription),
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
