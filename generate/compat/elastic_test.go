package compat_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/export"
	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/pysigma"
)

// venvPython is the Python of the pinned oracles, which has pySigma.
func venvPython(t *testing.T, root string) string {
	t.Helper()
	python := filepath.Join(root, "testdata", "pysigma", "venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("no pinned Python environment: run make pysigma-deps (%v)", err)
	}
	return python
}

// elasticSchema holds facts of Elastic's published rule schemas (elastic/detection-rules,
// detection_rules/etc/api_schemas/9.2/9.2.query.json, 9.2.eql.json and 9.2.threat_match.json): the
// properties a rule of each type may have (no others: additionalProperties false), those it
// must have, and the enumerations.
var elasticSchema = struct {
	properties, threatMatch, required, threatMatchRequired []string
	enums                                                  map[string][]string
}{
	properties: []string{"actions", "alert_suppression", "author", "building_block_type", "data_view_id", "description", "enabled",
		"exceptions_list", "false_positives", "filters", "from", "index", "interval", "investigation_fields", "language", "license",
		"max_signals", "meta", "name", "note", "query", "references", "related_integrations", "required_fields", "revision",
		"risk_score", "risk_score_mapping", "rule_id", "rule_name_override", "setup", "severity", "severity_mapping", "tags", "threat",
		"throttle", "timeline_id", "timeline_title", "timestamp_override", "to", "type", "version"},
	threatMatch:         []string{"threat_filters", "threat_index", "threat_indicator_path", "threat_language", "threat_mapping", "threat_query"},
	required:            []string{"author", "description", "language", "name", "query", "risk_score", "rule_id", "severity", "type"},
	threatMatchRequired: []string{"threat_index", "threat_mapping"},
	enums: map[string][]string{"language": {"eql", "esql", "kuery", "lucene"}, "threat_language": {"eql", "esql", "kuery", "lucene"},
		"severity": {"low", "medium", "high", "critical"}, "type": {"query", "eql", "threat_match"}},
}

// checkElasticSchema holds one rule, as its NDJSON line, to elasticSchema.
func checkElasticSchema(t *testing.T, line []byte) {
	t.Helper()
	var rule map[string]any
	if err := json.Unmarshal(line, &rule); err != nil {
		t.Fatal(err)
	}
	allowed, required := elasticSchema.properties, elasticSchema.required
	if rule["type"] == "threat_match" {
		allowed = append(slices.Clone(allowed), elasticSchema.threatMatch...)
		required = append(slices.Clone(required), elasticSchema.threatMatchRequired...)
	}
	for key := range rule {
		if !slices.Contains(allowed, key) {
			t.Errorf("%v: %s is not a property of a %v rule", rule["rule_id"], key, rule["type"])
		}
	}
	for _, key := range required {
		if _, ok := rule[key]; !ok {
			t.Errorf("%v: lacks %s", rule["rule_id"], key)
		}
	}
	for key, values := range elasticSchema.enums {
		if v, ok := rule[key]; ok && !slices.Contains(values, fmt.Sprint(v)) {
			t.Errorf("%v: %s %v is none of %v", rule["rule_id"], key, v, values)
		}
	}
	if risk, ok := rule["risk_score"].(float64); !ok || risk != float64(int(risk)) {
		t.Errorf("%v: risk_score %v is no integer", rule["rule_id"], rule["risk_score"])
	}
}

// readNDJSON parses rules.ndjson back, each rule held to Elastic's published schema.
func readNDJSON(t *testing.T, path string) []export.ElasticRule {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []export.ElasticRule
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		checkElasticSchema(t, sc.Bytes())
		var r export.ElasticRule
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rules = append(rules, r)
	}
	return rules
}

