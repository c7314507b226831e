// Package golden is the repository's one switch for golden files: UPDATE_GOLDEN=1 go test ./...
// rewrites them; without it a difference fails the test with a diff. An environment variable
// rather than a flag, because `go test ./... -update` fails in packages that do not define it.
package golden

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
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

// AssertTree holds files (slash paths below root → contents) to the golden tree at root: each
// compared as Assert does, and a file under root that none of them is any more fails as stale
// (UPDATE_GOLDEN=1 writes the tree and removes stale files).
func AssertTree(t testing.TB, root string, files map[string][]byte) {
	t.Helper()
	want := map[string]bool{}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		want[p] = true
		Assert(t, p, files[rel])
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || want[p] {
			return err
		}
		if Update() {
			return os.Remove(p)
		}
		t.Errorf("%s is generated no more: UPDATE_GOLDEN=1 removes it", p)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

// Diff is a line diff of want and got: the lines only one of them has, "-" for want's and "+"
// for got's, each with its line number, in order (at most maxDiffLines of them). Lines are
// matched by a longest common subsequence, so a line added at the top shows as one line, not
// as every line below it.
func Diff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	// Common head and tail first: most diffs are a few lines in a long file.
	head := 0
	for head < len(w) && head < len(g) && w[head] == g[head] {
		head++
	}
	tail := 0
	for tail < len(w)-head && tail < len(g)-head && w[len(w)-1-tail] == g[len(g)-1-tail] {
		tail++
	}
	wm, gm := w[head:len(w)-tail], g[head:len(g)-tail]
	var b strings.Builder
	shown := 0
	emit := func(sign string, line int, text string) {
		if shown++; shown <= maxDiffLines {
			fmt.Fprintf(&b, "%s%d: %s\n", sign, line, text)
		}
	}
	if len(wm)*len(gm) > maxDiffCells { // too large to align: by position
		for i := range max(len(wm), len(gm)) {
			if i < len(wm) {
				emit("-", head+i+1, wm[i])
			}
			if i < len(gm) {
				emit("+", head+i+1, gm[i])
			}
		}
	} else {
		for _, op := range align(wm, gm) {
			switch {
			case op.w >= 0 && op.g < 0:
				emit("-", head+op.w+1, wm[op.w])
			case op.g >= 0 && op.w < 0:
				emit("+", head+op.g+1, gm[op.g])
			}
		}
	}
	if shown > maxDiffLines {
		fmt.Fprintf(&b, "… and %d more differing lines\n", shown-maxDiffLines)
	}
	return b.String()
}

const (
	maxDiffLines = 40
	maxDiffCells = 4_000_000 // lines of want times lines of got that align compares at most
)

// step is one line of an alignment: w and g index the lines of each side, -1 where the line is
// only on the other side.
type step struct{ w, g int }

// align is a longest-common-subsequence alignment of w and g, in order.
func align(w, g []string) []step {
	lcs := make([][]int, len(w)+1) // lcs[i][j]: the LCS length of w[i:] and g[j:]
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var steps []step
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			steps = append(steps, step{i, j})
			i, j = i+1, j+1
		case j == len(g) || (i < len(w) && lcs[i+1][j] >= lcs[i][j+1]):
			steps = append(steps, step{i, -1})
			i++
		default:
			steps = append(steps, step{-1, j})
			j++
		}
	}
	return steps
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
