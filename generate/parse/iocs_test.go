package parse_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// A plain IOC list, as pasted from a blog post, reads line by line: each indicator refanged
// and typed, headings, comments and blank lines passed over, prose kept as text (normalize
// skips it with its line); title and date come from the file name.
func TestIOCList(t *testing.T) {
	path := filepath.Join("testdata", "iocs", "2020-03-03-remcos-rat-iocs.txt")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var reports []*report.Report
	if err := parse.Each(path, data, parse.Options{}, func(r *report.Report) error { reports = append(reports, r); return nil }); err != nil {
		t.Fatal(err)
	}
	r := reports[0]
	if r.Title != "remcos rat iocs" || r.Date != "2020-03-03" || r.Format != "iocs" {
		t.Errorf("title %q date %q format %q", r.Title, r.Date, r.Format)
	}
	got := map[int]string{}
	for _, a := range r.Attributes {
		got[a.Pos.Line] = a.Type + " " + a.Value
		if a.ToIDS != (a.Type != "text") {
			t.Errorf("line %d: to_ids %v", a.Pos.Line, a.ToIDS)
		}
	}
	for _, o := range r.Objects {
		got[o.Pos.Line] = o.Name + " " + o.Attributes[0].Relation + " " + o.Attributes[0].Value
	}
	want := map[int]string{
		2:  "text Indicators from the Remcos RAT report (testdata/reports/remcos-rat-2020-03-03.md, a public MISP",
		3:  "text report), written as blog posts paste them: defanged, with prose around.",
		6:  "md5 94a6b123b494cf3990d872d047b0071d",
		7:  "md5 2481F731ACF1C77DF7AC4B231821DC71",
		10: "domain droptop1.com",
		11: "domain usadroptop7.com",
		12: "url https://droptop3.com/gate.php",
		13: "ip-dst 45.56.113.222",
		14: "ip-dst|port 47.252.74.84|2501",
		15: "ip-dst 2a03:2880:f10c:83:face:b00c:0:25de",
		18: `regkey HKCU\Software\Microsoft\Windows\CurrentVersion\RunOnce\Kronprinser`,
		19: `file fullpath %USERPROFILE%\Lrredsskoens4\TERRICOLE.exe`,
		21: "email-src reports@example-cert.org",
		22: "ip-dst 10.0.0.5",
		23: "filename TERRICOLE.exe",
	}
	for line, w := range want {
		if got[line] != w {
			t.Errorf("line %d: %q, want %q", line, got[line], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d values, want %d: %v", len(got), len(want), got)
	}
	// --title and --date name a list whose file name says neither; without a date it is an error.
	r, err = func() (*report.Report, error) {
		var out *report.Report
		err := parse.Each("iocs.txt", []byte("evil[.]example\n"), parse.Options{Title: "Pasted", Date: "2024-05-01"}, func(r *report.Report) error { out = r; return nil })
		return out, err
	}()
	if err != nil || r.Title != "Pasted" || r.Date != "2024-05-01" {
		t.Errorf("with --title and --date: %+v, %v", r, err)
	}
	err = parse.Each("pasted.txt", []byte("evil[.]example\n"), parse.Options{}, func(*report.Report) error { return nil })
	if !errors.Is(err, parse.ErrInput) || !strings.Contains(err.Error(), "pasted.txt") || !strings.Contains(err.Error(), "--date") {
		t.Errorf("no date: %v", err)
	}
}

func FuzzIOCs(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "iocs", "2020-03-03-remcos-rat-iocs.txt")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("hxxp://a[.]b/c\n1.2.3[.]4:80\n\ufeff# x\n- C:\\a b\\c.exe\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := parse.Each("2024-01-01-fuzz.txt", data, parse.Options{Format: parse.FormatIOCs}, func(r *report.Report) error {
			for _, a := range r.Attributes {
				if a.Pos.Line < 1 || a.Type == "" {
					t.Fatalf("attribute without a line or type: %+v", a)
				}
			}
			return nil
		})
		if err != nil && (!errors.Is(err, parse.ErrInput) || !strings.Contains(err.Error(), "fuzz.txt")) {
			t.Fatalf("error %v is not an input error naming the file", err)
		}
	})
}
