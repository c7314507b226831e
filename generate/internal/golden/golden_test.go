package golden

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// A line added, removed or changed shows as that line alone, wherever it is in the file.
func TestDiffShowsOnlyTheLinesThatDiffer(t *testing.T) {
	want := "title: a\nid: 1\nstatus: test\nlevel: high\n"
	for _, c := range []struct{ got, diff string }{
		{"modified: x\n" + want, "+1: modified: x\n"},
		{"title: a\nid: 1\nlevel: high\n", "-3: status: test\n"},
		{"title: a\nid: 2\nstatus: test\nlevel: high\n", "-2: id: 1\n+2: id: 2\n"},
		{want, ""},
	} {
		if got := Diff([]byte(want), []byte(c.got)); got != c.diff {
			t.Errorf("Diff with %q:\n%s\nwant\n%s", c.got, got, c.diff)
		}
	}
	long := strings.Repeat("x\n", 100)
	if got := Diff([]byte(long), []byte(strings.Repeat("y\n", 100))); !strings.Contains(got, "… and 160 more differing lines") {
		t.Errorf("a long diff is not cut:\n%s", got)
	}
}

// AssertTree fails on a golden file no longer produced, and on one that differs.
func TestAssertTreeFindsStaleAndChangedFiles(t *testing.T) {
	root := WriteTree(t, t.TempDir(), map[string]string{"a/kept.yml": "same\n", "a/changed.yml": "old\n", "b/stale.yml": "gone\n"})
	rec := &recorder{TB: t}
	AssertTree(rec, root, map[string][]byte{"a/kept.yml": []byte("same\n"), "a/changed.yml": []byte("new\n")})
	all := strings.Join(rec.errors, "\n")
	if len(rec.errors) != 2 || !strings.Contains(all, "changed.yml differs") || !strings.Contains(all, "-1: old\n+1: new") ||
		!strings.Contains(all, filepath.Join("b", "stale.yml")+" is generated no more") {
		t.Errorf("errors:\n%s", all)
	}
}

// recorder keeps what a test would report instead of failing the test that runs it.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, strings.TrimSpace(strings.ReplaceAll(fmt.Sprintf(format, args...), "\r", "")))
}
func (r *recorder) Helper() {}
