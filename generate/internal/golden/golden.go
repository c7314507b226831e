// Package golden is the repository's one switch for golden files: UPDATE_GOLDEN=1 go test ./...
// rewrites them; without it a difference fails the test with a diff. An environment variable
// rather than a flag, because `go test ./... -update` fails in packages that do not define it.
package golden

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Update reports whether golden files are being rewritten.
func Update() bool { return os.Getenv("UPDATE_GOLDEN") != "" }

// Assert compares got with the golden file at path, or rewrites it under UPDATE_GOLDEN.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	if Update() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v (create it with UPDATE_GOLDEN=1 go test ./...)", path, err)
	}
	want = bytes.ReplaceAll(want, []byte("\r\n"), []byte("\n"))
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (review, then UPDATE_GOLDEN=1 go test ./...):\n%s", path, Diff(want, got))
	}
}

// Diff is a short line diff: the first differing lines of want and got with their numbers.
func Diff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// RepoRoot returns the directory holding go.mod, so tests in any package find testdata/ and
// rules/ at the top of the repository.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// MISPEvent reads a real MISP event bundled in testdata/reports/misp as generic JSON, for a
// test to edit (add last_seen, change a value) before it writes the event out again: the
// event of an {"Event": ...} document, the first of a {"response": [...]} list, or a bare one.
func MISPEvent(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(t), "testdata", "reports", "misp", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if ev, ok := doc["Event"].(map[string]any); ok {
		return ev
	}
	if list, ok := doc["response"].([]any); ok && len(list) > 0 {
		if ev, ok := list[0].(map[string]any)["Event"].(map[string]any); ok {
			return ev
		}
	}
	return doc
}
