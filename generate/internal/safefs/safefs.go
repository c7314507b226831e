// Package safefs reads input trees as untrusted: a walk never leaves the tree it was given
// (a symbolic link that resolves outside it is passed over, never opened), only regular files
// are read (a FIFO would block a run for ever, a device such as /dev/zero would fill memory),
// and a read never takes more than its limit, whatever the file's size says (/proc files
// say 0).
package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Skip is an entry a walk passed over without opening it, and why.
type Skip struct {
	Path, Reason string
}

// Options shape a walk.
type Options struct {
	// Hidden visits hidden files and folders (.git); by default they are passed over unnoted.
	Hidden bool
	// Exclude says why a folder below the root is not walked (rulegen's own output, say), or ""
	// to walk it.
	Exclude func(dir string) string
}

// Walk walks root like filepath.WalkDir and calls fn with each folder and each regular file
// in it. A symbolic link is followed when it resolves to a regular file inside root (fn gets
// the link's path and the file's entry); a link out of root, a broken link, a link to a
// folder (which could loop) and every entry that is not a regular file or a folder are passed
// over and returned with the reason. fn may return filepath.SkipDir for a folder.
func Walk(root string, opts Options, fn func(path string, d fs.DirEntry) error) ([]Skip, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	var skips []Skip
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && !opts.Hidden && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != root && opts.Exclude != nil {
				if reason := opts.Exclude(p); reason != "" {
					skips = append(skips, Skip{Path: p, Reason: reason})
					return filepath.SkipDir
				}
			}
			return fn(p, d)
		}
		entry, reason := Regular(realRoot, p, d)
		if reason != "" {
			skips = append(skips, Skip{Path: p, Reason: reason})
			return nil
		}
		return fn(p, entry)
	})
	return skips, err
}

// Regular is the entry of the regular file p (or the file its link resolves to inside root,
// the real path of the tree), or why p is not read.
func Regular(root, p string, d fs.DirEntry) (fs.DirEntry, string) {
	if d.Type().IsRegular() {
		return d, ""
	}
	if d.Type()&fs.ModeSymlink == 0 {
		return nil, Kind(d.Type()) + ": only regular files are read"
	}
	target, reason := Resolve(root, p)
	if reason != "" {
		return nil, reason
	}
	info, err := os.Stat(target)
	switch {
	case err != nil:
		return nil, "a broken link"
	case info.IsDir():
		return nil, "a link to a folder: not followed"
	case !info.Mode().IsRegular():
		return nil, "a link to " + Kind(info.Mode()) + ": only regular files are read"
	}
	return fs.FileInfoToDirEntry(renamed{info, d.Name()}), ""
}

// Resolve is where the link p resolves, or why it is not followed: it leads out of root (the
// real path of the tree given) or nowhere.
func Resolve(root, p string) (string, string) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", "a broken link"
	}
	if !Inside(root, target) {
		return "", "a link to outside the input tree: not opened"
	}
	return target, ""
}

// Inside says whether path lies in the folder root (both resolved).
func Inside(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Kind names a file type as a person would.
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a folder"
	}
	return "not a regular file"
}

// renamed is a file's information under the name of the link that leads to it.
type renamed struct {
	fs.FileInfo
	name string
}

func (r renamed) Name() string { return r.name }

// ErrTooLarge marks a file over the limit ReadFile was given.
var ErrTooLarge = errors.New("larger than the limit")

// NotRegularError is a file ReadFile refused to read: a FIFO, a device, a socket.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: %s: only regular files are read", e.Path, Kind(e.Mode))
}

// ReadFile reads the regular file path, at most limit bytes: a larger file fails with
// ErrTooLarge having read limit+1 bytes at most, whatever its size says. The file is opened
// without blocking, so that a FIFO is refused rather than waited on.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, info, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes: %w of %d bytes", path, info.Size(), ErrTooLarge, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes: %w of %d bytes", path, limit, ErrTooLarge, limit)
	}
	return data, nil
}

// Quote quotes at most max bytes of a value (cut at a character boundary, "…" marking the
// cut), for errors and skip lists: a file's value may be a secret it should never have held.
func Quote(s string, max int) string {
	return fmt.Sprintf("%q", Prefix(s, max))
}

// Prefix is at most max bytes of s, cut at a character boundary, "…" marking a cut.
func Prefix(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Head reads at most n bytes from the start of the regular file path: enough to tell what it
// holds without reading all of it.
func Head(path string, n int64) ([]byte, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// openRegular opens path without blocking (a FIFO is refused, not waited on) and keeps it open
// only when it is a regular file.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = &NotRegularError{Path: path, Mode: info.Mode()}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}
