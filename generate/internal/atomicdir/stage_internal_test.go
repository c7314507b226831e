package atomicdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A stage on another file system than the output (the exchange was refused late) is moved in
// file by file through temporaries beside each target, which do not stay.
func TestMoveEachAcrossFileSystems(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "rulegen-test-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	defer os.RemoveAll(shm)
	out := t.TempDir()
	if !onOtherDevice(shm) && !isMountPoint("/dev/shm") {
		t.Skip("/dev/shm is not another file system here")
	}
	s, err := openStage(shm, out, false)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(out, "yara"), 0o755)
	os.WriteFile(filepath.Join(out, "yara", "a.yar"), []byte("old"), 0o600)
	for _, f := range []File{{Path: "yara/a.yar", Body: []byte("new")}, {Path: "sigma/r/b.yml", Body: []byte("title: b\n")}} {
		if err := s.Put(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.moveEach(); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{"yara/a.yar": "new", "sigma/r/b.yml": "title: b\n"} {
		if got, err := os.ReadFile(filepath.Join(out, rel)); err != nil || string(got) != want {
			t.Errorf("%s: %q %v", rel, got, err)
		}
	}
	if info, _ := os.Stat(filepath.Join(out, "yara", "a.yar")); info.Mode().Perm() != 0o600 {
		t.Errorf("replaced file's mode %v, want its old 0600", info.Mode().Perm())
	}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			t.Errorf("temporary left: %s", p)
		}
		return nil
	})
}
