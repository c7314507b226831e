package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFile writes body to path, making its directory, and returns path: the tests' one way
// to put an input on disk.
func WriteFile(t testing.TB, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteTree writes files (slash paths below dir → contents) under dir and returns dir.
func WriteTree(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		WriteFile(t, filepath.Join(dir, filepath.FromSlash(name)), body)
	}
	return dir
}
