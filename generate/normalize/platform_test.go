package normalize_test

import (
	"path/filepath"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// A report is about Linux or macOS when what it holds says so and nothing says Windows: the
// bundled Ebury event (33 ELF objects, Linux/Ebury detection names) is Linux; MoustachedBouncer
// (PE objects, Win32 names) and the markdown seed (registry keys, Windows paths) stay Windows,
// as does a report that says nothing; OSX/ names make macOS, and one Windows sign a mix Windows.
func TestPlatform(t *testing.T) {
	root := golden.RepoRoot(t)
	for file, want := range map[string]string{
		"misp/eset_windigo_ebury.misp.json":                             normalize.PlatformLinux,
		"misp/eset_moustachedbouncer_misp-moustachedbouncer.event.json": normalize.PlatformWindows,
		"remcos-rat-2020-03-03.md":                                      normalize.PlatformWindows,
		"misp/pymisp_ursnif_domains_url.json":                           normalize.PlatformWindows,
	} {
		parsed, err := parse.File(filepath.Join(root, "testdata", "reports", file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := normalize.Report(parsed, normalize.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Platform; got != want {
			t.Errorf("%s: %s, want %s", file, got, want)
		}
	}
	for _, tc := range []struct {
		values []string
		want   string
	}{
		{[]string{"OSX/Keydnap.A", "osx/keydnap.b"}, normalize.PlatformMacOS},
		{[]string{"Linux/Ebury.A"}, normalize.PlatformLinux},
		{[]string{"Linux/Ebury.A", "Win32/Agent.XYZ"}, normalize.PlatformWindows},
		{[]string{"not a detection name"}, normalize.PlatformWindows},
	} {
		parsed := &report.Report{Source: "t.json", Format: "misp", ID: "1410750b-ab52-54af-89f7-8dde0f320384", Title: "T", Date: "2024-01-01"}
		for _, v := range tc.values {
			parsed.Attributes = append(parsed.Attributes, report.Attribute{Type: "text", Value: v})
		}
		r, err := normalize.Report(parsed, normalize.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Platform != tc.want {
			t.Errorf("%v: %s, want %s", tc.values, r.Platform, tc.want)
		}
	}
}
