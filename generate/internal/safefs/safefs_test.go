package safefs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rulegen/rulegen/generate/internal/safefs"
)

// A walk visits folders and regular files, follows a link to a file inside the tree, and
// passes over, with the reason, every link out of it, broken links, links to folders, FIFOs
// and devices, without opening any of them.
func TestWalkStaysInTheTree(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.env")
	must(t, os.WriteFile(secret, []byte("SECRET_TOKEN=x"), 0o600))
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "pub", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "pub", "iocs.txt"), []byte("evil.example"), 0o644))
	must(t, os.Symlink("iocs.txt", filepath.Join(root, "pub", "again.txt")))
	must(t, os.Symlink(secret, filepath.Join(root, "pub", "secret.txt")))
	must(t, os.Symlink("/proc/self/environ", filepath.Join(root, "pub", "environ.txt")))
	must(t, os.Symlink("/dev/zero", filepath.Join(root, "zero.txt")))
	must(t, os.Symlink("nowhere", filepath.Join(root, "broken.txt")))
	must(t, os.Symlink("pub", filepath.Join(root, "loop")))
	must(t, syscall.Mkfifo(filepath.Join(root, "pipe.txt"), 0o644))
	must(t, os.MkdirAll(filepath.Join(root, "out"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "out", "rules.yar"), []byte("rule x { condition: true }"), 0o644))
	var visited []string
	skips, err := safefs.Walk(root, safefs.Options{Exclude: func(dir string) string {
		if filepath.Base(dir) == "out" {
			return "own output"
		}
		return ""
	}}, func(p string, d fs.DirEntry) error {
		rel, _ := filepath.Rel(root, p)
		if !d.IsDir() && !d.Type().IsRegular() {
			t.Errorf("%s handed over as %v", rel, d.Type())
		}
		visited = append(visited, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".", "pub", "pub/again.txt", "pub/iocs.txt", "pub/sub"}; !slices.Equal(visited, want) {
		t.Errorf("visited %v, want %v", visited, want)
	}
	reasons := map[string]string{}
	for _, s := range skips {
		rel, _ := filepath.Rel(root, s.Path)
		reasons[rel] = s.Reason
	}
	for rel, want := range map[string]string{
		"pub/secret.txt":  "a link to outside the input tree: not opened",
		"pub/environ.txt": "a link to outside the input tree: not opened",
		"zero.txt":        "a link to outside the input tree: not opened",
		"broken.txt":      "a broken link",
		"loop":            "a link to a folder: not followed",
		"pipe.txt":        "a named pipe (FIFO): only regular files are read",
		"out":             "own output",
	} {
		if reasons[rel] != want {
			t.Errorf("%s: %q, want %q", rel, reasons[rel], want)
		}
	}
}

// ReadFile refuses a FIFO at once (it would wait for a writer for ever) and a device, and never
// reads past its limit, whatever the file's size says.
func TestReadFileIsBounded(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	must(t, syscall.Mkfifo(fifo, 0o644))
	done := make(chan error, 1)
	go func() {
		_, err := safefs.ReadFile(fifo, 1<<20)
		done <- err
	}()
	select {
	case err := <-done:
		var nr *safefs.NotRegularError
		if !errors.As(err, &nr) || !strings.Contains(err.Error(), "a named pipe (FIFO)") {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
	if _, err := safefs.ReadFile("/dev/zero", 1<<20); err == nil || !strings.Contains(err.Error(), "a character device") {
		t.Errorf("/dev/zero: %v", err)
	}
	// /proc files say they are empty: the limit holds on what is read.
	if data, err := safefs.ReadFile("/proc/self/maps", 16); !errors.Is(err, safefs.ErrTooLarge) || data != nil {
		t.Errorf("/proc/self/maps with a limit of 16 bytes: %d bytes, %v", len(data), err)
	}
	file := filepath.Join(t.TempDir(), "f")
	must(t, os.WriteFile(file, []byte("0123456789"), 0o644))
	if data, err := safefs.ReadFile(file, 10); err != nil || string(data) != "0123456789" {
		t.Errorf("a file at the limit: %q, %v", data, err)
	}
	if _, err := safefs.ReadFile(file, 9); !errors.Is(err, safefs.ErrTooLarge) {
		t.Errorf("a file over the limit: %v", err)
	}
}

func TestPrefix(t *testing.T) {
	for in, want := range map[string]string{"short": "short", "0123456789": "01234…", "ééééé": "éé…"} {
		if got := safefs.Prefix(in, 5); got != want {
			t.Errorf("Prefix(%q, 5) = %q, want %q", in, got, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
