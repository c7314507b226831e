package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The action's script downloads the release binary from a server, checks it against the
// release's SHA256SUMS, runs it with the arguments given, passes its exit code on and writes
// its output to the job summary; a wrong checksum or a missing file stops it with a message.
func TestActionScript(t *testing.T) {
	// The stub writes a change summary where --changes says, as generate does.
	stub := []byte("#!/bin/sh\necho \"release binary ran: $*\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --changes ] && echo '## rulegen: changes in rules' > \"$2\"; shift; done\nexit 3\n")
	sum := sha256.Sum256(stub)
	good := hex.EncodeToString(sum[:]) + "  rulegen-linux-amd64\n"
	other := strings.Repeat("0", 64) + "  rulegen-linux-amd64\n"

	for _, tc := range []struct {
		name  string
		files map[string]string // path on the server → body
		exit  int
		says  string
	}{
		{"runs the release", map[string]string{"/v1.0.0/rulegen-linux-amd64": string(stub), "/v1.0.0/SHA256SUMS": "abc  rulegen-linux-arm64\n" + good}, 3, "release binary ran: generate --out rules --changes"},
		{"checksum mismatch", map[string]string{"/v1.0.0/rulegen-linux-amd64": string(stub), "/v1.0.0/SHA256SUMS": other}, 1, "checksum mismatch for rulegen-linux-amd64 v1.0.0"},
		{"no binary", map[string]string{"/v1.0.0/SHA256SUMS": good}, 1, "could not download"},
		{"no checksums", map[string]string{"/v1.0.0/rulegen-linux-amd64": string(stub)}, 1, "could not download"},
		{"not listed", map[string]string{"/v1.0.0/rulegen-linux-amd64": string(stub), "/v1.0.0/SHA256SUMS": "abc  rulegen-darwin-arm64\n"}, 1, "lists no rulegen-linux-amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, ok := tc.files[r.URL.Path]
				if !ok {
					http.NotFound(w, r)
					return
				}
				w.Write([]byte(body))
			}))
			defer srv.Close()
			dir := t.TempDir()
			summary := filepath.Join(dir, "summary.md")
			out, code := runAction(t, srv.URL, "v1.0.0", dir, summary, "generate", "--out", "rules", "--changes", filepath.Join(dir, "changes.md"), "reports")
			if code != tc.exit || !strings.Contains(string(out), tc.says) {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tc.exit, out)
			}
			installed := filepath.Join(dir, "rulegen-v1.0.0", "rulegen-linux-amd64")
			_, statErr := os.Stat(installed)
			if tc.exit == 3 {
				written, _ := os.ReadFile(summary)
				if statErr != nil || !strings.Contains(string(written), "### rulegen generate") || !strings.Contains(string(written), tc.says) ||
					!strings.HasPrefix(string(written), "## rulegen: changes in rules\n") {
					t.Errorf("installed: %v; summary:\n%s", statErr, written)
				}
			} else if statErr == nil {
				t.Error("a binary that failed its check was installed")
			}
		})
	}
}

// runAction runs the action's script for release version from the server at url, installing
// into dir and writing the job summary to summary ("" for none); it returns the output and the
// exit code.
func runAction(t *testing.T, url, version, dir, summary string, args ...string) ([]byte, int) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", ".github", "action", "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "RULEGEN_VERSION="+version, "RULEGEN_DOWNLOAD_URL="+url,
		"RULEGEN_INSTALL_DIR="+dir, "GITHUB_STEP_SUMMARY="+summary, "no_proxy=127.0.0.1", "NO_PROXY=127.0.0.1")
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return out, exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out, 0
}

// The action's optional Sigma step converts a rules directory for a SIEM with sigma-cli, in the
// versions the tests pin (testdata/pysigma/requirements.txt; SIGMA_VENV points at the tests'
// own environment, so nothing is downloaded): one query file per rule a target takes, the
// others listed and left out; a missing target stops it with a message.
func TestActionConvertScript(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	venv := filepath.Join(root, "testdata", "pysigma", "venv")
	if _, err := os.Stat(filepath.Join(venv, "bin", "sigma")); err != nil {
		t.Fatalf("sigma-cli: %v (run make pysigma-deps)", err)
	}
	rules := filepath.Join(root, "rules", "sigma")
	total := countFiles(t, rules, ".yml")
	for _, tc := range []struct {
		target, pipeline string
		exit             int
		files            int // query files written; -1: fewer than the rules
		says             string
	}{
		{"splunk", "splunk_windows", 0, total, "Wrote"},
		{"lucene", "ecs_windows", 0, total, "Wrote"},
		{"kusto", "microsoft_xdr", 0, -1, "Unable to determine table name"},
		{"", "", 1, 0, "no target: set the sigma-target input"},
		{"no-such-siem", "", 2, 0, "no-such-siem"},
	} {
		t.Run(tc.target+"_"+tc.pipeline, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "queries")
			cmd := exec.Command("bash", filepath.Join(root, ".github", "action", "convert.sh"), rules, out)
			cmd.Env = append(os.Environ(), "SIGMA_VENV="+venv, "SIGMA_TARGET="+tc.target, "SIGMA_PIPELINE="+tc.pipeline)
			said, err := cmd.CombinedOutput()
			code := 0
			if exit, ok := err.(*exec.ExitError); ok {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.exit || !strings.Contains(string(said), tc.says) {
				t.Fatalf("exit %d, want %d; output:\n%.3000s", code, tc.exit, said)
			}
			if tc.exit != 0 {
				return
			}
			n := countFiles(t, out, "")
			if (tc.files >= 0 && n != tc.files) || (tc.files < 0 && (n == 0 || n >= total)) {
				t.Errorf("%d query files of %d rules", n, total)
			}
		})
	}
}

func countFiles(t *testing.T, dir, ext string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The example workflows give the action only inputs it has.
func TestExampleWorkflowsUseActionInputs(t *testing.T) {
	var action struct {
		Inputs map[string]any `yaml:"inputs"`
	}
	readYAML(t, filepath.Join("..", "..", "action.yml"), &action)
	examples, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	uses := 0
	for _, ex := range examples {
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		readYAML(t, ex, &wf)
		for _, job := range wf.Jobs {
			for _, step := range job.Steps {
				if !strings.HasPrefix(step.Uses, "rulegen/rulegen@") {
					continue
				}
				uses++
				for key := range step.With {
					if _, ok := action.Inputs[key]; !ok {
						t.Errorf("%s: the action has no input %q", ex, key)
					}
				}
			}
		}
	}
	if uses == 0 {
		t.Fatal("no example uses the action")
	}
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
