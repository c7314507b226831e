package runreport_test

import (
	"encoding/json"
	"testing"

	"github.com/rulegen/rulegen/generate/runreport"
)

// The index is written by hand to hold one copy of a bulk list's values; it must stay what
// json.MarshalIndent writes, which earlier runs wrote and DecodeIndex reads.
func TestIndexFileIsWhatMarshalIndentWrites(t *testing.T) {
	for _, ri := range []runreport.ReportIndex{
		{},
		{ID: "x", Files: []string{}, Values: []string{}},
		{ID: "3f1c", Source: `reports/a "b".json`, Title: "<Ta & Tb>\u2028 \xff", Files: []string{"yara/a.yar"},
			Values: []string{"domain evil.example", "url http://x/?a=1&b=<2>", "file C:\\Windows\\x.exe", "\t\x00"}},
	} {
		want, err := json.MarshalIndent(&ri, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got := ri.File("slug")
		if string(got.Body) != string(want)+"\n" {
			t.Errorf("index of %+v:\n%s\nwant\n%s", ri, got.Body, want)
		}
		if back, err := runreport.DecodeIndex(got.Path, got.Body); err != nil || len(back.Values) != len(ri.Values) {
			t.Errorf("the index does not read back: %v", err)
		}
	}
}
