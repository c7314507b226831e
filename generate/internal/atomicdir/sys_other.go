//go:build !linux

package atomicdir

import (
	"errors"
	"os"
	"syscall"
)

// exchange is not available here: Commit moves files one by one.
func exchange(a, b string) error { return errors.ErrUnsupported }

func exchangeRefused(err error) bool { return errors.Is(err, errors.ErrUnsupported) }

var errCrossDevice = syscall.EXDEV

func isMountPoint(dir string) bool { return false }

func currentUmask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

func matchOwner(path string, info os.FileInfo) {}
