package parse_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

func readSTIX(t *testing.T, name string) []*report.Report {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "stix", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if parse.Sniff(data) != parse.FormatSTIX {
		t.Fatalf("%s is not sniffed as STIX", name)
	}
	var reports []*report.Report
	if err := parse.Each(path, data, parse.Options{}, func(r *report.Report) error {
		reports = append(reports, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return reports
}

// values lists a report's attributes and objects as "type=value" (objects as
// "name{rel=value ...}"), with the reason when the parser already knows one.
func values(r *report.Report) []string {
	var out []string
	for _, a := range r.Attributes {
		s := a.Type + "=" + a.Value
		if a.Unusable != "" {
			s += " (" + a.Unusable + ")"
		}
		out = append(out, s)
	}
	for _, o := range r.Objects {
		var parts []string
		for _, a := range o.Attributes {
			parts = append(parts, a.Rel()+"="+a.Value)
		}
		out = append(out, o.Name+"{"+strings.Join(parts, " ")+"}")
	}
	return out
}

func TestSTIXTalosBundle(t *testing.T) {
	reports := readSTIX(t, "talos_2024-10_gophish_powerrat_dcrat_stix20.json")
	if len(reports) != 1 {
		t.Fatalf("%d reports", len(reports))
	}
	r := reports[0]
	if r.Title != "Threat actor abuses Gophish to deliver new PowerRAT and DCRAT" || r.Date != "2024-10-22" ||
		r.ID != "6824ec44-97de-445d-aa90-8136ddd949f4" || r.Format != "stix" {
		t.Errorf("report %q %s %s %s", r.Title, r.Date, r.ID, r.Format)
	}
	got := values(r)
	// Talos exports through MISP-STIX, whose labels name each indicator's MISP type: the
	// network-traffic destination is read back as MISP's ip-dst; the blog link (observed data
	// in MISP's External analysis category) is a reference.
	for _, want := range []string{
		"sha256=13252199b18d5257a60f57de95d8c6be7d7973df7f957bca8c2f31e15fcc947b",
		"domain=strepsils.top",
		"url=http://94.103.85.47/dashboard/usa.bin",
		"ip-dst=94.103.85.47",
		"link=https://blog.talosintelligence.com/gophish-powerrat-dcrat/",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no %s among %d values", want, len(got))
		}
	}
	if len(got) != 51+1 {
		t.Errorf("%d values, want the 51 indicators and the link", len(got))
	}
	for _, a := range r.Attributes {
		if a.Type == "sha256" && (!a.ToIDS || a.Pos.Path == "" || !strings.HasSuffix(a.Pos.Path, ".pattern") || a.When().First != "2024-10-22T05:49:51Z") {
			t.Errorf("indicator %+v", a)
			break
		}
	}
}

func TestSTIXReportContext(t *testing.T) {
	talos := readSTIX(t, "talos_2024-08_netsupport_rat_stix20.json")[0]
	// TLP 1.0 white by its well-known marking id; the report's labels; attack patterns
	// named the MISP way with their mitre-attack ids.
	if c := talos.Context; !slices.Contains(c.TLP, "white") || !slices.Contains(c.Labels, "NetSupportRAT") ||
		!slices.ContainsFunc(c.Techniques, func(st report.StatedTechnique) bool { return st.Ref == "Windows Management Instrumentation - T1047" }) {
		t.Errorf("Talos: context %+v", c)
	}
	if !slices.Contains(values(talos), "text=NetSupport RAT") { // MISP-STIX's x-misp-attribute
		t.Errorf("Talos: the x-misp-attribute is not read")
	}
	if slices.ContainsFunc(talos.Context.Labels, func(s string) bool { return strings.HasPrefix(s, "misp:") }) {
		t.Errorf("MISP-STIX's bookkeeping labels kept: %q", talos.Context.Labels)
	}
	ivy := readSTIX(t, "oasis_examples_threat-reports_poisonivy.json")[0]
	if ivy.Date != "2013-08-21" || !slices.Contains(ivy.Context.Families, "Poison Ivy") {
		t.Errorf("Poison Ivy: %s %+v", ivy.Date, ivy.Context)
	}
	// OR inside one observation makes separate indicators.
	got := values(ivy)
	for _, want := range []string{"domain=www.webserver.dynssl.com", "ip-dst=113.10.246.30", "filename=CBricksDoc"} {
		if !slices.Contains(got, want) {
			t.Errorf("Poison Ivy: no %s", want)
		}
	}
	apt1 := readSTIX(t, "oasis_examples_threat-reports_apt1.json")[0]
	if !slices.ContainsFunc(values(apt1), func(s string) bool {
		return strings.HasPrefix(s, "stix-pattern=x509-certificate:issuer") && strings.Contains(s, "no rule for it")
	}) {
		t.Errorf("APT1's certificates are not skipped with a reason: %q", values(apt1))
	}
	// MISP's export of unpublished events: groupings, one report each.
	events := readSTIX(t, "misp-stix_test_events_collection_stix21_bundle.json")
	if len(events) != 4 {
		t.Fatalf("%d reports from the events collection, want its 4 groupings", len(events))
	}
	if got := values(events[2]); !slices.Contains(got, "domain|ip=circl.lu|149.13.33.14") {
		t.Errorf("domain with resolves_to_refs: %q", got)
	}
	objects := readSTIX(t, "misp-stix_test_objects_collection_stix21_bundle.json")
	if len(objects) != 1 || !slices.Contains(values(objects[0]), "file{md5=8764605c6f388c89096b534d33565802 sha1=46aba99aa7158e4609aaa72b50990842fd22ae86 sha256=ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b filename=oui}") {
		t.Errorf("a file's hashes AND its name: %q", values(objects[0]))
	}
}

// The parts of STIX the bundled files do not show, in one bundle: a hash AND its size, an
// address AND its port, MISP's registry values.data with an abbreviated hive, a mutex, IN,
// regular expressions, qualifiers, FOLLOWEDBY, a revoked indicator, valid_until, a YARA
// pattern, a TLP 2.0 marking and techniques reached through relationships.
func TestSTIXPatterns(t *testing.T) {
	bundle := `{"type": "bundle", "id": "bundle--0b5b2a25-0000-4000-8000-000000000001", "objects": [
 {"type": "report", "id": "report--0b5b2a25-0000-4000-8000-000000000002", "name": "Patterns", "created": "2024-05-01T00:00:00Z",
  "object_marking_refs": ["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"],
  "external_references": [{"source_name": "blog", "url": "https://example.org/patterns"}],
  "object_refs": ["indicator--1", "indicator--2", "indicator--3", "indicator--4", "indicator--5", "indicator--6", "indicator--7", "indicator--8", "indicator--9"]},
 {"type": "indicator", "id": "indicator--1", "pattern_type": "stix", "valid_from": "2024-04-01T00:00:00Z", "valid_until": "2024-06-01T00:00:00Z",
  "pattern": "[file:hashes.'SHA-256' = '5f8fa3c3e7c8b3a1d06a41a3f83f4d1a2c3b4e5f60718293a4b5c6d7e8f90a1b' AND file:size = '73802']"},
 {"type": "indicator", "id": "indicator--2", "pattern": "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = '8443']"},
 {"type": "indicator", "id": "indicator--3", "pattern": "[windows-registry-key:key = 'HKLM\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run' AND windows-registry-key:values.name = 'PatternsUpdater' AND windows-registry-key:values.data = 'C:\\\\Users\\\\Public\\\\upd.exe']"},
 {"type": "indicator", "id": "indicator--4", "pattern": "[mutex:name IN ('Global\\\\PatternsMtx', 'PatternsMtx2')]"},
 {"type": "indicator", "id": "indicator--5", "pattern": "[url:value MATCHES '^http://x'] OR [domain-name:value = 'patterns.example-c2.net'] REPEATS 2 TIMES"},
 {"type": "indicator", "id": "indicator--6", "pattern": "[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe']"},
 {"type": "indicator", "id": "indicator--7", "revoked": true, "pattern": "[domain-name:value = 'revoked.example-c2.net']"},
 {"type": "indicator", "id": "indicator--8", "pattern_type": "yara", "pattern": "rule Patterns { strings: $a = \"patterns-beacon\" condition: $a }"},
 {"type": "indicator", "id": "indicator--9", "pattern": "[file:name = 'x.exe' AND file:size > 1000]"},
 {"type": "malware", "id": "malware--1", "name": "PatternRAT", "is_family": true},
 {"type": "attack-pattern", "id": "attack-pattern--1", "name": "Application Layer Protocol", "external_references": [{"source_name": "mitre-attack", "external_id": "T1071"}]},
 {"type": "relationship", "id": "relationship--1", "relationship_type": "indicates", "source_ref": "indicator--2", "target_ref": "malware--1"},
 {"type": "relationship", "id": "relationship--2", "relationship_type": "uses", "source_ref": "malware--1", "target_ref": "attack-pattern--1"}
]}`
	r, err := parse.Bytes("patterns.json", []byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	got := values(r)
	for _, want := range []string{
		"link=https://example.org/patterns",
		"file{sha256=5f8fa3c3e7c8b3a1d06a41a3f83f4d1a2c3b4e5f60718293a4b5c6d7e8f90a1b size-in-bytes=73802}",
		"ip-port{ip-dst=198.51.100.7 dst-port=8443}",
		`registry-key{key=HKLM\Software\Microsoft\Windows\CurrentVersion\Run name=PatternsUpdater data=C:\Users\Public\upd.exe}`,
		`mutex=Global\PatternsMtx`, "mutex=PatternsMtx2",
		"stix-pattern=url:value MATCHES '^http://x' (a regular expression (MATCHES): rulegen writes rules for values, not for a producer's expressions)",
		"stix-pattern=[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe'] (FOLLOWEDBY: a rule sees one file or event, not a sequence)",
		"stix-pattern=[domain-name:value = 'revoked.example-c2.net'] (revoked by its producer)",
		`yara=rule Patterns { strings: $a = "patterns-beacon" condition: $a }`,
		"stix-pattern=file:size > 1000 (a range (>): rulegen writes rules for values)",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no %s in\n%s", want, strings.Join(got, "\n"))
		}
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "qualifier REPEATS 2 TIMES") }) {
		t.Errorf("the qualified observation is not skipped with its qualifier")
	}
	if c := r.Context; !slices.Contains(c.TLP, "amber+strict") || !slices.Contains(c.Families, "PatternRAT") ||
		!slices.ContainsFunc(c.Techniques, func(st report.StatedTechnique) bool { return st.Ref == "Application Layer Protocol - T1071" }) {
		t.Errorf("context %+v", c)
	}
	if r.Objects[0].Attributes[0].When().Until != "2024-06-01T00:00:00Z" {
		t.Errorf("valid_until is not kept: %+v", r.Objects[0].Attributes[0].When())
	}
}

