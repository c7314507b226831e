package pysigma_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/pysigma"
)

// The harness refuses the network: a connection, even to this machine, is an error naming it.
func TestHarnessRefusesTheNetwork(t *testing.T) {
	root := golden.RepoRoot(t)
	python := filepath.Join(root, "testdata", "pysigma", "venv", "bin", "python")
	script := "import harness, urllib.request\nharness.refuse_network()\nurllib.request.urlopen('http://127.0.0.1:9/')\n"
	cmd := exec.Command(python, "-c", script)
	cmd.Dir = filepath.Join(root, "testdata", "pysigma")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "harness.py runs offline: refused a connection to ('127.0.0.1', 9)") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// Without its offline data the harness fails, naming what is missing, before any tool runs:
// pySigma would otherwise fetch it from the network or skip the checks that need it.
func TestHarnessFailsLoudlyWithoutItsData(t *testing.T) {
	root := golden.RepoRoot(t)
	bare := t.TempDir()
	dir := filepath.Join(bare, "testdata", "pysigma")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"harness.py", "sigma-check.yml"} {
		body, err := os.ReadFile(filepath.Join(root, "testdata", "pysigma", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "testdata", "pysigma", "venv"), filepath.Join(dir, "venv")); err != nil {
		t.Fatal(err)
	}
	out, err := pysigma.Check(bare, filepath.Join(root, "rules", "sigma"))
	if err == nil || !strings.Contains(err.Error(), "offline data missing: "+filepath.Join(bare, "generate", "normalize", "attackdata", "attack-techniques.tsv")) {
		t.Fatalf("%v\n%s", err, out)
	}
}