// TestElasticExportOfCommittedRules exports rules/ for Elastic Security and reads the NDJSON
// back: one rule per Sigma rule, its rule_id the Sigma id, its query the one pySigma's Lucene
// backend gives (the query TestOpenSearchAgreesWithSigmaGo runs), severity and risk score from
// the level, ATT&CK tactics by id with their techniques, the license given.
func TestElasticExportOfCommittedRules(t *testing.T) {
	root := golden.RepoRoot(t)
	out := filepath.Join(t.TempDir(), "elastic")
	res, err := export.Export(export.Options{Target: "elastic", Rules: filepath.Join(root, "rules"), Out: out,
		Python: venvPython(t, root), License: "DRL-1.1"})
	if err != nil {
		t.Fatal(err)
	}
	rules := readNDJSON(t, filepath.Join(out, "rules.ndjson"))
	harness := luceneQueries(t, root, filepath.Join(root, "rules", "sigma"))
	if len(rules) != len(harness) || res.Rules != len(rules) {
		t.Fatalf("%d rules exported, %d converted by the harness, export says %d", len(rules), len(harness), res.Rules)
	}
	var queries []string
	for _, qs := range harness {
		queries = append(queries, qs...)
	}
	tactic := regexp.MustCompile(`^TA\d{4}$`)
	technique := regexp.MustCompile(`^T\d{4}$`)
	seen := map[string]bool{}
	tactics := 0
	for _, r := range rules {
		if seen[r.RuleID] || r.Name == "" || r.Description == "" || r.Type != "query" || r.Language != "lucene" ||
			!slices.Contains(queries, r.Query) || len(r.Index) == 0 || r.Version != 1 || r.License != "DRL-1.1" ||
			!slices.Contains([]string{"low", "medium", "high", "critical"}, r.Severity) || r.RiskScore < 0 || r.RiskScore > 100 {
			t.Errorf("a rule Elastic would refuse, or another query than pySigma's: %+v", r)
		}
		seen[r.RuleID] = true
		for _, th := range r.Threat {
			tactics++
			if th.Framework != "MITRE ATT&CK" || !tactic.MatchString(th.Tactic.ID) || th.Tactic.Name == "" {
				t.Errorf("%s: threat %+v", r.RuleID, th)
			}
			for _, tech := range th.Technique {
				if !technique.MatchString(tech.ID) || tech.Name == "" || !strings.HasPrefix(tech.Reference, "https://attack.mitre.org/techniques/") {
					t.Errorf("%s: technique %+v", r.RuleID, tech)
				}
			}
		}
	}
	if tactics == 0 {
		t.Errorf("no rule maps to an ATT&CK tactic")
	}
}

func sigmaID(t *testing.T, path string) string {
	t.Helper()
	body, _ := os.ReadFile(path)
	m := regexp.MustCompile(`(?m)^id: (\S+)$`).FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("%s has no id", path)
	}
	return m[1]
}

