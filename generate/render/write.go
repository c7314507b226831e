package render

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Write writes files under dir. Each file is written to a temporary file beside its target and
// renamed into place, so a reader never sees half a rule file. Files whose content is
// unchanged are left alone, which keeps their timestamps and makes reruns a no-op.
func Write(dir string, files []File) (written int, err error) {
	for _, f := range files {
		target := filepath.Join(dir, filepath.FromSlash(f.Path))
		if old, err := os.ReadFile(target); err == nil && bytes.Equal(old, f.Body) {
			continue
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return written, fmt.Errorf("write rules: %w", err)
		}
		if err := writeAtomic(target, f.Body); err != nil {
			return written, err
		}
		written++
	}
	return written, nil
}

func writeAtomic(target string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("write rules: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp*")
	if err != nil {
		return fmt.Errorf("write rules: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	return nil
}
