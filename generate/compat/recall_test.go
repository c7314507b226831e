package compat_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/pysigma"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/report"
)

// TestRecallAgainstIOCFinder holds rulegen's readers to an IOC extractor's recall: every hash,
// domain, address and URL ioc-finder finds in a bundled publication's statements (its
// documents, lists and tables; not its rules, which pass through whole) is in one of the
// report's rules, in its skip list with a reason, or the link to the publication itself.
// rulegen keeps structure the extractor does not (a sample's name and size, an address's
// port); this test keeps it from losing what the extractor sees.
func TestRecallAgainstIOCFinder(t *testing.T) {
	root := golden.RepoRoot(t)
	inputs, err := pipeline.Inputs([]string{filepath.Join(root, "testdata", "vendor")})
	if err != nil {
		t.Fatal(err)
	}
	outcomes, _, err := pipeline.Collect(context.Background(), inputs, pipeline.Options{Render: render.Options{Author: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	bySource := map[string]*report.Normalized{}
	for _, o := range outcomes {
		bySource[o.Report.Source] = o.Report
		if _, taken := bySource[filepath.Dir(o.Report.Source)]; !taken {
			bySource[filepath.Dir(o.Report.Source)] = o.Report // a folder of one file reports as its file
		}
	}
	var files []string
	fileInput := map[string]string{}
	for _, in := range inputs {
		for _, f := range statementFiles(t, in) {
			files = append(files, f)
			fileInput[f] = in
		}
	}
	found, err := pysigma.FindIOCs(root, files...)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		r := bySource[fileInput[f]]
		if r == nil {
			t.Errorf("%s: no report", fileInput[f])
			continue
		}
		have := accounted(r)
		for kind, values := range found[f] {
			for _, v := range values {
				checked++
				if !have.holds(kind, strings.ToLower(v)) {
					t.Errorf("%s: ioc-finder finds %s %q; rulegen has it in no rule, skip list or reference", rel(root, f), kind, v)
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("ioc-finder found %d values in %d files: the comparison says little", checked, len(files))
	}
	t.Logf("%d values ioc-finder finds in %d files, each in a rule, a skip list or a reference", checked, len(files))
}

// statementFiles are the files of an input that state indicators: a publication folder's
// files, but its YARA and Sigma rules.
func statementFiles(t *testing.T, input string) []string {
	t.Helper()
	info, err := os.Stat(input)
	if err != nil {
		t.Fatal(err)
	}
	if !info.IsDir() {
		return []string{input}
	}
	entries, _ := os.ReadDir(input)
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && parse.IsPublicationFile(name) {
			switch parse.FormatOfName(name) {
			case parse.FormatYARA, parse.FormatSigma:
				continue
			}
			out = append(out, filepath.Join(input, name))
		}
	}
	return out
}

// values a report accounts for, lower case: in its rules, its skip list, its references.
type values struct {
	exact   map[string]bool
	skipped []string // skip-list values, which may be whole lines
	refs    []string
}

func accounted(r *report.Normalized) values {
	v := values{exact: map[string]bool{}}
	add := func(s string) { v.exact[strings.ToLower(s)] = true }
	for _, f := range r.Files {
		for _, h := range []string{f.MD5, f.SHA1, f.SHA256} {
			add(h)
		}
	}
	for _, list := range [][]report.Indicator{r.Domains, r.Hostnames, r.URLs} {
		for _, d := range list {
			add(d.Value)
		}
	}
	for _, e := range r.Endpoints {
		add(e.IP)
	}
	for _, s := range r.Skipped {
		v.skipped = append(v.skipped, strings.ToLower(defang.Refang(s.Value)))
	}
	for _, ref := range r.References {
		v.refs = append(v.refs, strings.ToLower(ref))
	}
	return v
}

// holds says whether the report accounts for a value ioc-finder found: as a rule's value, a
// domain or address of a rule's URL (with or without its scheme), a URL inside a rule's URL
// (blob:https://…), the host of a URL without a path (dns://host), inside a skipped value, or
// in a reference. The extractor's trailing punctuation (a CSV's comma) is not the value's.
func (v values) holds(kind, value string) bool {
	value = strings.TrimRight(value, ",;.")
	value = strings.TrimSuffix(value, "/")
	if v.exact[value] || v.exact[value+"/"] {
		return true
	}
	if scheme, host, ok := strings.Cut(value, "://"); kind == "urls" && ok && scheme != "" && !strings.Contains(host, "/") && v.exact[host] {
		return true
	}
	for u := range v.exact {
		switch {
		case kind == "urls" && strings.Contains(u, value):
			return true
		case kind != "urls" && (strings.Contains(u, "://"+value) || strings.HasPrefix(u, value+"/") || strings.HasPrefix(u, value+":")):
			return true // the host of a URL a rule holds
		}
	}
	return slices.ContainsFunc(v.skipped, func(s string) bool { return strings.Contains(s, value) }) ||
		slices.ContainsFunc(v.refs, func(s string) bool { return strings.Contains(s, value) })
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}
