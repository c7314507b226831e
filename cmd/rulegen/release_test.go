package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The release build is one executable that needs no shared library: built twice it gives the
// same bytes, ldd finds nothing of libyara's, and it passes the README's CI gate on the
// bundled rules inside an empty root (chroot) where no library could be found at all.
//
// It builds the static release twice, so go test runs it only when asked:
// RULEGEN_TEST_RELEASE=1, as `make test-release` (part of `make test`) sets it.
func TestReleaseBinary(t *testing.T) {
	if os.Getenv("RULEGEN_TEST_RELEASE") == "" {
		t.Skip("the release build: make test-release (RULEGEN_TEST_RELEASE=1)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	build := func(dir string) []byte {
		t.Helper()
		cmd := exec.Command("make", "--no-print-directory", "-C", root, "release", "RELEASE_DIR="+dir, "VERSION=v0.0.0-test", "COMMIT=0123456789abcdef")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make release: %v\n%s", err, out)
		}
		bin, err := os.ReadFile(filepath.Join(dir, "rulegen-linux-amd64"))
		if err != nil {
			t.Fatal(err)
		}
		return bin
	}
	a, b := t.TempDir(), t.TempDir()
	first, second := build(a), build(b)
	if !bytes.Equal(first, second) {
		t.Error("two release builds differ")
	}
	sums, _ := os.ReadFile(filepath.Join(a, "SHA256SUMS"))
	if again, _ := os.ReadFile(filepath.Join(b, "SHA256SUMS")); !bytes.Equal(sums, again) || !strings.HasSuffix(string(sums), "  rulegen-linux-amd64\n") {
		t.Errorf("SHA256SUMS %q and %q", sums, again)
	}
	release := filepath.Join(a, "rulegen-linux-amd64")
	ldd, _ := exec.Command("ldd", release).CombinedOutput()
	for _, lib := range []string{"libyara", "libjansson", "libmagic", "libcrypto"} {
		if strings.Contains(string(ldd), lib) {
			t.Errorf("the release links %s dynamically:\n%s", lib, ldd)
		}
	}
	out, err := exec.Command(release, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rulegen v0.0.0-test (commit 0123456789abcdef, go1.") || !strings.Contains(string(out), "libyara 4.2.") {
		t.Errorf("version: %s %v", out, err)
	}
	// The action's script fetches this very release from a server and runs it.
	srv := httptest.NewServer(http.StripPrefix("/v0.0.0-test/", http.FileServer(http.Dir(a))))
	defer srv.Close()
	if out, code := runAction(t, srv.URL, "v0.0.0-test", t.TempDir(), "", "version"); code != 0 || !strings.Contains(string(out), "rulegen v0.0.0-test (commit 0123456789abcdef") {
		t.Errorf("the action's script with the release: exit %d\n%s", code, out)
	}
	if os.Geteuid() != 0 {
		t.Skip("the gate in an empty root needs chroot, which needs root; CI runs as root")
	}
	jail := t.TempDir()
	for _, dir := range []string{"rules", "testdata/reports", "testdata/fixtures", "testdata/events"} {
		os.MkdirAll(filepath.Join(jail, filepath.Dir(dir)), 0o755)
		if out, err := exec.Command("cp", "-r", filepath.Join(root, dir), filepath.Join(jail, dir)).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v %s", dir, err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(jail, "rulegen"), first, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"generate", "--check", "--author", "rulegen", "--out", "rules", "testdata/reports"},
		{"lint", "rules"},
		{"test", "rules", "--fixtures", "testdata/fixtures/manifest.yaml", "--events", "testdata/events"},
	} {
		cmd := exec.Command("chroot", append([]string{jail, "/rulegen"}, args...)...)
		cmd.Env = []string{"PATH=/"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("chroot %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
