package normalize_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// normalizeOne runs one attribute through a minimal report and returns the result.
func normalizeOne(t *testing.T, typ, value string) *report.Normalized {
	t.Helper()
	parsed := &report.Report{Source: "t.md", Title: "T", Date: "2024-01-01",
		Attributes: []report.Attribute{{Type: typ, Value: value, ToIDS: true, Pos: report.Pos{File: "t.md", Line: 7}}}}
	r, err := normalize.Report(parsed, normalize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAttributes(t *testing.T) {
	tests := []struct {
		typ, value string
		skip       string // expected skip reason (substring); "" = kept
		check      func(*report.Normalized) bool
	}{
		{"md5", "<md5>", "placeholder", nil},
		{"sha256", "N/A", "placeholder", nil},
		{"md5", "94A6B123B494CF3990D872D047B0071D", "", func(r *report.Normalized) bool { return r.Files[0].MD5 == "94a6b123b494cf3990d872d047b0071d" }},
		{"md5", "94a6b123b494cf3990d872d047b0071", "want 32 hex digits", nil},
		{"sha1", "g4a6b123b494cf3990d872d047b0071d00000000", "want 40 hex digits", nil},
		{"sha256", strings.Repeat("0", 64), "all zeros", nil},
		{"filename|sha1", "a.exe|a2f9650a286b69aa79361ff38606adb154f75a9f", "", func(r *report.Normalized) bool { return r.Files[0].Name == "a.exe" && r.Files[0].Role == "sample" }},
		{"malware-sample", "324.doc|94a6b123b494cf3990d872d047b0071d", "", func(r *report.Normalized) bool { return r.Files[0].Name == "324.doc" }},
		{"domain", "Evil-Example[.]COM.", "", func(r *report.Normalized) bool { return r.Domains[0].Value == "evil-example.com" }},
		{"domain", "localhost", "two labels", nil},
		{"domain", "bad_label.com", "bad label", nil},
		{"domain", "loader.go", ".go is no top-level domain", nil},
		{"domain", "co.uk", "a public suffix itself", nil},
		{"hostname", "relay.corp.internal", ".internal is no top-level domain", nil},
		{"domain", "k5j.one", "", func(r *report.Normalized) bool { return r.Domains[0].Value == "k5j.one" }},
		{"hostname", "x.azdatastore.workers.dev", "", func(r *report.Normalized) bool { return r.Hostnames[0].Value == "x.azdatastore.workers.dev" }},
		{"hostname", "c2.evil-example.com", "", func(r *report.Normalized) bool { return r.Hostnames[0].Value == "c2.evil-example.com" }},
		{"ip-dst", "10.1.2.3", "private", nil},
		{"ip-dst", "127.0.0.1", "reserved", nil},
		{"ip-dst", "203.0.113.9", "reserved", nil},
		{"ip-dst", "not-an-ip", "not an IP", nil},
		{"ip-dst|port", "45.56.113.222|2500", "", func(r *report.Normalized) bool {
			return r.Endpoints[0] == report.Endpoint{IP: "45.56.113.222", Port: 2500, Pos: r.Endpoints[0].Pos}
		}},
		{"ip-dst|port", "45.56.113.222|0", "want 1-65535", nil},
		{"domain|ip", "evil-example.com|45.56.113.222", "", func(r *report.Normalized) bool { return len(r.Domains) == 1 && len(r.Endpoints) == 1 }},
		{"url", "hxxps://evil-example[.]com/gate.php", "", func(r *report.Normalized) bool { return r.URLs[0].Value == "https://evil-example.com/gate.php" }},
		{"url", "not a url", "not a URL", nil},
		{"regkey|value", `HKU\S-1-5-21-1-2-3-1000\Software\Microsoft\Windows\CurrentVersion\Run\Updater|C:\Windows\x.exe`, "", func(r *report.Normalized) bool {
			v := r.Registry[0]
			return v.KeyTail == `\Software\Microsoft\Windows\CurrentVersion\Run` && !v.Specific && v.DataTail == `\Windows\x.exe`
		}},
		{"regkey|value", `HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Update|x`, "too generic", nil},
		{"regkey", `NOSUCHHIVE\Software\x`, "known hive", nil},
		{"mutex", "abc", "shorter than 6", nil},
		{"mutex", "Remcos_Mutex_Inj", "", func(r *report.Normalized) bool { return r.Mutexes[0].Value == "Remcos_Mutex_Inj" }},
		{"imphash", "95B9201A814833A97185A4D67FDC3904", "", func(r *report.Normalized) bool { return r.Imphashes[0].Value == "95b9201a814833a97185a4d67fdc3904" }},
		{"filename|imphash", "a.exe|95b9201a814833a97185a4d67fdc3904", "", func(r *report.Normalized) bool { return len(r.Imphashes) == 1 }},
		{"imphash", "95b9201a814833a97185a4d67fdc39", "want 32 hex digits", nil},
		{"imphash", "f34d5f2d4577ed6d9ceec516c1f5a744", "every .NET program", nil},
		{"imphash", "dae02f32a21e03ce65412f6e56942daa", "every .NET library", nil},
		{"authentihash", "85aec9a10f2b988b3426bd704dfc26ae8ab549c876f27d1e1c4bbce0f9de3ce6", "PE hash not rendered", nil},
		{"filename", `C:\x\a.exe`, "path separator", nil},
		{"vulnerability", "CVE-2020-0001", "unsupported attribute type", nil},
		{"text", "free words", "free text", nil},
		{"link", "https://example.org/report", "", func(r *report.Normalized) bool { return r.References[0] == "https://example.org/report" }},
	}
	for _, tc := range tests {
		t.Run(tc.typ+"/"+tc.value, func(t *testing.T) {
			r := normalizeOne(t, tc.typ, tc.value)
			if tc.skip != "" {
				if len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0].Reason, tc.skip) || r.Skipped[0].Source.Line != 7 {
					t.Fatalf("want one skip with %q at line 7, got %+v", tc.skip, r.Skipped)
				}
				return
			}
			if len(r.Skipped) != 0 || !tc.check(r) {
				t.Fatalf("not kept as expected: %+v", r)
			}
		})
	}
}

