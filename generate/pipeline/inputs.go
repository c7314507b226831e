package pipeline

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// reportExtensions are the file names a directory input contributes.
var reportExtensions = []string{".md", ".markdown", ".json", ".txt"}

// docFiles are documentation kept beside reports (where they came from), not reports. Below
// the folder given, a README.md is read, as a vendor's campaign folder holds its indicators in
// one (PRODAFT's layout); one that states none is passed over.
var docFiles = []string{"README.md", "SOURCES.md", "README.txt", "SOURCES.txt", "LICENSE.txt", "NOTICE.txt"}

// feedManifest marks a directory as a MISP feed: manifest.json indexes <uuid>.json event files.
const feedManifest = "manifest.json"

// Inputs expands directories into the report files they hold (see FindInputs), without the
// list of what was passed over.
func Inputs(args []string) ([]string, error) {
	found, err := FindInputs(args)
	if err != nil {
		return nil, err
	}
	return found.Files, nil
}

// Found are the input files of a run, and the entries of feed manifests that name no event
// file (keys that are not uuids), with the reason.
type Found struct {
	Files   []string
	Skipped []report.Skipped
	// Discovered are the files and publication folders found in directories, as opposed to
	// those named: see Options.Discovered.
	Discovered map[string]bool
}

// FindInputs expands directories into the report files they hold, sorted; files are kept as
// given. A directory with a manifest.json is a MISP feed and contributes the events its
// manifest lists; hidden files and directories, README.md and SOURCES.md are passed over.
func FindInputs(args []string) (*Found, error) {
	found := &Found{Discovered: map[string]bool{}}
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
		files, err := walk(a, found)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			found.Discovered[f] = true
		}
		out = append(out, files...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no report files in %s", strings.Join(args, ", "))
	}
	slices.Sort(out)
	found.Files = slices.Compact(out)
	return found, nil
}

func walk(root string, found *Found) ([]string, error) {
	publications, repositories, err := publicationDirs(root)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", root, err)
	}
	var out []string
	err = walkVisible(root, func(p string, d fs.DirEntry) error {
		if d.IsDir() {
			if _, err := os.Stat(filepath.Join(p, feedManifest)); err == nil {
				events, skipped, err := FeedEvents(p)
				out = append(out, events...)
				found.Skipped = append(found.Skipped, skipped...)
				if err != nil {
					return err
				}
				return filepath.SkipDir
			}
			if publications[p] {
				out = append(out, p) // read as one report; folders below it are read as usual
			}
			return nil
		}
		dir := filepath.Dir(p)
		switch {
		case publications[dir]:
		case repositories[dir] && parse.FormatOfName(d.Name()) == parse.FormatDocument:
			found.Skipped = append(found.Skipped, report.Skipped{Value: d.Name(), Kind: "document", Reason: "the repository's own document, beside its publication folders", Source: report.Pos{File: p}})
		case parse.IsPublicationMarker(d.Name()):
			out = append(out, p)
		case slices.Contains(reportExtensions, strings.ToLower(filepath.Ext(p))) && !slices.Contains(docFiles, d.Name()),
			d.Name() == "README.md" && dir != filepath.Clean(root):
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", root, err)
	}
	return out, nil
}

// publicationDirs finds the folders under root that are one publication each: they hold a file
// of a vendor's format (a CSV, an AsciiDoc document, a hash list, YARA rules), are one
// publication's (onePublication), and no folder below them holds such files. A folder that holds such
// files and folders that do is a repository of publications (ESET's layout: a README beside a
// folder per campaign).
func publicationDirs(root string) (publications, repositories map[string]bool, err error) {
	marked := map[string]bool{}
	err = walkVisible(root, func(p string, d fs.DirEntry) error {
		if d.Type().IsRegular() && parse.IsPublicationMarker(d.Name()) {
			marked[filepath.Dir(p)] = true
		}
		return nil
	})
	publications, repositories = map[string]bool{}, map[string]bool{}
	for dir := range marked {
		if onePublication(dir) {
			publications[dir] = true
		}
	}
	root = filepath.Clean(root)
	for dir := range marked {
		for above := dir; above != root && above != filepath.Dir(above); {
			above = filepath.Dir(above)
			if marked[above] {
				delete(publications, above)
				repositories[above] = true
			}
		}
	}
	return publications, repositories, err
}

// onePublication says whether a folder holding files of vendors' formats is one publication:
// it holds at most one CSV, one AsciiDoc document and one JSON export. A folder of many CSVs
// (SophosLabs' repository) or of many MISP events with a stray CSV is a folder of reports,
// each read alone: their values must not merge.
func onePublication(dir string) bool {
	for _, pattern := range []string{"*.[cC][sS][vV]", "*.[tT][sS][vV]", "*.adoc", "*.asciidoc", "*.json"} {
		if files, _ := filepath.Glob(filepath.Join(dir, pattern)); len(files) > 1 {
			return false
		}
	}
	return true
}

// walkVisible walks root like filepath.WalkDir, passing over hidden files and folders (.git).
func walkVisible(root string, fn func(path string, d fs.DirEntry) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case p != root && strings.HasPrefix(d.Name(), ".") && d.IsDir():
			return filepath.SkipDir
		case p != root && strings.HasPrefix(d.Name(), "."):
			return nil
		}
		return fn(p, d)
	})
}

// FeedEvents lists the event files of a MISP feed directory in the order of their uuids, as
// its manifest.json names them. A key that is not a uuid is skipped with the reason (it never
// becomes a path); a manifest without any uuid key is not a MISP feed's; a listed event
// without its file is an error: the feed is incomplete.
func FeedEvents(dir string) ([]string, []report.Skipped, error) {
	path := filepath.Join(dir, feedManifest)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("MISP feed: %w", err)
	}
	_, keys, err := parse.ReadManifest(path, data)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	var skipped []report.Skipped
	for _, id := range keys {
		if !report.IsUUID(id) {
			skipped = append(skipped, report.Skipped{Value: id, Kind: "manifest key", Reason: "not an event uuid", Source: report.Pos{File: path}})
			continue
		}
		event := filepath.Join(dir, id+".json")
		if _, err := os.Stat(event); err != nil {
			return nil, nil, fmt.Errorf("%s lists event %s, but %s is missing: %w", path, id, filepath.Base(event), err)
		}
		out = append(out, event)
	}
	return out, skipped, nil
}
