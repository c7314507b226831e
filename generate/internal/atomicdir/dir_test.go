package atomicdir_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/internal/golden"
)

// commit writes files into out in one run, and removes the old files listed in remove.
func commit(t *testing.T, out string, remove []string, files map[string]string) atomicdir.Written {
	t.Helper()
	d, err := atomicdir.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for p, body := range files {
		if err := d.Put(atomicdir.File{Path: p, Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range remove {
		d.Remove(rel)
	}
	w, err := d.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func write(t *testing.T, out, rel, body string) { golden.WriteFile(t, filepath.Join(out, rel), body) }

// treeState maps each file under dir to its inode identity.
func treeState(t *testing.T, dir string) map[string]os.FileInfo {
	t.Helper()
	out := map[string]os.FileInfo{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := os.Stat(p)
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = info
		}
		return err
	})
	return out
}

func assertTree(t *testing.T, dir string, same map[string]os.FileInfo, bodies map[string]string) {
	t.Helper()
	now := treeState(t, dir)
	for rel, info := range same {
		if !os.SameFile(info, now[rel]) {
			t.Errorf("%s changed", rel)
		}
	}
	for rel, body := range bodies {
		got, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil || string(got) != body {
			t.Errorf("%s: %q %v, want %q", rel, got, err, body)
		}
	}
}

// leftovers lists what runs leave beside or inside out besides the rules: stages, temporaries,
// the lock file.
func leftovers(t *testing.T, out string) []string {
	t.Helper()
	var found []string
	for _, dir := range []string{filepath.Dir(out), out} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), "rulegen") {
				found = append(found, filepath.Join(dir, e.Name()))
			}
		}
	}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".rulegen-tmp-") {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// A relative output directory, written new and then over existing files.
func TestRelativeOutput(t *testing.T) {
	t.Chdir(t.TempDir())
	w := commit(t, "rules", nil, map[string]string{"sigma/x/a.yml": "title: a\n", "yara/x.yar": "rule a { condition: false }\n"})
	if w.Files != 2 || w.Unchanged != 0 || w.Mode != atomicdir.Swapped {
		t.Fatalf("first run %+v", w)
	}
	w = commit(t, "rules", nil, map[string]string{"sigma/x/a.yml": "title: a\n", "yara/x.yar": "rule b { condition: false }\n"})
	if w.Files != 1 || w.Unchanged != 1 {
		t.Fatalf("second run %+v", w)
	}
	assertTree(t, "rules", nil, map[string]string{"yara/x.yar": "rule b { condition: false }\n"})
	if left := leftovers(t, "rules"); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// Commit replaces the output as a whole: unchanged files keep their inode, files the run did
// not write are carried over unless left out, and a run that is not committed changes nothing.
func TestCommitSwapsTheTree(t *testing.T) {
	out := filepath.Join(t.TempDir(), "rules")
	write(t, out, "yara/same.yar", "rule same { condition: false }\n")
	write(t, out, "yara/changes.yar", "rule old { condition: false }\n")
	write(t, out, "yara/orphan.yar", "rule orphan { condition: false }\n")
	write(t, out, "README.md", "the rules repository\n")
	before := treeState(t, out)

	d, err := atomicdir.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	d.Put(atomicdir.File{Path: "yara/changes.yar", Body: []byte("rule new { condition: false }\n")})
	d.Close()
	assertTree(t, out, before, map[string]string{"yara/changes.yar": "rule old { condition: false }\n"})

	w := commit(t, out, []string{"yara/orphan.yar"}, map[string]string{
		"yara/same.yar":    "rule same { condition: false }\n",
		"yara/changes.yar": "rule new { condition: false }\n",
		"sigma/r/new.yml":  "title: new\n",
	})
	if w.Files != 2 || w.Unchanged != 1 || w.Removed != 1 || w.Mode != atomicdir.Swapped {
		t.Fatalf("%+v", w)
	}
	after := treeState(t, out)
	if !os.SameFile(before["yara/same.yar"], after["yara/same.yar"]) || !os.SameFile(before["README.md"], after["README.md"]) {
		t.Error("an unchanged file was rewritten")
	}
	if _, ok := after["yara/orphan.yar"]; ok {
		t.Error("the file left out was kept")
	}
	assertTree(t, out, nil, map[string]string{"yara/changes.yar": "rule new { condition: false }\n", "sigma/r/new.yml": "title: new\n", "README.md": "the rules repository\n"})
	if left := leftovers(t, out); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// A symbolic link to the output directory stays a link; its target receives the rules.
func TestSymlinkedOutput(t *testing.T) {
	parent := t.TempDir()
	target := filepath.Join(parent, "srv", "rules")
	write(t, target, "yara/old.yar", "rule old { condition: false }\n")
	link := filepath.Join(parent, "rules")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	commit(t, link, nil, map[string]string{"yara/new.yar": "rule new { condition: false }\n"})
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", info.Mode(), err)
	}
	assertTree(t, target, nil, map[string]string{"yara/new.yar": "rule new { condition: false }\n", "yara/old.yar": "rule old { condition: false }\n"})
	if left := leftovers(t, target); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	dangling := filepath.Join(parent, "dangling")
	os.Symlink(filepath.Join(parent, "nowhere"), dangling)
	if _, err := atomicdir.Open(dangling); err == nil || !strings.Contains(err.Error(), "which does not exist") {
		t.Errorf("dangling link: %v", err)
	}
}

// An existing directory keeps its mode (and files their modes); a new one gets the umask's.
func TestModes(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	parent := t.TempDir()

	fresh := filepath.Join(parent, "fresh")
	commit(t, fresh, nil, map[string]string{"yara/a.yar": "rule a { condition: false }\n"})
	assertMode(t, fresh, 0o750)
	assertMode(t, filepath.Join(fresh, "yara"), 0o750)
	assertMode(t, filepath.Join(fresh, "yara", "a.yar"), 0o640)

	kept := filepath.Join(parent, "kept")
	write(t, kept, "yara/a.yar", "rule a { condition: false }\n")
	for _, p := range []string{kept, filepath.Join(kept, "yara")} {
		os.Chmod(p, 0o755)
	}
	os.Chmod(filepath.Join(kept, "yara", "a.yar"), 0o644)
	commit(t, kept, nil, map[string]string{"yara/a.yar": "rule b { condition: false }\n", "yara/b.yar": "rule c { condition: false }\n"})
	assertMode(t, kept, 0o755)
	assertMode(t, filepath.Join(kept, "yara"), 0o755)
	assertMode(t, filepath.Join(kept, "yara", "a.yar"), 0o644)
	assertMode(t, filepath.Join(kept, "yara", "b.yar"), 0o640)
}

func assertMode(t *testing.T, p string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil || info.Mode().Perm() != want {
		t.Errorf("%s: mode %v (%v), want %v", p, info.Mode().Perm(), err, want)
	}
}

// Stages and temporaries of dead runs are removed by the next run; other hidden files stay.
func TestDeadStagesRemoved(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "rules")
	write(t, out, "yara/a.yar", "rule a { condition: false }\n")
	dead := []string{
		filepath.Join(parent, ".rules.rulegen-stage-123"),
		filepath.Join(parent, ".rules.rulegen-stage-123.old"),
		filepath.Join(parent, ".rulegen-stage-99"), // the naming of earlier versions
		filepath.Join(out, ".rules.rulegen-stage-7"),
	}
	for _, d := range dead {
		write(t, d, "yara/a.yar", "half")
	}
	write(t, out, "yara/.rulegen-tmp-42", "half")
	write(t, out, atomicdir.LockName, "pid 1 on a host that died\n")
	alive := []string{filepath.Join(parent, ".rules-old.rulegen-stage-5"), filepath.Join(parent, ".rules.rulegen-stage-x"), filepath.Join(out, ".git-keep")}
	for _, a := range alive {
		write(t, a, "x", "x")
	}
	commit(t, out, nil, map[string]string{"yara/a.yar": "rule a { condition: false }\n"})
	for _, d := range append(dead, filepath.Join(out, "yara/.rulegen-tmp-42"), filepath.Join(out, atomicdir.LockName)) {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s is still there", d)
		}
	}
	for _, a := range alive {
		if _, err := os.Stat(a); err != nil {
			t.Errorf("%s was removed: %v", a, err)
		}
	}
}

