package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"text/template"

	"github.com/rulegen/rulegen/templates"
)

// Set is the parsed templates of one output format (a directory of the template FS).
type Set struct {
	format  string // "yara" or "sigma"
	tmpl    *template.Template
	entries []string // names of entry templates, sorted
}

// LoadTemplates parses the embedded templates, with files from override (may be nil) replacing
// embedded ones of the same name or adding new ones.
func LoadTemplates(override fs.FS, format string) (*Set, error) {
	files := map[string]fs.FS{}
	if err := collect(templates.FS, format, files); err != nil {
		return nil, err
	}
	if override != nil {
		if err := collect(override, format, files); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	s := &Set{format: format, tmpl: template.New(format).Funcs(FuncMap()).Option("missingkey=error")}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		src, err := fs.ReadFile(files[name], name)
		if err != nil {
			return nil, fmt.Errorf("read template %s: %w", name, err)
		}
		if _, err := s.tmpl.New(name).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("parse template: %w", err)
		}
		if !strings.HasPrefix(path.Base(name), "_") {
			s.entries = append(s.entries, name)
		}
	}
	if len(s.entries) == 0 {
		return nil, fmt.Errorf("no %s entry templates (files not starting with _)", format)
	}
	return s, nil
}

func collect(fsys fs.FS, dir string, into map[string]fs.FS) error {
	names, err := fs.Glob(fsys, dir+"/*.tmpl")
	if err != nil {
		return err
	}
	if _, err := fs.Stat(fsys, dir); err != nil {
		return err
	}
	for _, n := range names {
		into[n] = fsys
	}
	return nil
}

// execute runs one entry template and reports errors with the template's name and line, which
// text/template already includes in its messages.
func (s *Set) execute(name string, data any) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("template %s: panic: %v", name, p)
		}
	}()
	b := &chunks{keep: spillBytes}
	defer b.discard()
	if err := s.tmpl.ExecuteTemplate(b, name, data); err != nil {
		return nil, err
	}
	if out, ok := b.bytes(); ok {
		return out, nil
	}
	// Neither joined in memory nor spilled (no temporary file could be written): writing it
	// again into a buffer of its size holds it once, for the cost of a second rendering.
	size := b.size
	b.discard()
	again := bytes.NewBuffer(make([]byte, 0, size+1))
	if err := s.tmpl.ExecuteTemplate(again, name, data); err != nil {
		return nil, err
	}
	if again.Len() != size {
		return nil, fmt.Errorf("template %s: wrote %d bytes, then %d for the same data", name, size, again.Len())
	}
	return again.Bytes(), nil
}

// passedMeta runs the passedMeta template (in _meta.tmpl) for an analyst's rule of v's report
// first named original, whose meta has the keys has: the meta entries rulegen adds to it, one
// a line.
func (s *Set) passedMeta(v *yaraView, original string, has []string) ([]string, error) {
	if s.tmpl.Lookup("passedMeta") == nil {
		return nil, fmt.Errorf("no template passedMeta: a _meta.tmpl of --templates must define it (see the bundled one)")
	}
	keys := map[string]bool{}
	for _, k := range has {
		keys[k] = true
	}
	body, err := s.execute("passedMeta", map[string]any{"view": v, "original": original, "has": keys})
	if err != nil {
		return nil, err
	}
	var lines []string
	for line := range strings.Lines(string(body)) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return lines, nil
}
