package normalize_test

import (
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/normalize/warninglist"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// mispReport parses a MISP event and normalises it with the bundled warninglists.
func mispReport(t *testing.T, src string, all bool) *report.Normalized {
	t.Helper()
	lists, err := warninglist.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parse.Bytes("t.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r, err := normalize.Report(parsed, normalize.Options{AllAttributes: all, Warninglists: warninglist.NewSet(lists...)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func event(attributes, objects string) string {
	return `{"Event": {"uuid": "a3bc1af1-e021-4685-9dd1-68013abef4d9", "info": "T", "date": "2024-01-01",
		"Attribute": [` + attributes + `], "Object": [` + objects + `]}}`
}

func skipReasons(r *report.Normalized) map[string]string {
	out := map[string]string{}
	for _, s := range r.Skipped {
		out[s.Value] = s.Reason
	}
	return out
}

func TestToIDSDecidesWhatBecomesARule(t *testing.T) {
	src := event(`{"type": "domain", "value": "c2-a.net", "to_ids": true},
		{"type": "domain", "value": "c2-b.net", "to_ids": false},
		{"type": "domain", "value": "c2-c.net", "to_ids": true, "deleted": true},
		{"type": "link", "value": "https://blog.example.org/report", "to_ids": false}`, "")
	r := mispReport(t, src, false)
	if len(r.Domains) != 1 || r.Domains[0].Value != "c2-a.net" || len(r.References) != 1 {
		t.Errorf("domains %+v references %v", r.Domains, r.References)
	}
	skips := skipReasons(r)
	if skips["c2-b.net"] != normalize.ReasonNotFlagged || skips["c2-c.net"] != normalize.ReasonDeleted {
		t.Errorf("skips %v", skips)
	}
	// --all-attributes takes the unflagged one, never the deleted one.
	r = mispReport(t, src, true)
	if len(r.Domains) != 2 || skipReasons(r)["c2-c.net"] != normalize.ReasonDeleted {
		t.Errorf("all-attributes: domains %+v skips %v", r.Domains, r.Skipped)
	}
}

// What belongs together stays together: a flagged hash brings its object's name and size
// (rarely flagged in MISP), an address its port, a key its value name and data.
func TestObjectsKeepTheirParts(t *testing.T) {
	r := mispReport(t, event("", `
		{"name": "file", "Attribute": [
			{"object_relation": "filename", "type": "filename", "value": "svc.exe", "to_ids": false},
			{"object_relation": "sha256", "type": "sha256", "value": "662CB6CB8370F9929E41507BF0399E6DAD5D16A4601248CA26B3F3B4DCE77B43", "to_ids": true},
			{"object_relation": "sha512", "type": "sha512", "value": "`+strings.Repeat("ab", 64)+`", "to_ids": true},
			{"object_relation": "size-in-bytes", "type": "size-in-bytes", "value": "4096", "to_ids": false}]},
		{"name": "ip-port", "Attribute": [
			{"object_relation": "ip", "type": "ip-dst", "value": "45.148.10.7", "to_ids": true},
			{"object_relation": "dst-port", "type": "port", "value": "8443", "to_ids": false},
			{"object_relation": "ip-src", "type": "ip-src", "value": "81.2.69.142", "to_ids": true}]},
		{"name": "domain-ip", "Attribute": [
			{"object_relation": "domain", "type": "domain", "value": "c2-a.net", "to_ids": true},
			{"object_relation": "ip", "type": "ip-dst", "value": "8.8.8.8", "to_ids": true}]},
		{"name": "registry-key", "Attribute": [
			{"object_relation": "key", "type": "regkey", "value": "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run", "to_ids": true},
			{"object_relation": "name", "type": "text", "value": "SeagateSync", "to_ids": false},
			{"object_relation": "data", "type": "text", "value": "%APPDATA%\\Seagate\\sync.exe", "to_ids": false}]},
		{"name": "url", "Attribute": [
			{"object_relation": "url", "type": "url", "value": "hxxp://c2-a[.]net/gate.php", "to_ids": true},
			{"object_relation": "host", "type": "hostname", "value": "c2-b.net", "to_ids": true}]},
		{"name": "network-connection", "Attribute": [
			{"object_relation": "ip-dst", "type": "ip-dst", "value": "45.148.10.8", "to_ids": true},
			{"object_relation": "dst-port", "type": "port", "value": "443", "to_ids": false}]},
		{"name": "file", "Attribute": [
			{"object_relation": "md5", "type": "md5", "value": "94a6b123b494cf3990d872d047b0071d", "to_ids": false},
			{"object_relation": "size-in-bytes", "type": "size-in-bytes", "value": "39424", "to_ids": false}]},
		{"name": "file"}`), false)

	if len(r.Files) != 1 {
		t.Fatalf("files %+v", r.Files)
	}
	if f := r.Files[0]; f.Name != "svc.exe" || f.Size != 4096 || f.SHA256 != strings.ToLower("662CB6CB8370F9929E41507BF0399E6DAD5D16A4601248CA26B3F3B4DCE77B43") || f.Role != "sample" {
		t.Errorf("file %+v", f)
	}
	wantEndpoints := []report.Endpoint{{IP: "45.148.10.7", Port: 8443}, {IP: "45.148.10.8", Port: 443}}
	if len(r.Endpoints) != len(wantEndpoints) {
		t.Fatalf("endpoints %+v", r.Endpoints)
	}
	for i, e := range wantEndpoints {
		if r.Endpoints[i].IP != e.IP || r.Endpoints[i].Port != e.Port {
			t.Errorf("endpoint %d: %+v, want %+v", i, r.Endpoints[i], e)
		}
	}
	if len(r.Registry) != 1 || r.Registry[0].Name != "SeagateSync" || r.Registry[0].DataTail != `\Seagate\sync.exe` || !r.Registry[0].Specific {
		t.Errorf("registry %+v", r.Registry)
	}
	if len(r.URLs) != 1 || r.URLs[0].Value != "http://c2-a.net/gate.php" || len(r.Domains) != 1 {
		t.Errorf("urls %+v domains %+v", r.URLs, r.Domains)
	}
	skips := skipReasons(r)
	for value, reason := range map[string]string{
		strings.Repeat("ab", 64):           "YARA's hash module has md5, sha1, sha256",
		"81.2.69.142":                      "source side",
		"8.8.8.8":                          `on warninglist "List of known IPv4 public DNS resolvers"`,
		"c2-b.net":                         "part of its object's url",
		"94a6b123b494cf3990d872d047b0071d": normalize.ReasonNotFlagged,
		"file":                             "object without attributes",
	} {
		if !strings.Contains(skips[value], reason) {
			t.Errorf("%s: skipped for %q, want %q", value, skips[value], reason)
		}
	}
}

func TestWarninglistsSkipWithTheListName(t *testing.T) {
	r := mispReport(t, event(`{"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": true},
		{"type": "domain", "value": "google.com", "to_ids": true},
		{"type": "domain", "value": "wikipedia.org", "to_ids": true},
		{"type": "ip-dst|port", "value": "192.0.2.1|80", "to_ids": true},
		{"type": "ip-dst", "value": "1.2.3.4", "to_ids": true},
		{"type": "domain|ip", "value": "c2-d.net|9.9.9.9", "to_ids": true},
		{"type": "hostname", "value": "c2.duckdns.org", "to_ids": true}`, ""), false)
	skips := skipReasons(r)
	for value, list := range map[string]string{
		"d41d8cd98f00b204e9800998ecf8427e": "List of known hashes for empty files",
		"google.com":                       "List of known google domains",
		"wikipedia.org":                    "Top 10000 websites from Majestic Million",
		"1.2.3.4":                          "Example addresses (rulegen)",
		"9.9.9.9":                          "List of known IPv4 public DNS resolvers",
	} {
		if skips[value] != `on warninglist "`+list+`"` {
			t.Errorf("%s: %q, want the list %q", value, skips[value], list)
		}
	}
	if skips["192.0.2.1|80"] == "" && skips["192.0.2.1"] == "" {
		t.Errorf("documentation address kept: %v", skips)
	}
	if len(r.Hostnames) != 1 || len(r.Domains) != 1 || r.Domains[0].Value != "c2-d.net" {
		t.Errorf("hostnames %+v domains %+v: a dynamic-DNS subdomain and the domain of a domain|ip must stay", r.Hostnames, r.Domains)
	}
}

func TestTLPPolicy(t *testing.T) {
	for _, tc := range []struct {
		tlp, max string
		above    bool
	}{{"red", "amber+strict", true}, {"amber+strict", "amber+strict", false}, {"red", "red", false}, {"", "clear", false}, {"amber", "green", true}} {
		if got := normalize.AboveTLP(tc.tlp, tc.max); got != tc.above {
			t.Errorf("AboveTLP(%q, %q) = %v", tc.tlp, tc.max, got)
		}
	}
	for in, want := range map[string]string{"RED": "red", "tlp:white": "clear", "TLP:AMBER+STRICT": "amber+strict"} {
		if got, err := normalize.ParseTLP(in); err != nil || got != want {
			t.Errorf("ParseTLP(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := normalize.ParseTLP("purple"); err == nil {
		t.Error("purple accepted")
	}
}

func TestMISPSlugCarriesTheEventID(t *testing.T) {
	r := mispReport(t, event(`{"type": "domain", "value": "c2-a.net", "to_ids": true}`, ""), false)
	if r.Slug != "t_a3bc1af1" {
		t.Errorf("slug %q", r.Slug)
	}
}
