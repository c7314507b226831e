// Package config reads rulegen.yaml, the configuration a rules repository keeps so that CI runs
// `rulegen pull`, `rulegen generate` and `rulegen generate --check` without flags. Its keys
// are the commands' flag names; flags given on the command line override them.
//
//	generate:
//	  inputs: [reports]
//	  out: rules
//	  author: Our CERT
//	  max-tlp: amber
//	  expire: ip=30d,domain=180d
//	  prune: true
//	pull:
//	  - feed: https://feeds.example.org/misp/osint
//	    out: reports/osint
//	    since: 2026-01-01
//	  - misp: https://misp.example.org
//	    out: reports/misp
//	    tags: [tlp:clear, "!false-positive"]
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultPath is the file read when no --config is given, if it exists.
const DefaultPath = "rulegen.yaml"

// Config is a parsed rulegen.yaml.
type Config struct {
	Path     string
	Generate Section   // generate's flags, and inputs
	Pull     []Section // one per source
}

// Section maps flag names to their values, each as the text a flag would be given (lists as
// several values).
type Section map[string][]string

// Load reads the configuration at path. With required false a missing file is no
// configuration (nil, nil).
func Load(path string, required bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var raw struct {
		Generate map[string]any   `yaml:"generate"`
		Pull     []map[string]any `yaml:"pull"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) { // EOF: an empty file
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	c := &Config{Path: path}
	if c.Generate, err = section(raw.Generate, path, "generate"); err != nil {
		return nil, err
	}
	for i, p := range raw.Pull {
		s, err := section(p, path, fmt.Sprintf("pull[%d]", i))
		if err != nil {
			return nil, err
		}
		c.Pull = append(c.Pull, s)
	}
	return c, nil
}

func section(m map[string]any, path, where string) (Section, error) {
	s := Section{}
	for k, v := range m {
		values, err := texts(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s.%s: %v", path, where, k, err)
		}
		s[k] = values
	}
	return s, nil
}

// texts writes a YAML value as flag values: a scalar as one, a list of scalars as several.
func texts(v any) ([]string, error) {
	switch t := v.(type) {
	case []any:
		var out []string
		for _, x := range t {
			s, err := scalar(x)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	default:
		s, err := scalar(v)
		return []string{s}, err
	}
}

func scalar(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case int:
		return strconv.Itoa(t), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case time.Time:
		if t.Equal(t.Truncate(24 * time.Hour)) {
			return t.Format(time.DateOnly), nil
		}
		return t.Format(time.RFC3339), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("want a string, number, boolean or a list of them, got %T", v)
}

// Keys lists a section's keys in order.
func (s Section) Keys() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
