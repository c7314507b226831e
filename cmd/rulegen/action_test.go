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
