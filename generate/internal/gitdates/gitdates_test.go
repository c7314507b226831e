package gitdates_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/gitdates"
)

// Each file is dated by the commit that first added it, not by a later edit; a tree outside
// any work tree has no dates.
func TestAdded(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed for this test")
	}
	repo := t.TempDir()
	git := func(date string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+date+"T10:00:00Z", "GIT_COMMITTER_DATE="+date+"T10:00:00Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(rel, body string) {
		p := filepath.Join(repo, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("2021-05-06", "init", "-q")
	write("pubs/a/iocs.csv", "a")
	git("2021-05-06", "add", ".")
	git("2021-05-06", "commit", "-qm", "a")
	write("pubs/a/iocs.csv", "a, edited")
	write("pubs/b.txt", "b")
	git("2022-07-08", "add", ".")
	git("2022-07-08", "commit", "-qm", "b")
	root := filepath.Join(repo, "pubs")
	got := gitdates.Added(root)
	want := map[string]string{filepath.Join(root, "a", "iocs.csv"): "2021-05-06", filepath.Join(root, "b.txt"): "2022-07-08"}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if got := gitdates.Added(t.TempDir()); len(got) != 0 {
		t.Errorf("outside a work tree: %v", got)
	}
}