// Without pySigma the elastic target fails and says what to install; nothing is written.
func TestElasticExportNamesWhatToInstall(t *testing.T) {
	root := golden.RepoRoot(t)
	out := filepath.Join(t.TempDir(), "elastic")
	for _, python := range []string{"/nonexistent/python3", "/bin/true"} {
		_, err := export.Export(export.Options{Target: "elastic", Rules: filepath.Join(root, "rules"), Out: out, Python: python})
		if err == nil || !strings.Contains(err.Error(), export.PySigmaPins("elastic")) && !strings.Contains(err.Error(), "pySigma") {
			t.Errorf("%s: %v", python, err)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed export wrote %s", out)
	}
}

// readConf parses a Splunk .conf file back: stanzas by name, each key once.
func readConf(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	var cur map[string]string
	for n, line := range strings.Split(string(data), "\n") {
		switch trimmed := strings.TrimSpace(line); {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
		case strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]"):
			name := trimmed[1 : len(trimmed)-1]
			if out[name] != nil {
				t.Fatalf("%s:%d: stanza %q twice", path, n+1, name)
			}
			cur = map[string]string{}
			out[name] = cur
		default:
			k, v, ok := strings.Cut(line, " = ")
			if !ok || cur == nil || strings.HasSuffix(line, `\`) {
				t.Fatalf("%s:%d: not a key = value line of a stanza: %q", path, n+1, line)
			}
			if _, dup := cur[k]; dup {
				t.Fatalf("%s:%d: %s twice", path, n+1, k)
			}
			cur[k] = v
		}
	}
	return out
}

// TestSplunkExportOfCommittedRules exports rules/ as a Splunk app and reads its .conf files
// back: a saved search per Sigma rule, named by its id, scheduled, its search the SPL pySigma's
// Splunk backend gives (splunk_windows), severity from the level, ATT&CK annotations as JSON.
func TestSplunkExportOfCommittedRules(t *testing.T) {
	root := golden.RepoRoot(t)
	out := filepath.Join(t.TempDir(), "splunk")
	res, err := export.Export(export.Options{Target: "splunk", Rules: filepath.Join(root, "rules"), Out: out, Python: venvPython(t, root)})
	if err != nil {
		t.Fatal(err)
	}
	app := readConf(t, filepath.Join(out, "default", "app.conf"))
	if app["package"]["id"] != "rulegen_detections" || app["launcher"]["version"] == "" {
		t.Errorf("app.conf: %v", app)
	}
	searches := readConf(t, filepath.Join(out, "default", "savedsearches.conf"))
	verdicts, err := pysigma.Convert(root, filepath.Join(root, "rules", "sigma"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, v := range verdicts {
		if v.Target == "splunk (splunk_windows)" && len(v.Queries) == 1 {
			want[export.SplunkStanza(sigmaID(t, filepath.Join(root, "rules", "sigma", v.Rule+".yml")))] = v.Queries[0]
		}
	}
	if len(searches) != len(want) || res.Rules != len(want) {
		t.Fatalf("%d saved searches, %d rules converted by the harness, export says %d", len(searches), len(want), res.Rules)
	}
	cron := regexp.MustCompile(`^\S+ \S+ \S+ \S+ \S+$`)
	for name, s := range searches {
		var annotations map[string][]string
		if s["search"] != want[name] || s["enableSched"] != "1" || !cron.MatchString(s["cron_schedule"]) ||
			!slices.Contains([]string{"1", "2", "3", "4", "5", "6"}, s["alert.severity"]) || s["description"] == "" ||
			s["dispatch.earliest_time"] == "" || json.Unmarshal([]byte(s["action.correlationsearch.annotations"]), &annotations) != nil {
			t.Errorf("%s: a saved search Splunk would run otherwise: %v", name, s)
		}
	}
}

// With --language eql the rules are EQL rules, each query the one pySigma's EQL backend gives
// (ecs_windows), held to Elastic's schema as the Lucene ones are.
func TestElasticEQLExportOfCommittedRules(t *testing.T) {
	root := golden.RepoRoot(t)
	out := filepath.Join(t.TempDir(), "elastic")
	res, err := export.Export(export.Options{Target: "elastic", Language: "eql", Rules: filepath.Join(root, "rules"), Out: out, Python: venvPython(t, root)})
	if err != nil {
		t.Fatal(err)
	}
	verdicts, err := pysigma.Convert(root, filepath.Join(root, "rules", "sigma"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, v := range verdicts {
		if v.Target == "eql (ecs_windows)" {
			want = append(want, v.Queries...)
		}
	}
	rules := readNDJSON(t, filepath.Join(out, "rules.ndjson"))
	if len(rules) != len(want) || res.Rules != len(rules) {
		t.Fatalf("%d EQL rules, %d queries from the harness", len(rules), len(want))
	}
	for _, r := range rules {
		if r.Type != "eql" || r.Language != "eql" || !slices.Contains(want, r.Query) {
			t.Errorf("%s: %s/%s %q is not pySigma's EQL", r.RuleID, r.Type, r.Language, r.Query)
		}
	}
	if _, err := export.Export(export.Options{Target: "elastic", Language: "kql", Rules: filepath.Join(root, "rules"), Out: out, Python: venvPython(t, root)}); err == nil {
		t.Errorf("an unknown language is taken")
	}
}