// A second run on a directory that a run holds fails at once, naming the holder, and changes
// nothing; once the first is done the directory is free again.
func TestConcurrentRunsLocked(t *testing.T) {
	out := filepath.Join(t.TempDir(), "rules")
	write(t, out, "yara/a.yar", "rule a { condition: false }\n")
	first, err := atomicdir.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	before := treeState(t, out)
	beside, _ := os.ReadDir(filepath.Dir(out))
	_, err = atomicdir.Open(out)
	var locked *atomicdir.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, atomicdir.ErrLocked) {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(err.Error(), "pid ") || !strings.Contains(err.Error(), out) {
		t.Errorf("message does not name the holder and the directory: %v", err)
	}
	assertTree(t, out, before, nil)
	if now, _ := os.ReadDir(filepath.Dir(out)); len(now) != len(beside) {
		t.Errorf("the refused run left something beside the output: %v", now)
	}
	first.Put(atomicdir.File{Path: "yara/b.yar", Body: []byte("rule b { condition: false }\n")})
	if _, err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	first.Close()
	commit(t, out, nil, map[string]string{"yara/c.yar": "rule c { condition: false }\n"})
	assertTree(t, out, nil, map[string]string{"yara/b.yar": "rule b { condition: false }\n", "yara/c.yar": "rule c { condition: false }\n"})
}

