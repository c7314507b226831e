package pipeline

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/gitdates"
	"github.com/rulegen/rulegen/generate/internal/safefs"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// reportExtensions are the file names a directory input contributes.
var reportExtensions = []string{".md", ".markdown", ".json", ".txt", ".lst", ".list"}

// docFiles are documentation kept beside reports (where they came from), not reports. Below
// the folder given, a README.md is read, as a vendor's campaign folder holds its indicators in
// one (PRODAFT's layout); one that states none is passed over.
var docFiles = []string{"README.md", "SOURCES.md", "README.txt", "SOURCES.txt", "LICENSE.txt", "NOTICE.txt"}

// projectFiles are files without an extension that document or build a repository: never
// reports.
var projectFiles = map[string]bool{"LICENSE": true, "LICENCE": true, "NOTICE": true, "COPYING": true, "AUTHORS": true,
	"CHANGELOG": true, "CONTRIBUTING": true, "MAKEFILE": true, "DOCKERFILE": true, "CODEOWNERS": true, "VERSION": true,
	"SOURCES": true}

// projectJSON are JSON files that configure a repository's tools (npm, Composer, TypeScript,
// editors): never reports, though they hold links to the project's own pages.
var projectJSON = map[string]bool{"package.json": true, "package-lock.json": true, "composer.json": true, "composer.lock": true,
	"tsconfig.json": true, "jsconfig.json": true, "bower.json": true, "lerna.json": true, "renovate.json": true,
	"deno.json": true, "angular.json": true, "app.json": true, "vercel.json": true, "firebase.json": true}

// isReadme says whether a file is a folder's README (README.md, README.txt, README).
func isReadme(name string) bool {
	switch name {
	case "README.md", "README.txt", "README", "readme.md", "Readme.md":
		return true
	}
	return false
}

// readmeOf is root's README, when it has one: read when the folder holds nothing else.
func readmeOf(root string) []string {
	for _, name := range []string{"README.md", "README.txt", "README", "readme.md", "Readme.md"} {
		p := filepath.Join(root, name)
		if info, err := os.Lstat(p); err == nil && info.Mode().IsRegular() {
			return []string{p}
		}
	}
	return nil
}

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

// Found are the input files of a run, and what the walk passed over with the reason: entries
// it never opened (links out of the tree, FIFOs, devices, rulegen's own output) and the entries
// of feed manifests that name no event file.
type Found struct {
	Files   []string
	Skipped []report.Skipped
	// Discovered are the files and publication folders found in directories, as opposed to
	// those named: see Options.Discovered.
	Discovered map[string]bool
	// Added are the days the files under each directory given were first committed, when it
	// lies in a git work tree (see parse.Options.Added).
	Added map[string]string
}

// ownDirs are the folders rulegen writes (the output directory, the cache): a walk of the
// inputs passes over them wherever they lie, and over any folder holding rulegen's run state
// (another rules directory), so that a rerun never reads its own rules back as a report.
type ownDirs []string

// FindInputs expands directories into the report files they hold, sorted; files are kept as
// given. A directory with a manifest.json is a MISP feed and contributes the events its
// manifest lists; hidden files and directories, README.md and SOURCES.md are passed over. A
// walk never leaves the directory given and reads regular files only (see safefs.Walk); own
// are rulegen's own folders, never read.
func FindInputs(args []string, own ...string) (*Found, error) {
	found := &Found{Discovered: map[string]bool{}, Added: map[string]string{}}
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
		files, err := walk(a, ownDirs(own), found)
		if err != nil {
			return nil, err
		}
		maps.Copy(found.Added, gitdates.Added(a))
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

// exclude says why dir is rulegen's own and not an input, or "".
func (own ownDirs) exclude(dir string) string {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return ""
	}
	for _, o := range own {
		if r, err := filepath.EvalSymlinks(o); err == nil && r == real {
			return "rulegen's own output or cache: never read as input"
		}
	}
	for _, marker := range []string{RunStateName, filepath.Dir(IndexDirName)} {
		if _, err := os.Lstat(filepath.Join(dir, marker)); err == nil {
			return "a rules directory rulegen wrote (it holds " + marker + "): never read as input"
		}
	}
	return ""
}

