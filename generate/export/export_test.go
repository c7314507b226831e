package export_test

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/export"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/runreport"
)

// rulesDir writes a rules directory holding only a report index of the given reports.
func rulesDir(t *testing.T, reports ...runreport.ReportIndex) string {
	t.Helper()
	dir := t.TempDir()
	for i, ri := range reports {
		f := ri.File(fmt.Sprintf("report_%d", i))
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f.Body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sha256Of(i int) string { return fmt.Sprintf("%064x", i+1) }

// rows reads every indicators-NNN.csv of dir: the rows of each file, header left out.
func rows(t *testing.T, dir string) [][][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "indicators-*.csv"))
	var out [][][]string
	for _, f := range files {
		data, _ := os.ReadFile(f)
		r, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r[1:])
	}
	return out
}

// A report of 1,234 samples goes to Defender in three files of at most 500 rows, in the order
// of the report, each sample once, with its expiry; a second export writes the same bytes.
func TestExportSplitsAtTheImportLimit(t *testing.T) {
	ri := runreport.ReportIndex{ID: "r1", Title: "Many samples", Date: "2026-11-01"}
	for i := range 1234 {
		ri.Indicators = append(ri.Indicators,
			report.Deployable{Type: report.DeploySHA256, Value: sha256Of(i), Name: "s.exe", Expires: "2027-02-01", Sample: i + 1},
			report.Deployable{Type: report.DeployMD5, Value: fmt.Sprintf("%032x", i+1), Name: "s.exe", Expires: "2027-02-01", Sample: i + 1})
	}
	rules, out := rulesDir(t, ri), filepath.Join(t.TempDir(), "mde")
	res, err := export.Export(export.Options{Target: "mde", Rules: rules, Out: out, AsOf: "2026-12-01"})
	if err != nil || res.Indicators != 1234 || res.Unsupported != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	files := rows(t, out)
	if len(files) != 3 || len(files[0]) != 500 || len(files[1]) != 500 || len(files[2]) != 234 {
		t.Fatalf("want files of 500, 500 and 234 rows, got %d files", len(files))
	}
	if r := files[2][233]; r[0] != "FileSha256" || r[1] != sha256Of(1233) || r[2] != "2027-02-01T00:00:00.0Z" {
		t.Errorf("last row %q", r)
	}
	first, _ := os.ReadFile(filepath.Join(out, "indicators-001.csv"))
	if _, err := export.Export(export.Options{Target: "mde", Rules: rules, Out: out, AsOf: "2026-12-01"}); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(out, "indicators-001.csv"))
	if string(first) != string(again) {
		t.Errorf("a second export of the same rules differs")
	}
}

// What an earlier export deployed and this one does not is to be deleted: the indicators of a
// report that is gone, and one that expired since; a stale batch file goes, a user's file
// beside them stays; and the next export deletes nothing more.
func TestExportListsWhatToDelete(t *testing.T) {
	kept := runreport.ReportIndex{ID: "a", Title: "Kept", Indicators: []report.Deployable{
		{Type: report.DeployDomain, Value: "kept.example.net"},
		{Type: report.DeployIP, Value: "198.51.100.7", Expires: "2026-12-10"}}}
	gone := runreport.ReportIndex{ID: "b", Title: "Pruned", Indicators: []report.Deployable{
		{Type: report.DeployURL, Value: "http://gone.example.org/x"}, {Type: report.DeploySHA1, Value: strings.Repeat("1", 40), Sample: 1}}}
	out := filepath.Join(t.TempDir(), "falcon")
	for _, run := range []struct {
		reports   []runreport.ReportIndex
		asOf      string
		deletions []string
	}{
		{[]runreport.ReportIndex{kept, gone}, "2026-12-01", nil},
		{[]runreport.ReportIndex{kept}, "2026-12-20", []string{`"type": "ipv4"`, `"value": "198.51.100.7"`}},
		{[]runreport.ReportIndex{kept}, "2026-12-21", nil},
	} {
		if err := os.WriteFile(filepath.Join(out, "deploy-notes.txt"), []byte("mine"), 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		res, err := export.Export(export.Options{Target: "crowdstrike", Rules: rulesDir(t, run.reports...), Out: out, AsOf: run.asOf})
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(out, "delete.json"))
		if len(run.deletions) == 0 {
			if err == nil || res.Deletions != 0 {
				t.Errorf("as of %s: deletions %s", run.asOf, data)
			}
			continue
		}
		for _, want := range run.deletions {
			if !strings.Contains(string(data), want) {
				t.Errorf("as of %s: delete.json lacks %s:\n%s", run.asOf, want, data)
			}
		}
		if strings.Contains(string(data), "gone.example.org") {
			t.Errorf("a URL, which Falcon never took, is to be deleted")
		}
	}
	if _, err := os.Stat(filepath.Join(out, "deploy-notes.txt")); err != nil {
		t.Errorf("a user's file was removed: %v", err)
	}
	if _, err := export.Export(export.Options{Target: "mde", Rules: rulesDir(t, kept), Out: out}); err == nil || !strings.Contains(err.Error(), "crowdstrike") {
		t.Errorf("an mde export into crowdstrike's directory: %v", err)
	}
}

// Bad settings and a damaged index are errors naming what is wrong.
func TestExportErrors(t *testing.T) {
	good := rulesDir(t, runreport.ReportIndex{ID: "a", Title: "A", Indicators: []report.Deployable{{Type: report.DeployDomain, Value: "a.example.net"}}})
	bad := rulesDir(t)
	os.MkdirAll(filepath.Join(bad, ".rulegen", "reports"), 0o755)
	os.WriteFile(filepath.Join(bad, ".rulegen", "reports", "x.json"), []byte("{not json"), 0o644)
	for _, c := range []struct {
		opts export.Options
		want string
	}{
		{export.Options{Target: "qradar", Rules: good}, `unknown target "qradar"`},
		{export.Options{Target: "mde", Rules: good, Action: "Nuke"}, `no action "Nuke"`},
		{export.Options{Target: "mde", Rules: good, AsOf: "yesterday"}, `"yesterday"`},
		{export.Options{Target: "mde", Rules: t.TempDir()}, "no report index"},
		{export.Options{Target: "mde", Rules: bad}, "x.json"},
	} {
		c.opts.Out = filepath.Join(t.TempDir(), "out")
		if _, err := export.Export(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.opts, err, c.want)
		}
	}
}

// Past Defender's 15,000 active indicators a tenant, the export still writes every indicator
// and says that the tenant will not keep them all.
func TestExportWarnsPastTheTenantLimit(t *testing.T) {
	ri := runreport.ReportIndex{ID: "r1", Title: "A bulk list", Date: "2026-11-01"}
	for i := range 15001 {
		ri.Indicators = append(ri.Indicators, report.Deployable{Type: report.DeploySHA256, Value: sha256Of(i), Sample: i + 1})
	}
	res, err := export.Export(export.Options{Target: "mde", Rules: rulesDir(t, ri), Out: filepath.Join(t.TempDir(), "mde"), AsOf: "2026-12-01"})
	if err != nil || res.Indicators != 15001 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "15000") {
		t.Fatalf("%+v, %v", res, err)
	}
	res, err = export.Export(export.Options{Target: "crowdstrike", Rules: rulesDir(t, ri), Out: filepath.Join(t.TempDir(), "cs"), AsOf: "2026-12-01"})
	if err != nil || len(res.Warnings) != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
}
