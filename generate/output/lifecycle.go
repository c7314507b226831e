package output

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/runreport"
)

// A rules repository lives for years: rules that nothing produces any more are retired rather
// than dropped (render dates the rules that are), for Generate and Check alike, so that --check
// reproduces what generate --prune writes.

// DefaultRetention is how long a retired Sigma rule stays in runreport.DeprecatedDir.
const DefaultRetention = 180

// retire plans the retirements of a run over out: it puts the deprecated rules, marks what stays
// as produced, and returns what it did and the orphans left (retired rules among them: they
// move). day dates a retirement and judges retention.
func retire(out string, produced, liveIDs map[string]bool, day string, retentionDays int, put func(File) error) (*runreport.Retirement, []string, error) {
	r := &runreport.Retirement{}
	if day == "" { // nothing to date a retirement with: the orphans stay orphans
		orphans, err := Orphans(out, produced)
		return r, orphans, err
	}
	today, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, nil, err
	}
	deprecated, err := listFiles(out, runreport.DeprecatedDir)
	if err != nil {
		return nil, nil, err
	}
	for _, rel := range deprecated {
		live := "sigma/" + strings.TrimPrefix(rel, runreport.DeprecatedDir+"/")
		body, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil {
			return nil, nil, err
		}
		if produced[live] || liveIDs[sigmaID(rel, body)] { // back, under its name or another
			r.Revived = append(r.Revived, rel)
			continue
		}
		since, err := time.Parse(time.DateOnly, render.SigmaModified(body))
		if err == nil && today.Sub(since) > time.Duration(retentionDays)*24*time.Hour {
			r.Expired = append(r.Expired, rel)
			continue
		}
		produced[rel] = true // kept as it is
	}
	orphans, err := Orphans(out, produced)
	if err != nil {
		return nil, nil, err
	}
	for _, rel := range orphans {
		if !strings.HasPrefix(rel, "sigma/") || strings.HasPrefix(rel, runreport.DeprecatedDir+"/") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil {
			return nil, nil, err
		}
		if liveIDs[sigmaID(rel, body)] { // renamed, not retired: its id lives on in another file
			continue
		}
		to := path.Join(runreport.DeprecatedDir, strings.TrimPrefix(rel, "sigma/"))
		if err := put(File{Path: to, Body: render.Deprecate(body, today)}); err != nil {
			return nil, nil, err
		}
		produced[to] = true
		r.Retired = append(r.Retired, runreport.Retired{From: rel, To: to})
	}
	// A retired rule may land where a deprecated one outlived its retention: it stays.
	return r, slices.DeleteFunc(orphans, func(rel string) bool { return produced[rel] }), nil
}

// sigmaID is a generated Sigma rule's id ("" for another file).
func sigmaID(rel string, body []byte) string {
	if !strings.HasPrefix(rel, "sigma/") || !strings.HasSuffix(rel, ".yml") {
		return ""
	}
	for line := range bytes.Lines(body) {
		if id, ok := bytes.CutPrefix(line, []byte("id: ")); ok {
			// A copy: the run keeps every rule's id, and a slice of the body would keep the body.
			return string(bytes.Trim(bytes.TrimSpace(id), `'"`))
		}
	}
	return ""
}

// renamedFrom is the file in place that a Sigma rule new at its path was before: the rule of
// the same id in its report's directory (rulegen once named rule files without the slug), or
// nil.
func renamedFrom(out string, f File) []byte {
	id := sigmaID(f.Path, f.Body)
	if id == "" {
		return nil
	}
	dir := path.Dir(f.Path)
	entries, err := os.ReadDir(filepath.Join(out, filepath.FromSlash(dir)))
	if err != nil {
		return nil
	}
	for _, e := range entries {
		rel := path.Join(dir, e.Name())
		if e.IsDir() || rel == f.Path {
			continue
		}
		if body, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel))); err == nil && sigmaID(rel, body) == id {
			return body
		}
	}
	return nil
}