// RunStateName and IndexDirName mark a folder rulegen wrote: its run state (output's) and its
// report index (runreport's), defined here so that the walk, below them, knows them.
const (
	RunStateName = ".rulegen-generate.json"
	IndexDirName = ".rulegen/reports"
)

func walk(root string, own ownDirs, found *Found) ([]string, error) {
	publications, repositories, sigma, err := publicationDirs(root, own)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", root, err)
	}
	var out []string
	skips, err := safefs.Walk(root, safefs.Options{Exclude: own.exclude}, func(p string, d fs.DirEntry) error {
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
			if kind := unreadKind(d.Name()); kind != "" && !parse.IsPublicationFile(d.Name()) && !parse.IsOpenIOCFile(p) {
				found.Skipped = append(found.Skipped, notRead(p, kind))
			}
		case repositories[dir] && parse.FormatOfName(d.Name()) == parse.FormatDocument:
			found.Skipped = append(found.Skipped, report.Skipped{Value: d.Name(), Kind: "document", Reason: "the repository's own document, beside its publication folders", Source: report.Pos{File: p}})
		case parse.IsPublicationMarker(d.Name()), sigma[p]:
			out = append(out, p)
		case projectJSON[strings.ToLower(d.Name())]:
			found.Skipped = append(found.Skipped, report.Skipped{Value: d.Name(), Kind: "input", Reason: "a project's own file (npm, Composer, TypeScript), not a report", Source: report.Pos{File: p}})
		case slices.Contains(reportExtensions, strings.ToLower(filepath.Ext(p))) && !slices.Contains(docFiles, d.Name()),
			isReadme(d.Name()) && dir != filepath.Clean(root):
			out = append(out, p)
		case strings.EqualFold(filepath.Ext(d.Name()), ".xml"):
			// STIX 1.x packages are listed, as what they are; OpenIOC is read; other XML is no report.
			if head, err := safefs.Head(p, 4096); err == nil && (parse.IsSTIX1(head) || parse.IsOpenIOC(head)) {
				out = append(out, p)
			} else if err == nil {
				found.Skipped = append(found.Skipped, notRead(p, "XML that is neither OpenIOC nor STIX"))
			}
		case filepath.Ext(d.Name()) == "" && !projectFiles[strings.ToUpper(d.Name())] && !isReadme(d.Name()):
			// Some vendors name their lists without an extension: read what is text, or a
			// spreadsheet.
			if head, err := safefs.Head(p, 8<<10); err == nil && (parse.IsText(head) || parse.IsXLSX(head)) && len(head) > 0 {
				out = append(out, p)
			} else if err == nil && len(head) > 0 {
				found.Skipped = append(found.Skipped, report.Skipped{Value: d.Name(), Kind: "input", Reason: "not text (a binary file without an extension): not read", Source: report.Pos{File: p}})
			}
		default:
			if kind := unreadKind(d.Name()); kind != "" {
				found.Skipped = append(found.Skipped, notRead(p, kind))
			}
		}
		return nil
	})
	if len(out) == 0 {
		out = append(out, readmeOf(root)...) // a folder holding only its README: the README is the report
	}
	for _, s := range skips {
		found.Skipped = append(found.Skipped, report.Skipped{Value: filepath.Base(s.Path), Kind: "input", Reason: s.Reason, Source: report.Pos{File: s.Path}})
	}
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", root, err)
	}
	return out, nil
}