// Two versions of one indicator in a bundle: the newer is read, once; a byte-order mark does
// not hide a bundle.
func TestSTIXVersions(t *testing.T) {
	bundle := "\ufeff" + `{"type": "bundle", "id": "bundle--0b5b2a25-0000-4000-8000-00000000000a", "objects": [
 {"type": "report", "id": "report--0b5b2a25-0000-4000-8000-00000000000b", "name": "Versions", "published": "2024-05-01T00:00:00Z", "object_refs": ["indicator--1"]},
 {"type": "indicator", "id": "indicator--1", "modified": "2024-05-02T00:00:00Z", "pattern": "[domain-name:value = 'new.example-c2.net']"},
 {"type": "indicator", "id": "indicator--1", "modified": "2024-05-01T00:00:00Z", "pattern": "[domain-name:value = 'old.example-c2.net']"}
]}`
	if parse.Sniff([]byte(bundle)) != parse.FormatSTIX {
		t.Fatal("a bundle after a byte-order mark is not sniffed as STIX")
	}
	r, err := parse.Bytes("versions.json", []byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if got := values(r); !slices.Equal(got, []string{"domain=new.example-c2.net"}) {
		t.Errorf("values %q, want the newer version only", got)
	}
}

// A long IN is a list of indicators; an AND of ORs that would multiply past the bound is
// skipped with the reason instead of expanding.
func TestSTIXExpansionBounds(t *testing.T) {
	var ips, ors []string
	for i := range 2000 {
		ips = append(ips, fmt.Sprintf("'198.51.%d.%d'", i/250, i%250+1))
	}
	for i := range 11 { // 2^11 combinations
		ors = append(ors, fmt.Sprintf("(file:name = 'a%d.exe' OR file:name = 'b%d.exe')", i, i))
	}
	bundle := fmt.Sprintf(`{"type": "bundle", "id": "bundle--0b5b2a25-0000-4000-8000-00000000000c", "objects": [
 {"type": "indicator", "id": "indicator--1", "created": "2024-05-01T00:00:00Z", "pattern": "[ipv4-addr:value IN (%s)]"},
 {"type": "indicator", "id": "indicator--2", "created": "2024-05-01T00:00:00Z", "pattern": "[%s]"}]}`,
		strings.Join(ips, ", "), strings.Join(ors, " AND "))
	r, err := parse.Bytes("bounds.json", []byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	got := values(r)
	if len(got) != 2001 || !slices.Contains(got, "ip-dst=198.51.7.250") {
		t.Fatalf("%d values", len(got))
	}
	if last := got[len(got)-1]; !strings.Contains(last, "more than 1024 combinations") || !strings.HasPrefix(last, "stix-pattern=[(file:name") {
		t.Errorf("the AND of ORs: %.200s", last)
	}
}

func TestSTIXErrors(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"broken.json", `{"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1", "pattern": 5}]}`, "objects[0]"},
		{"noid.json", `{"type": "bundle", "objects": [{"type": "indicator"}]}`, "noid.json: objects[0]: a STIX object without a type or an id"},
		{"undated.json", `{"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '1.2.3.4']"}]}`, "without a report object and without dates"},
	} {
		_, err := parse.Bytes(c.name, []byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := parse.ParseFormat("stix"); err != nil {
		t.Error(err)
	}
}

func FuzzSTIX(f *testing.F) {
	for _, name := range []string{"oasis_examples_indicators-for-C2-with-COA.json", "misp-stix_test_objects_collection_stix21_bundle.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "stix", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Any bytes give reports, each titled, naming its source and dated (or refused by normalize,
	// which names the date it cannot read), with every attribute typed and placed in the file,
	// or an input error naming the file.
	f.Fuzz(func(t *testing.T, data []byte) {
		err := parse.STIX("fuzz.json", data, func(r *report.Report) error {
			if r.Title == "" || r.Source != "fuzz.json" {
				t.Fatalf("report without a title or source: %+v", r)
			}
			if _, err := time.Parse(time.DateOnly, r.Date); err != nil {
				if _, err := normalize.Report(r, normalize.Options{}); !errors.Is(err, normalize.ErrReport) || !strings.Contains(err.Error(), "fuzz.json") {
					t.Fatalf("report dated %q: normalize says %v", r.Date, err)
				}
				return nil
			}
			for _, a := range r.Attributes {
				if a.Type == "" || a.Pos.File != "fuzz.json" { // an empty or unusable value normalize skips, with the reason
					t.Fatalf("attribute without a type or position: %+v", a)
				}
			}
			return nil
		})
		if err != nil && (!errors.Is(err, parse.ErrInput) || !strings.Contains(err.Error(), "fuzz.json")) {
			t.Fatalf("error %v is not an input error naming the file", err)
		}
	})
}
