package compat_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulegen/rulegen/generate/internal/golden"
)

// logsQLTarget is the harness's LogsQL target: pySigma's VictoriaLogs backend with rulegen's
// pipeline that writes the rules' values in lower case (examples/victorialogs-lowercase.yml).
const logsQLTarget = "victoria_logs (LogsQL, values lower-cased)"

// TestVictoriaLogsAgreesWithSigmaGo runs every committed Sigma rule, converted to LogsQL by
// pySigma's VictoriaLogs backend, in a real VictoriaLogs node (built from the Go module proxy by
// make victorialogs-deps, started on 127.0.0.1 and stopped after) over the event cases, case
// variants included: each event must fire exactly the rules sigma-go fires. LogsQL's string
// filters are case-sensitive, so the logs are lower-cased at ingestion (as a user's must be)
// and rulegen's pipeline writes the values in lower case; logs ingested as they are miss the
// upper-case variants, which the test shows too.
func TestVictoriaLogsAgreesWithSigmaGo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts VictoriaLogs")
	}
	root := golden.RepoRoot(t)
	rulesDir := filepath.Join(root, "rules", "sigma")
	eventFiles := eventCaseFiles(t, root)
	cases := readEventCases(t, eventFiles)
	queries := targetQueries(t, root, rulesDir, logsQLTarget)
	node := startVictoriaLogs(t, root)
	lowered, asIs := make([]map[string]any, len(cases)), make([]map[string]any, len(cases))
	for i, c := range cases {
		lowered[i], asIs[i] = logRecord(i, c.event, true), logRecord(i, c.event, false)
	}
	node.ingest(t, "1", lowered)
	node.ingest(t, "2", asIs)

	got, plain := node.fired(t, "1", queries, len(cases)), node.fired(t, "2", queries, len(cases))
	fired, missed := agreesWithSigmaGo(t, "VictoriaLogs", "logs ingested in their own case", rulesDir, cases, got, plain)
	t.Logf("%d cases, %d firing, %d queries: VictoriaLogs agrees with sigma-go on each; logs in their own case miss %d", len(cases), fired, len(queries), missed)
}

// logRecord is an event case as a log record: its fields (strings lower-cased when lower), a
// _msg VictoriaLogs requires, and its position.
func logRecord(i int, event map[string]any, lower bool) map[string]any {
	rec := map[string]any{"_msg": fmt.Sprintf("event case %d", i), "rulegen_case": fmt.Sprint(i)}
	for k, v := range event {
		if s, ok := v.(string); ok && lower {
			v = strings.ToLower(s)
		}
		rec[k] = v
	}
	return rec
}

type victoriaLogs struct{ url string }

// startVictoriaLogs starts the node make victorialogs-deps built, on a free port of 127.0.0.1,
// and stops it when the test ends.
func startVictoriaLogs(t *testing.T, root string) *victoriaLogs {
	t.Helper()
	bins, _ := filepath.Glob(filepath.Join(root, "bin", "victoria-logs-v*"))
	if len(bins) == 0 {
		t.Fatal("no VictoriaLogs binary: run make victorialogs-deps")
	}
	slices.Sort(bins)
	port := freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(bins[len(bins)-1], "-storageDataPath="+t.TempDir(), fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port),
		"-retentionPeriod=100y", "-loggerLevel=ERROR",
		// The default, 16,384 bytes, refuses the committed rules' longest queries (22,808 bytes).
		"-search.maxQueryLen=1048576")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	node := &victoriaLogs{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(node.url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return node
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("VictoriaLogs did not start: %s", tailOf(logs.String()))
		}
	}
}

func (v *victoriaLogs) request(t *testing.T, method, path, project string, body io.Reader) []byte {
	t.Helper()
	req, err := http.NewRequest(method, v.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("ProjectID", project)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %.200s: %s: %.1000s", method, path, resp.Status, data)
	}
	return data
}

// ingest adds the records to a project by the JSON lines API and makes them searchable.
func (v *victoriaLogs) ingest(t *testing.T, project string, records []map[string]any) {
	t.Helper()
	var b bytes.Buffer
	for _, r := range records {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	v.request(t, "POST", "/insert/jsonline", project, &b)
	v.request(t, "GET", "/internal/force_flush", project, nil)
}

// fired runs each rule's queries in a project and returns, per record, the rules that match
// it, sorted.
func (v *victoriaLogs) fired(t *testing.T, project string, queries map[string][]string, n int) [][]string {
	t.Helper()
	return firedByRule(queries, n, func(q string) []int {
		data := v.request(t, "GET", "/select/logsql/query?"+url.Values{"query": {q + " | fields rulegen_case"}}.Encode(), project, nil)
		var hits []int
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var rec struct {
				Case string `json:"rulegen_case"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			var i int
			fmt.Sscan(rec.Case, &i)
			hits = append(hits, i)
		}
		return hits
	})
}
