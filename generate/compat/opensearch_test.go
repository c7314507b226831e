package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulegen/rulegen/generate/export"
	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/pysigma"
	"github.com/rulegen/rulegen/generate/sigma"
)

// TestOpenSearchAgreesWithSigmaGo runs every committed Sigma rule, converted by pySigma's
// Lucene backend with the ecs_windows pipeline, as a query_string query in a real OpenSearch
// 2.19 node (embedded from Maven Central, started on 127.0.0.1 and stopped after) over the event
// cases indexed as ECS documents, case variants included: each event must fire exactly the
// rules sigma-go fires. The index uses the mapping rulegen ships (examples/ecs-index-template.json:
// keyword fields with a lowercase normalizer); in an index of plain keyword fields, as most ECS
// templates have, the case variants are missed, which the test shows too.
func TestOpenSearchAgreesWithSigmaGo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts OpenSearch (about 10 s)")
	}
	root := golden.RepoRoot(t)
	rulesDir := filepath.Join(root, "rules", "sigma")
	eventFiles := eventCaseFiles(t, root)
	docs := ecsDocuments(t, root, eventFiles)
	queries := luceneQueries(t, root, rulesDir)
	cases := readEventCases(t, eventFiles)
	if len(docs) != len(cases) {
		t.Fatalf("%d ECS documents for %d cases", len(docs), len(cases))
	}
	node := startOpenSearch(t, root)

	template := readFile(t, filepath.Join(root, "examples", "ecs-index-template.json"))
	var shipped map[string]any
	if err := json.Unmarshal([]byte(template), &shipped); err != nil {
		t.Fatal(err)
	}
	node.createIndex(t, "events", shipped["template"])
	node.createIndex(t, "events-plain", plainKeywords())
	for _, index := range []string{"events", "events-plain"} {
		node.index(t, index, docs)
	}

	got, plain := node.fired(t, "events", queries, len(docs)), node.fired(t, "events-plain", queries, len(docs))
	fired, missed := agreesWithSigmaGo(t, "OpenSearch", "an index of plain keyword fields", rulesDir, cases, got, plain)
	t.Logf("%d cases, %d firing, %d queries: OpenSearch agrees with sigma-go on each; plain keyword fields miss %d", len(cases), fired, len(queries), missed)
	t.Run("clause limit", func(t *testing.T) { clauseLimit(t, root, node, shipped["template"]) })
	t.Run("indicator index", func(t *testing.T) { indicatorIndex(t, root, node) })
}