func TestTechniquesMapToCurrentIDs(t *testing.T) {
	for old, want := range map[string]string{"T1060": "T1547.001", "T1193": "T1566.001", "T1064": "T1059", "T1054": "T1685", "T1036": "T1036", "t1562.001": "T1685"} {
		got, err := normalize.Technique(old)
		if err != nil || got.ID != want {
			t.Errorf("%s: got %+v, %v; want %s", old, got, err, want)
		}
	}
	if _, err := normalize.Technique("T1053.004"); err == nil || !strings.Contains(err.Error(), "without a replacement") {
		t.Errorf("T1053.004: %v", err)
	}
	if _, err := normalize.Technique("T1108"); err == nil || !strings.Contains(err.Error(), "suggests one of T1136, T1505.003, T1133") {
		t.Errorf("T1108: %v", err)
	}
	if _, err := normalize.Technique("T9999"); err == nil {
		t.Error("T9999 accepted")
	}
}

func TestSeedReport(t *testing.T) {
	parsed, err := parse.File(filepath.Join(golden.RepoRoot(t), "testdata", "reports", "remcos-rat-2020-03-03.md"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := normalize.Report(parsed, normalize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.TLP != "clear" || strings.Join(r.Families, ",") != "Remcos" || r.Slug != "remcos_rat_02_28_20" {
		t.Errorf("tlp %q families %q slug %q", r.TLP, r.Families, r.Slug)
	}
	var ids []string
	for _, tq := range r.Techniques {
		ids = append(ids, tq.ID)
	}
	if got := strings.Join(ids, ","); got != "T1036,T1059,T1070.006,T1202,T1547.001,T1566.001,T1571,T1685" {
		t.Errorf("techniques %s", got)
	}
	if len(r.Domains) != 20 || len(r.Endpoints) != 2 || len(r.Registry) != 1 || len(r.Samples()) != 2 || len(r.Skipped) != 9 {
		t.Errorf("domains %d endpoints %d registry %d samples %d skipped %d", len(r.Domains), len(r.Endpoints), len(r.Registry), len(r.Samples()), len(r.Skipped))
	}
	dropped := r.Files[2]
	if dropped.Name != "TERRICOLE.exe" || dropped.PathTail != `\Lrredsskoens4\TERRICOLE.exe` || dropped.Size != 61476 || dropped.Role != "dropped" {
		t.Errorf("dropped file %+v", dropped)
	}
}

func TestReportWithoutDateFails(t *testing.T) {
	r := &report.Report{Source: "x.md", Title: "T"}
	_, err := normalize.Report(r, normalize.Options{})
	if err == nil || !strings.Contains(err.Error(), `x.md: report date ""`) {
		t.Errorf("got %v", err)
	}
}

func TestSlug(t *testing.T) {
	for title, want := range map[string]string{
		"Remcos RAT 02-28-20":   "remcos_rat_02_28_20",
		"ÄÖÜ":                   "report_12345678",
		"2020 campaign":         "2020_campaign",
		strings.Repeat("a", 90): strings.Repeat("a", 60),
	} {
		if got := normalize.Slug(title, "12345678-aaaa"); got != want {
			t.Errorf("Slug(%q) = %q, want %q", title, got, want)
		}
	}
}

func TestFileObjectJoinsPathAndName(t *testing.T) {
	pos := report.Pos{File: "t.md", Line: 3}
	parsed := &report.Report{Source: "t.md", Title: "T", Date: "2024-01-01", Objects: []report.Object{{Name: "file", Pos: pos, Attributes: []report.Attribute{
		{Type: "path", Value: `%APPDATA%\Vendor\`, Pos: pos},
		{Type: "filename", Value: "agent.exe", ToIDS: true, Pos: pos},
		{Type: "size-in-bytes", Value: "0", Pos: pos},
	}}}}
	r, err := normalize.Report(parsed, normalize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := r.Files[0]
	if f.Path != `%APPDATA%\Vendor\agent.exe` || f.PathTail != `\Vendor\agent.exe` || f.Role != "dropped" || f.Size != 0 {
		t.Errorf("file %+v", f)
	}
	if len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0].Reason, "positive number") {
		t.Errorf("zero size not skipped: %+v", r.Skipped)
	}
}

// C2 values are counted as YARA writes them: an address listed with two ports is one string.
func TestBulkC2OverTheLimit(t *testing.T) {
	attrs := []report.Attribute{
		{Type: "domain", Value: "c2.example-bad.net", ToIDS: true},
		{Type: "ip-dst|port", Value: "45.56.113.222|443", ToIDS: true},
		{Type: "ip-dst|port", Value: "45.56.113.222|8443", ToIDS: true},
		{Type: "url", Value: "http://c2.example-bad.net/gate.php", ToIDS: true},
	}
	for _, tc := range []struct {
		max, limit int
		bulk       bool
	}{{3, 3, false}, {2, 2, true}, {0, normalize.DefaultMaxFullC2, false}, {normalize.EveryReportBulk, 0, true}} {
		parsed := &report.Report{Source: "t.md", Title: "T", Date: "2024-01-01", Attributes: attrs}
		opts := normalize.Options{MaxFullC2: tc.max}
		r, err := normalize.Report(parsed, opts)
		if err != nil {
			t.Fatal(err)
		}
		if r.C2Count() != 3 || r.BulkC2 != tc.bulk || opts.BulkLimit() != tc.limit {
			t.Errorf("MaxFullC2 %d: %d C2 values, blocklist %v, limit %d; want 3, %v, %d (skipped %v)", tc.max, r.C2Count(), r.BulkC2, opts.BulkLimit(), tc.bulk, tc.limit, r.Skipped)
		}
	}
}

// Normalising reads a parsed report and changes nothing in it: what it finds is a new value.
func TestReportLeavesTheParsedReportAlone(t *testing.T) {
	for _, name := range []string{"remcos-rat-2020-03-03.md", "misp/eset_windigo_ebury.misp.json", "misp/pymisp_ursnif_domains_url.json"} {
		path := filepath.Join(golden.RepoRoot(t), "testdata", "reports", name)
		parsed, err := parse.File(path)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := parse.File(path)
		r, err := normalize.Report(parsed, normalize.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(parsed, again) {
			t.Errorf("%s: normalising changed the parsed report", name)
		}
		if r.ID == "" || r.Slug == "" || len(r.Values()) == 0 {
			t.Errorf("%s: id %q slug %q values %d", name, r.ID, r.Slug, len(r.Values()))
		}
	}
}
