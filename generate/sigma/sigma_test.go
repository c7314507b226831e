package sigma_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/sigma"
)

// loadCommitted validates and loads every rule under rules/sigma, named <slug>/<stem>.
func loadCommitted(t testing.TB) []sigma.Rule {
	t.Helper()
	dir := filepath.Join(golden.RepoRoot(t), "rules", "sigma")
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*.yml"))
	if len(paths) == 0 {
		t.Fatal("no rules/sigma/*/*.yml: run make rules")
	}
	var rules []sigma.Rule
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		r, err := sigma.Load(strings.TrimSuffix(filepath.ToSlash(rel), ".yml"), body)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		rules = append(rules, r)
	}
	return rules
}

func TestCommittedRulesValidate(t *testing.T) {
	rules := loadCommitted(t)
	ids := map[string]string{}
	for _, r := range rules {
		if other, dup := ids[r.Rule.ID]; dup {
			t.Errorf("%s and %s share id %s", r.Name, other, r.Rule.ID)
		}
		ids[r.Rule.ID] = r.Name
	}
}

// TestRenderGoldensValidate loads the render package's Sigma goldens, which exercise every
// template branch and a hostile report title.
func TestRenderGoldensValidate(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(golden.RepoRoot(t), "generate", "render", "testdata", "golden", "*", "sigma", "*", "*.yml"))
	if len(paths) == 0 {
		t.Fatal("no Sigma render goldens")
	}
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sigma.Load(filepath.Base(p), body); err != nil {
			t.Error(err)
		}
	}
}

// The event cases (testdata/events/*.jsonl) are checked by generate/verify's
// TestCommittedRulesPassTheGate, through the code `rulegen test` runs.

func realLogs(t testing.TB) []map[string]any {
	files, _ := filepath.Glob(filepath.Join(golden.RepoRoot(t), "testdata", "logs", "*.jsonl"))
	var events []map[string]any
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var e map[string]any
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			events = append(events, e)
		}
		f.Close()
	}
	if len(events) < 100 {
		t.Fatalf("only %d real events", len(events))
	}
	return events
}

// TestRealLogsFireNothing evaluates every rule over real Windows logs (OTRF Security-Datasets).
func TestRealLogsFireNothing(t *testing.T) {
	ev := sigma.NewEvaluator(loadCommitted(t))
	for i, e := range realLogs(t) {
		got, err := ev.Matches(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 {
			t.Errorf("real event %d (EventID %v) fired %v", i, e["EventID"], got)
		}
	}
}

// BenchmarkEvaluateRealLogs measures events per second with every committed rule loaded.
func BenchmarkEvaluateRealLogs(b *testing.B) {
	ev := sigma.NewEvaluator(loadCommitted(b))
	events := realLogs(b)
	ctx := context.Background()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, e := range events {
			if _, err := ev.Matches(ctx, e); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// TestHostileValuesStayLiteral writes values with Sigma wildcards, backslashes, quotes and
// YAML specials through SigmaString and proves they parse and match only themselves.
func TestHostileValuesStayLiteral(t *testing.T) {
	values := []string{`C:\a*b?.exe`, `\\server\share\`, `it's: #x`, `- {&!|'"}`, "tab\there", `trailing\`, `a\*b`}
	for _, v := range values {
		body := "title: t\nid: 0a5ed561-3e9b-52f3-9172-a4153f42786c\nstatus: experimental\ndescription: d\nauthor: a\ndate: 2024-01-01\ntags:\n    - tlp.clear\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    selection:\n        Image: " + render.SigmaString(v) + "\n    condition: selection\nfalsepositives:\n    - Unlikely\nlevel: low\n"
		r, err := sigma.Load("hostile", []byte(body))
		if err != nil {
			t.Fatalf("%q: %v\n%s", v, err, body)
		}
		ev := sigma.NewEvaluator([]sigma.Rule{r})
		hit, _ := ev.Matches(context.Background(), map[string]any{"Image": v})
		miss, _ := ev.Matches(context.Background(), map[string]any{"Image": v + "x"})
		if len(hit) != 1 || len(miss) != 0 {
			t.Errorf("%q (written %s): hit %v miss %v", v, render.SigmaString(v), hit, miss)
		}
	}
}

func TestValidateReportsEachProblem(t *testing.T) {
	body := "title: t\nid: not-a-uuid\nstatus: experimental\ndescription: d\nauthor: a\ndate: 2024/01/01\ntags:\n    - attack.T1059\n    - nope\nlogsource:\n    category: x\ndetection:\n    sel:\n        A: b\n    condition: sel\nlevel: severe\n"
	err := sigma.Validate("bad.yml", []byte(body))
	if err == nil {
		t.Fatal("validated")
	}
	for _, want := range []string{"bad.yml:", `id "not-a-uuid" is not a UUID`, "date 2024/01/01", `tag "attack.T1059"`, `tag "nope"`, "missing field falsepositives", `level "severe"`, "schema:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