// A run that fails on a directory it created removes it again.
func TestUncommittedNewDirectoryRemoved(t *testing.T) {
	out := filepath.Join(t.TempDir(), "rules")
	d, err := atomicdir.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	d.Put(atomicdir.File{Path: "yara/a.yar", Body: []byte("x")})
	d.Close()
	if _, err := os.Stat(out); err == nil {
		t.Error("the directory made for a failed run stayed")
	}
}

// A mount point (a container or Kubernetes volume) cannot be renamed: each file is renamed
// into place on its own, the mount stays, and nothing is left behind. Needs root to mount.
func TestMountPointOutput(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; CI runs as root")
	}
	out := filepath.Join(t.TempDir(), "rules")
	os.Mkdir(out, 0o755)
	if msg, err := exec.Command("mount", "-t", "tmpfs", "-o", "mode=0751", "tmpfs", out).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, msg)
	}
	t.Cleanup(func() { exec.Command("umount", out).Run() })
	write(t, out, "yara/orphan.yar", "rule orphan { condition: false }\n")
	write(t, out, "sigma/gone/a.yml", "title: gone\n")
	write(t, out, "yara/same.yar", "rule same { condition: false }\n")
	write(t, out, "README.md", "kept\n")
	before := treeState(t, out)

	w := commit(t, out, []string{"yara/orphan.yar", "sigma/gone/a.yml"}, map[string]string{
		"yara/same.yar": "rule same { condition: false }\n",
		"yara/new.yar":  "rule new { condition: false }\n",
	})
	if w.Mode != atomicdir.PerFile || w.Files != 1 || w.Removed != 2 {
		t.Errorf("%+v", w)
	}
	assertTree(t, out, map[string]os.FileInfo{"yara/same.yar": before["yara/same.yar"], "README.md": before["README.md"]},
		map[string]string{"yara/new.yar": "rule new { condition: false }\n"})
	for _, gone := range []string{"yara/orphan.yar", "sigma/gone"} {
		if _, err := os.Stat(filepath.Join(out, gone)); err == nil {
			t.Errorf("%s stayed", gone)
		}
	}
	assertMode(t, out, 0o751)
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); !strings.Contains(string(mounts), " "+out+" ") {
		t.Error("the mount point is gone")
	}
	if left := leftovers(t, out); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// Files marked for removal go with the commit, in either mode; a run that only removes writes.
func TestRemove(t *testing.T) {
	out := filepath.Join(t.TempDir(), "events")
	write(t, out, "a.json", "{}\n")
	write(t, out, "b.json", "{}\n")
	d, err := atomicdir.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	d.Remove("a.json")
	d.Remove("missing.json")
	w, err := d.Commit()
	d.Close()
	if err != nil || w.Removed != 1 || w.Mode != atomicdir.Swapped {
		t.Fatalf("%+v %v", w, err)
	}
	if _, err := os.Stat(filepath.Join(out, "a.json")); err == nil {
		t.Error("a.json stayed")
	}
	assertTree(t, out, nil, map[string]string{"b.json": "{}\n"})
}