// unreadFormats name the files vendors publish beside their indicators that rulegen does not
// read, by extension: listed as passed over with what they are, so that no file of
// indicators is left without a word.
var unreadFormats = map[string]string{
	".rules": "Snort/Suricata rules", ".snort": "Snort rules", ".suricata": "Suricata rules",
	".pdf": "a PDF", ".doc": "a Word document", ".docx": "a Word document", ".xls": "a spreadsheet (.xls; save it as .xlsx or CSV)",
	".ods": "a spreadsheet", ".odt": "a document", ".rtf": "an RTF document",
	".xml": "XML", ".zip": "an archive", ".7z": "an archive", ".gz": "an archive", ".rar": "an archive", ".tar": "an archive",
	".evtx": "a Windows event log", ".pcap": "a packet capture", ".pcapng": "a packet capture", ".ndb": "ClamAV signatures",
	".hdb": "ClamAV signatures", ".ldb": "ClamAV signatures", ".kql": "KQL queries", ".spl": "Splunk searches", ".stix": "STIX",
}

// unreadKind is what a file rulegen does not read is, when it may hold indicators; "" for the
// others (images, code, hidden files), which are passed over without a word.
func unreadKind(name string) string {
	if strings.HasPrefix(name, ".") {
		return ""
	}
	return unreadFormats[strings.ToLower(filepath.Ext(name))]
}

// notRead lists a file a directory input holds and rulegen does not read.
func notRead(p, kind string) report.Skipped {
	return report.Skipped{Value: filepath.Base(p), Kind: "input", Reason: kind + ": a format rulegen does not read (convert its indicators to text, CSV or MISP)", Source: report.Pos{File: p}}
}

// publicationDirs finds the folders under root that are one publication each: they hold a file
// of a vendor's format (a CSV, an AsciiDoc document, a hash list, YARA rules), are one
// publication's (onePublication), and no folder below them holds such files. A folder that holds such
// files and folders that do is a repository of publications (ESET's layout: a README beside a
// folder per campaign). sigma are the YAML files that hold Sigma rules, read once to tell.
func publicationDirs(root string, own ownDirs) (publications, repositories, sigma map[string]bool, err error) {
	marked := map[string]bool{}
	sigma = map[string]bool{}
	_, err = safefs.Walk(root, safefs.Options{Exclude: own.exclude}, func(p string, d fs.DirEntry) error {
		if d.IsDir() {
			return nil
		}
		if parse.IsSigmaFile(p) {
			sigma[p] = true
		}
		if parse.IsPublicationMarker(d.Name()) || sigma[p] {
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
	return publications, repositories, sigma, err
}

// onePublication says whether a folder holding files of vendors' formats is one publication:
// it holds at most one CSV, one AsciiDoc document, one JSON export, one web page and one
// spreadsheet. A folder of many CSVs (SophosLabs' repository), of saved blog posts, or of many
// MISP events with a stray CSV is a folder of reports, each read alone: their values must not
// merge.
func onePublication(dir string) bool {
	for _, patterns := range [][]string{{"*.[cC][sS][vV]"}, {"*.[tT][sS][vV]"}, {"*.adoc"}, {"*.asciidoc"}, {"*.json", "*.jsonl", "*.ndjson"},
		{"*.[hH][tT][mM]", "*.[hH][tT][mM][lL]", "*.[xX][hH][tT][mM][lL]"}, {"*.[xX][lL][sS][xX]"}} {
		n := 0
		for _, pattern := range patterns {
			files, _ := filepath.Glob(filepath.Join(dir, pattern))
			n += len(files)
		}
		if n > 1 {
			return false
		}
	}
	return true
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
		if reason := linkOut(dir, event); reason != "" {
			skipped = append(skipped, report.Skipped{Value: id, Kind: "input", Reason: reason, Source: report.Pos{File: event}})
			continue
		}
		out = append(out, event)
	}
	return out, skipped, nil
}

// linkOut says why a feed's event file is not read: a link that leads out of the feed's folder.
func linkOut(dir, event string) string {
	if info, err := os.Lstat(event); err != nil || info.Mode()&os.ModeSymlink == 0 {
		return ""
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "a broken link"
	}
	_, reason := safefs.Resolve(real, event)
	return reason
}
