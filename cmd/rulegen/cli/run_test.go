package cli_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/cmd/rulegen/cli"
)

// Every command maps success, failure and misuse to 0, 1 and 2, in-process.
func TestRunExitCodes(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	report := file("report.md", "# Threat Report: 2024-05-01: Exit Codes\n## Key Intelligence\n* Date: 2024-05-01\n"+
		"## Indicators of Compromise (IOCs)\n### Network activity\n* domain: c2-exit-codes.net\n")
	other := file("other.md", strings.ReplaceAll(string(must(os.ReadFile(report))), "c2-exit-codes.net", "c2-exit-other.net"))
	bad := file("bad.md", "not a report\n")
	good := filepath.Join(dir, "rules")
	broken := filepath.Join(dir, "broken")
	feed := httptest.NewServer(http.FileServer(http.Dir(filepath.Join("..", "..", "..", "testdata", "feeds", "chrome-mal-ids"))))
	defer feed.Close()
	pulled := filepath.Join(dir, "pulled")
	file("broken/yara/x.yar", "rule x { condition: nope }\n")
	file("broken/sigma/x/x.yml", "title: x\n")

	for _, tc := range []struct {
		name string
		args []string
		want int
		says string // in stdout or stderr
	}{
		{"no command", nil, 0, "Available Commands"},
		{"unknown command", []string{"bogus"}, 2, `unknown command "bogus"`},
		{"unknown flag", []string{"--bogus"}, 2, "unknown flag"},
		{"generate", []string{"generate", "--out", good, report}, 0, "1 reports"},
		{"generate bad input", []string{"generate", "--out", good, bad}, 1, "bad.md:1"},
		{"generate missing input", []string{"generate", "--out", good, filepath.Join(dir, "none.md")}, 1, "none.md"},
		{"generate no input", []string{"generate", "--out", good}, 2, "at least one INPUT"},
		{"generate bad layout", []string{"generate", "--yara-layout", "nope", report}, 2, "--yara-layout"},
		{"generate negative bulk", []string{"generate", "--yara-bulk-c2", "-1", report}, 2, "--yara-bulk-c2"},
		{"check up to date", []string{"generate", "--check", "--out", good, report}, 0, "up to date"},
		{"check stale", []string{"generate", "--check", "--out", good, other}, 1, "is stale"},
		{"check bad input", []string{"generate", "--check", "--out", good, bad}, 1, "bad.md:1"},
		{"check bad flag", []string{"generate", "--check", "--max-tlp", "purple", report}, 2, "--max-tlp"},
		{"test", []string{"test", good}, 0, "0 failed"},
		{"test failing", []string{"test", broken}, 1, "failed"},
		{"test missing directory", []string{"test", filepath.Join(dir, "none")}, 1, "none"},
		{"test two directories", []string{"test", good, broken}, 2, "at most one"},
		{"lint", []string{"lint", good}, 0, "0 failed"},
		{"lint failing", []string{"lint", broken}, 1, "failed"},
		{"lint bad flag", []string{"lint", "--max-values", "x", good}, 2, "invalid argument"},
		{"pull", []string{"pull", "--feed", feed.URL, "--out", pulled}, 0, "3 new"},
		{"pull again", []string{"pull", "--feed", feed.URL, "--out", pulled}, 0, "3 unchanged"},
		{"generate pulled", []string{"generate", "--out", filepath.Join(dir, "pulled-rules"), pulled}, 0, "3 reports"},
		{"pull missing feed", []string{"pull", "--feed", feed.URL + "/nowhere", "--out", pulled}, 1, "404 Not Found"},
		{"pull without a source", []string{"pull", "--out", pulled}, 2, "one source"},
		{"pull two sources", []string{"pull", "--feed", feed.URL, "--misp", feed.URL}, 2, "one source"},
		{"version", []string{"version"}, 0, "rulegen devel (commit "},
		{"version json", []string{"version", "--json"}, 0, `"libyara": "4.2.`},
		{"--version", []string{"--version"}, 0, "rulegen devel"},
		{"version extra argument", []string{"version", "x"}, 2, "unknown command"},
		{"pull bad since", []string{"pull", "--feed", feed.URL, "--since", "last week"}, 2, "--since"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := cli.Run(tc.args, &stdout, &stderr)
			if got != tc.want || !strings.Contains(stdout.String()+stderr.String(), tc.says) {
				t.Errorf("rulegen %s: exit %d, want %d saying %q\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), got, tc.want, tc.says, stdout.String(), stderr.String())
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// rulegen pull without a source pulls every source rulegen.yaml lists, each into its own
// directory, with flags given on the command line over the file's settings.
func TestPullFromConfig(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir, _ := filepath.Abs(filepath.Join("..", "..", "..", "testdata", "feeds", "chrome-mal-ids"))
	feed := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer feed.Close()
	t.Chdir(t.TempDir())
	conf := "pull:\n  - feed: " + feed.URL + "\n    out: reports/a\n  - feed: " + feed.URL + "\n    out: reports/b\n    since: 2099-01-01\n"
	if err := os.WriteFile("rulegen.yaml", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Run([]string{"pull"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	a, _ := filepath.Glob("reports/a/*-*-*.json")
	b, _ := filepath.Glob("reports/b/*-*-*.json")
	if len(a) != 3 || len(b) != 0 || strings.Count(stdout.String(), "feed "+feed.URL) != 2 {
		t.Errorf("a %d, b %d events:\n%s", len(a), len(b), stdout.String())
	}
	// --since on the command line overrides both sources' settings.
	stdout.Reset()
	if code := cli.Run([]string{"pull", "--since", "2000-01-01"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if b, _ = filepath.Glob("reports/b/*-*-*.json"); len(b) != 3 {
		t.Errorf("with --since over the file: b has %d events", len(b))
	}
}
