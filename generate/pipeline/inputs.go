package pipeline

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// reportExtensions are the file names a directory input contributes.
var reportExtensions = []string{".md", ".markdown", ".json"}

// docFiles are documentation kept beside reports (where they came from), not reports.
var docFiles = []string{"README.md", "SOURCES.md"}

// feedManifest marks a directory as a MISP feed: manifest.json indexes <uuid>.json event files.
const feedManifest = "manifest.json"

// Inputs expands directories into the report files they hold, sorted; files are kept as given.
// A directory with a manifest.json is a MISP feed and contributes the events its manifest
// lists; hidden files and directories, README.md and SOURCES.md are passed over.
func Inputs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		info, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if !info.IsDir() {
			out = append(out, a)
			continue
		}
		files, err := walk(a)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no report files in %s", strings.Join(args, ", "))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func walk(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if _, err := os.Stat(filepath.Join(p, feedManifest)); err == nil {
				events, err := FeedEvents(p)
				out = append(out, events...)
				if err != nil {
					return err
				}
				return filepath.SkipDir
			}
			return nil
		}
		if slices.Contains(reportExtensions, strings.ToLower(filepath.Ext(p))) && !slices.Contains(docFiles, d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", root, err)
	}
	return out, nil
}

// FeedEvents lists the event files of a MISP feed directory in the order of their uuids, as
// its manifest.json names them. A listed event without its file is an error: the feed is
// incomplete.
func FeedEvents(dir string) ([]string, error) {
	path := filepath.Join(dir, feedManifest)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("MISP feed: %w", err)
	}
	var manifest map[string]json.RawMessage
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("%s: not a MISP feed manifest (want an object keyed by event uuid): %v", path, err)
	}
	var out []string
	for id := range manifest {
		if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
			return nil, fmt.Errorf("%s: event key %q is not a uuid", path, id)
		}
		event := filepath.Join(dir, id+".json")
		if _, err := os.Stat(event); err != nil {
			return nil, fmt.Errorf("%s lists event %s, but %s is missing: %w", path, id, filepath.Base(event), err)
		}
		out = append(out, event)
	}
	slices.Sort(out)
	return out, nil
}