// indicatorIndex exports a bulk hash list's rules for Elastic and loads indicators.ndjson, as
// written, into OpenSearch by the bulk API; then does what the indicator match rule's
// threat_mapping says for process events: each event hash the list holds finds its indicator
// of this rule in the index, in the field the mapping names, and a hash it does not finds none.
// (The indicator match itself runs in Kibana's detection engine, which the tests cannot start.)
func indicatorIndex(t *testing.T, root string, node *openSearch) {
	rules, sigmaID, hashes := bulkHashRules(t, 10000)
	out := filepath.Join(t.TempDir(), "elastic")
	if _, err := export.Export(export.Options{Target: "elastic", Rules: rules, Out: out, Python: venvPython(t, root)}); err != nil {
		t.Fatal(err)
	}
	var rule export.ElasticRule
	for _, r := range readNDJSON(t, filepath.Join(out, "rules.ndjson")) {
		if r.RuleID == sigmaID+"-hashes" {
			rule = r
		}
	}
	if len(rule.ThreatMapping) == 0 {
		t.Fatal("no indicator match rule")
	}
	node.createIndex(t, export.ElasticIndicatorIndex, plainKeywords())
	body, err := os.Open(filepath.Join(out, "indicators.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	var res struct{ Errors bool }
	node.do(t, "POST", "/_bulk?refresh=true", body, &res)
	var count struct{ Count int }
	node.do(t, "GET", "/"+export.ElasticIndicatorIndex+"/_count", nil, &count)
	if res.Errors || count.Count != len(hashes) {
		t.Fatalf("the index holds %d indicators of %d (errors: %v)", count.Count, len(hashes), res.Errors)
	}
	events := map[string]bool{hashes[0]: true, hashes[len(hashes)/2]: true, hashes[len(hashes)-1]: true, strings.Repeat("0", 64): false}
	for hash, listed := range events {
		found := 0
		for _, group := range rule.ThreatMapping {
			entry := group.Entries[0]
			if entry.Field != "process.hash.sha256" {
				continue // the events carry a SHA-256
			}
			query, _ := json.Marshal(map[string]any{"query": map[string]any{"bool": map[string]any{"filter": []any{
				map[string]any{"query_string": map[string]any{"query": rule.ThreatQuery}},
				map[string]any{"term": map[string]any{entry.Value: hash}}}}}})
			var hits struct{ Count int }
			node.do(t, "POST", "/"+export.ElasticIndicatorIndex+"/_count", bytes.NewReader(query), &hits)
			found += hits.Count
		}
		if (found == 1) != listed || found > 1 {
			t.Errorf("process.hash.sha256 %s (listed: %v) finds %d indicators", hash, listed, found)
		}
	}
}

// clauseLimit exports for Elastic a rule of 1,500 C2 domains: OpenSearch refuses its whole query
// (too many clauses), and runs each part the export cuts it into; together the parts find each
// domain's DNS query, in the case the report gives and in upper case, and no other.
func clauseLimit(t *testing.T, root string, node *openSearch, template any) {
	const n = 1500
	rules := filepath.Join(t.TempDir(), "rules")
	var rule strings.Builder
	rule.WriteString("title: 'Many C2 domains - C2 Domain DNS Query'\nid: 0f9b5d1e-8a53-4c5e-9d43-6a1f0b0c2e11\nstatus: experimental\n" +
		"description: 'Detects DNS queries for 1,500 C2 domains.'\nauthor: rulegen\ndate: 2026-12-01\nlogsource:\n    product: windows\n" +
		"    category: dns_query\ndetection:\n    selection_domain:\n        QueryName:\n")
	domain := func(i int) string { return fmt.Sprintf("c2-%04d.botnet.example", i) }
	for i := range n {
		fmt.Fprintf(&rule, "            - '%s'\n", domain(i))
	}
	rule.WriteString("    condition: 1 of selection_*\nlevel: high\n")
	golden.WriteFile(t, filepath.Join(rules, "sigma", "many", "dns_query_win_malware_c2_many.yml"), rule.String())
	whole := luceneQueries(t, root, filepath.Join(rules, "sigma"))["many/dns_query_win_malware_c2_many"]
	if len(whole) != 1 || export.LuceneClauses(whole[0]) <= export.ElasticMaxClauses {
		t.Fatalf("the whole rule is not past the limit: %d queries", len(whole))
	}
	node.createIndex(t, "dns", template)
	var docs []map[string]any
	for _, i := range []int{0, 749, 1499} {
		docs = append(docs, map[string]any{"dns.question.name": domain(i)}, map[string]any{"dns.question.name": strings.ToUpper(domain(i))})
	}
	docs = append(docs, map[string]any{"dns.question.name": domain(n)}) // not in the rule
	node.index(t, "dns", docs)
	if status, body := node.search(t, "dns", whole[0]); status < 400 || !strings.Contains(body, "too_many") {
		t.Fatalf("OpenSearch ran the whole query of %d clauses: %d %s", export.LuceneClauses(whole[0]), status, tailOf(body))
	}
	out := filepath.Join(t.TempDir(), "elastic")
	res, err := export.Export(export.Options{Target: "elastic", Rules: rules, Out: out, Python: venvPython(t, root)})
	if err != nil || res.Split != 1 || res.Rules < 2 {
		t.Fatalf("%+v, %v", res, err)
	}
	parts := map[string][]string{}
	for _, r := range readNDJSON(t, filepath.Join(out, "rules.ndjson")) {
		if export.LuceneClauses(r.Query) > export.ElasticMaxClauses {
			t.Errorf("%s: %d clauses", r.RuleID, export.LuceneClauses(r.Query))
		}
		parts[r.RuleID] = []string{r.Query}
	}
	for i, rules := range node.fired(t, "dns", parts, len(docs)) {
		if want := i < len(docs)-1; (len(rules) == 1) != want {
			t.Errorf("%v: fires parts %v", docs[i], rules)
		}
	}
	t.Logf("a query of %d clauses refused; %d parts run, each within %d", export.LuceneClauses(whole[0]), len(parts), export.ElasticMaxClauses)
}

// search runs a query_string query and returns the status and body, failing or not.
func (o *openSearch) search(t *testing.T, index, query string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": map[string]any{"query_string": map[string]any{"query": query}}})
	resp, err := http.Post(o.url+"/"+index+"/_search", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// ecsDocuments are the event cases as ECS documents (the harness maps Sysmon's fields as the
// ecs_windows pipeline does), with each ".caseless" field folded into its base field, whose
// mapping carries that sub-field, as ECS's templates do.
func ecsDocuments(t *testing.T, root string, eventFiles []string) []map[string]any {
	t.Helper()
	docs, err := pysigma.ECS(root, eventFiles...)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, len(docs))
	for i, d := range docs {
		out[i] = map[string]any{}
		for k, v := range d.Doc {
			out[i][strings.TrimSuffix(k, ".caseless")] = v
		}
	}
	return out
}

// targetQueries are the queries of each rule, by rule, for one target of the conversion harness
// (testdata/pysigma), every conversion error reported.
func targetQueries(t *testing.T, root, rulesDir, target string) map[string][]string {
	t.Helper()
	verdicts, err := pysigma.Convert(root, rulesDir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, v := range verdicts {
		if v.Target == target {
			if v.Error != "" {
				t.Errorf("%s: %s", v.Rule, v.Error)
			}
			out[v.Rule] = v.Queries
		}
	}
	if len(out) == 0 {
		t.Fatalf("no queries of %s", target)
	}
	return out
}

// luceneQueries are the Lucene (ecs_windows) queries of each rule, by rule.
func luceneQueries(t *testing.T, root, rulesDir string) map[string][]string {
	t.Helper()
	return targetQueries(t, root, rulesDir, "lucene (ecs_windows)")
}

// plainKeywords is an index of keyword fields without a normalizer: exact, case-sensitive,
// with the caseless sub-field ECS gives some fields.
func plainKeywords() map[string]any {
	return map[string]any{"mappings": map[string]any{"dynamic_templates": []any{map[string]any{"strings": map[string]any{
		"match_mapping_type": "string",
		"mapping": map[string]any{"type": "keyword", "fields": map[string]any{
			"caseless": map[string]any{"type": "keyword", "normalizer": "lowercase"}}}}}}},
		"settings": map[string]any{"analysis": map[string]any{"normalizer": map[string]any{
			"lowercase": map[string]any{"type": "custom", "filter": []string{"lowercase"}}}}}}
}

type openSearch struct{ url string }

// startOpenSearch starts the embedded node (testdata/opensearch, built by make
// opensearch-deps) on free ports of 127.0.0.1 and stops it when the test ends.
func startOpenSearch(t *testing.T, root string) *openSearch {
	t.Helper()
	dir := filepath.Join(root, "testdata", "opensearch", "target")
	classpath, err := os.ReadFile(filepath.Join(dir, "classpath.txt"))
	if err != nil {
		t.Fatalf("the OpenSearch node is not built: run make opensearch-deps (%v)", err)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("OpenSearch needs Java 17: %v", err)
	}
	httpPort, transportPort := freePort(t), freePort(t)
	cmd := exec.Command(java, "-Xms256m", "-Xmx512m", "-cp", filepath.Join(dir, "classes")+":"+strings.TrimSpace(string(classpath)),
		"rulegen.Node", t.TempDir(), fmt.Sprint(httpPort), fmt.Sprint(transportPort))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		stdin.Close() // the node stops when its input closes
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan bool, 1)
	var out bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if sc.Text() == "ready" {
				ready <- true
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case <-time.After(120 * time.Second):
		t.Fatalf("OpenSearch did not start:\n%s\n%s", out.String(), tailOf(log.String()))
	}
	node := &openSearch{url: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}
	var info struct{ Version struct{ Number string } }
	node.do(t, "GET", "/", nil, &info)
	if !strings.HasPrefix(info.Version.Number, "2.19") {
		t.Fatalf("port %d answers as %q, not the node started", httpPort, info.Version.Number)
	}
	return node
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tailOf(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

func (o *openSearch) do(t *testing.T, method, path string, body io.Reader, out any) {
	t.Helper()
	req, err := http.NewRequest(method, o.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.HasSuffix(path, "_bulk") || strings.Contains(path, "_bulk?") {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, tailOf(string(data)))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (o *openSearch) createIndex(t *testing.T, name string, body any) {
	t.Helper()
	data, _ := json.Marshal(body)
	o.do(t, "PUT", "/"+name, bytes.NewReader(data), nil)
}

// index adds the documents, each with its position as id, and makes them searchable.
func (o *openSearch) index(t *testing.T, name string, docs []map[string]any) {
	t.Helper()
	var b bytes.Buffer
	for i, d := range docs {
		fmt.Fprintf(&b, `{"index":{"_id":"%d"}}`+"\n", i)
		line, _ := json.Marshal(d)
		b.Write(line)
		b.WriteByte('\n')
	}
	var res struct{ Errors bool }
	o.do(t, "POST", "/"+name+"/_bulk?refresh=true", &b, &res)
	if res.Errors {
		t.Fatalf("%s: a document was refused", name)
	}
}

// fired runs each rule's queries and returns, per document, the rules that match it, sorted.
func (o *openSearch) fired(t *testing.T, index string, queries map[string][]string, n int) [][]string {
	t.Helper()
	return firedByRule(queries, n, func(q string) []int {
		body, _ := json.Marshal(map[string]any{"size": n, "_source": false,
			"query": map[string]any{"query_string": map[string]any{"query": q}}})
		var res struct {
			Hits struct {
				Hits []struct {
					ID string `json:"_id"`
				}
			}
		}
		o.do(t, "POST", "/"+index+"/_search", bytes.NewReader(body), &res)
		var hits []int
		for _, h := range res.Hits.Hits {
			var i int
			fmt.Sscan(h.ID, &i)
			hits = append(hits, i)
		}
		return hits
	})
}

// agreesWithSigmaGo holds an engine's verdicts on the event cases (got: the rules it fires on
// each) to sigma-go's, and requires that the same queries over the events as they would be
// stored without the engine's case handling (plain, described by withoutCase) miss some case:
// else the case variants no longer test case. It returns how many cases fire and how many
// plain misses.
func agreesWithSigmaGo(t *testing.T, engine, withoutCase, rulesDir string, cases []eventCase, got, plain [][]string) (fired, missed int) {
	t.Helper()
	evaluator := sigma.NewEvaluator(loadSigmaTree(t, rulesDir))
	for i, c := range cases {
		want, err := evaluator.Matches(context.Background(), c.event)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[i], want) {
			t.Errorf("%s:%d: %s fires %v, sigma-go %v", c.file, c.line, engine, got[i], want)
		}
		if len(want) > 0 {
			fired++
		}
		if !slices.Equal(plain[i], want) {
			missed++
		}
	}
	if missed == 0 {
		t.Errorf("%s: sigma-go's verdict on every case: the case variants no longer test case", withoutCase)
	}
	return fired, missed
}

// firedByRule runs each rule's queries through an engine (search: the positions of the events
// a query finds) and returns, per event of n, the rules that match it, sorted.
func firedByRule(queries map[string][]string, n int, search func(query string) []int) [][]string {
	out := make([][]string, n)
	for rule, qs := range queries {
		hit := map[int]bool{}
		for _, q := range qs {
			for _, i := range search(q) {
				hit[i] = true
			}
		}
		for i := range hit {
			out[i] = append(out[i], rule)
		}
	}
	for i := range out {
		slices.Sort(out[i])
	}
	return out
}
