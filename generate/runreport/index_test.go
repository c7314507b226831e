package runreport_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/report"
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

// What export reads of the index (date, TLP, techniques, indicators) reads back as written.
func TestIndexReadsBackWhatExportNeeds(t *testing.T) {
	ri := runreport.ReportIndex{ID: "x", Title: "T", Files: []string{"yara/t.yar"}, Values: []string{"domain evil.example"},
		Date: "2024-03-01", TLP: "amber", Techniques: []string{"T1071.001", "T1105"},
		Indicators: []report.Deployable{{Type: report.DeploySHA256, Value: strings.Repeat("ab", 32), Name: "a <b>.exe", Expires: "2025-01-01"},
			{Type: report.DeployDomain, Value: "evil.example"}}}
	f := ri.File("t")
	back, err := runreport.DecodeIndex(f.Path, f.Body)
	if err != nil || !reflect.DeepEqual(*back, ri) {
		t.Fatalf("read back %+v, %v\n%s", back, err, f.Body)
	}
	var generic map[string]any
	if err := json.Unmarshal(f.Body, &generic); err != nil {
		t.Fatal(err)
	}
}
