package atomicdir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LockName is the lock file a run holds in the output directory while it writes there. It is
// removed when the run ends; one left by a killed run is taken over by the next.
const LockName = ".rulegen.lock"

// ErrLocked is returned, wrapped in a LockedError, when another run writes the same directory.
var ErrLocked = errors.New("locked by another rulegen run")

// LockedError names the directory and the run that holds it.
type LockedError struct {
	Dir    string
	Holder string // what the holder wrote into the lock file; "" if it had not yet
}

func (e *LockedError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "a run that has not yet said who it is"
	}
	return fmt.Sprintf("%s is being written by another rulegen run (%s): nothing was changed; run again when it ends", e.Dir, holder)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// lock is an advisory lock (flock) on DIR/.rulegen.lock. Held by an open file description, it
// dies with the process that holds it, so a killed run never leaves a lock that blocks.
type lock struct {
	file *os.File
	path string
}

// acquire takes the lock of dir at once or fails with a LockedError naming the holder.
func acquire(dir, display string) (*lock, error) {
	path := filepath.Join(dir, LockName)
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", display, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			holder, _ := io.ReadAll(io.LimitReader(f, 512))
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, &LockedError{Dir: display, Holder: strings.TrimSpace(string(holder))}
			}
			return nil, fmt.Errorf("lock %s: %w", display, err)
		}
		// The holder we waited on removes the file as it lets go: a lock on that removed file
		// protects nothing, so take the one at the path.
		if opened, err := f.Stat(); err == nil {
			if current, err := os.Stat(path); err == nil && os.SameFile(opened, current) {
				l := &lock{file: f, path: path}
				return l, l.sign()
			}
		}
		f.Close()
	}
	return nil, fmt.Errorf("lock %s: the lock file kept changing under this run", display)
}

// sign writes who holds the lock, for the message a second run prints.
func (l *lock) sign() error {
	host, _ := os.Hostname()
	who := fmt.Sprintf("pid %d on %s since %s", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := l.file.Truncate(0); err != nil {
		return err
	}
	_, err := l.file.WriteAt([]byte(who+"\n"), 0)
	return err
}

// release removes the lock file, then lets go of the lock: a run waiting on it sees that the
// file is gone and makes a new one.
func (l *lock) release() {
	if l == nil || l.file == nil {
		return
	}
	os.Remove(l.path)
	l.file.Close()
	l.file = nil
}
