package warninglist_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/normalize/warninglist"
)

func mustParse(t *testing.T, src string) *warninglist.List {
	t.Helper()
	l, err := warninglist.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Each list type matches as MISP matches it.
func TestListTypes(t *testing.T) {
	tests := []struct {
		list    string
		kind, v string
		want    bool
	}{
		{`{"name":"s","type":"string","list":["Google.com"]}`, "domain", "google.com", true},
		{`{"name":"s","type":"string","list":["google.com"]}`, "domain", "mail.google.com", false},
		{`{"name":"s","type":"string","list":[".google.com"]}`, "domain", "mail.google.com", true},
		{`{"name":"s","type":"string","list":[".google.com"]}`, "domain", "google.com", true},
		{`{"name":"s","type":"string","list":[".google.com"]}`, "domain", "notgoogle.com", false},
		{`{"name":"h","type":"hostname","list":["duckdns.org"]}`, "domain", "c2.duckdns.org", true},
		{`{"name":"h","type":"hostname","list":["duckdns.org"]}`, "domain", "xduckdns.org", false},
		{`{"name":"h","type":"hostname","list":["google.com"]}`, "url", "https://drive.google.com/x?y", true},
		{`{"name":"h","type":"hostname","list":["google.com"]}`, "url", "https://google.com.evil.net/", false},
		{`{"name":"c","type":"cidr","list":["10.0.0.0/8","8.8.8.8","2001:4860::/32"]}`, "ip-dst", "10.200.1.1", true},
		{`{"name":"c","type":"cidr","list":["10.0.0.0/8","8.8.8.8"]}`, "ip-dst", "8.8.8.8", true},
		{`{"name":"c","type":"cidr","list":["10.0.0.0/8","8.8.8.8"]}`, "ip-dst", "8.8.8.9", false},
		{`{"name":"c","type":"cidr","list":["2001:4860::/32"]}`, "ip-dst", "2001:4860:4860::8888", true},
		{`{"name":"c","type":"cidr","list":["10.0.0.0/8"]}`, "ip-dst", "not-an-ip", false},
		{`{"name":"u","type":"substring","list":["pastebin"]}`, "url", "https://pastebin.com/raw/x", true},
		{`{"name":"r","type":"regex","list":["/^[a-f0-9]{32}$/i"]}`, "md5", "D41D8CD98F00B204E9800998ECF8427E", true},
		{`{"name":"r","type":"regex","list":["^x"]}`, "md5", "ab", false},
	}
	for _, tc := range tests {
		l := mustParse(t, tc.list)
		if got := l.Contains(tc.kind, tc.v); got != tc.want {
			t.Errorf("%s: %s %q = %v, want %v", tc.list, tc.kind, tc.v, got, tc.want)
		}
	}
}

// matching_attributes restricts a list to the types it names; a list without them applies to all.
func TestSetMatchesByAttributeType(t *testing.T) {
	dns := mustParse(t, `{"name":"DNS","type":"cidr","list":["8.8.8.8"],"matching_attributes":["ip-dst"]}`)
	any := mustParse(t, `{"name":"Any","type":"string","list":["c2-a.net"]}`)
	s := warninglist.NewSet(dns, any)
	if name, ok := s.Match("ip-dst", "8.8.8.8"); !ok || name != "DNS" {
		t.Errorf("ip-dst: %q %v", name, ok)
	}
	if _, ok := s.Match("ip-src", "8.8.8.8"); ok {
		t.Error("list applied to a type it does not name")
	}
	if name, ok := s.Match("hostname", "c2-a.net"); !ok || name != "Any" {
		t.Errorf("hostname: %q %v", name, ok)
	}
	var none *warninglist.Set
	if _, ok := none.Match("domain", "x"); ok {
		t.Error("nil set matched")
	}
}

// The bundled lists load, and hold what the README promises.
func TestBundledLists(t *testing.T) {
	lists, err := warninglist.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	s := warninglist.NewSet(lists...)
	for _, tc := range []struct{ kind, value, list string }{
		{"ip-dst", "192.168.1.1", "RFC 1918"},
		{"ip-dst", "8.8.8.8", "public DNS"},
		{"ip-dst", "1.2.3.4", "Example addresses"},
		{"md5", "d41d8cd98f00b204e9800998ecf8427e", "empty files"},
		{"domain", "google.com", ""},
		{"domain", "co.uk", "Second level"},
	} {
		name, ok := s.Match(tc.kind, tc.value)
		if !ok || !strings.Contains(name, tc.list) {
			t.Errorf("%s %s: on %q (%v), want a list naming %q", tc.kind, tc.value, name, ok, tc.list)
		}
	}
	// Subdomains of dynamic-DNS providers are where C2 lives: no default list may drop them.
	for _, d := range []string{"c2.duckdns.org", "x.ddns.net", "evil.azurewebsites.net", "remcos-c2.hopto.org"} {
		if name, ok := s.Match("domain", d); ok {
			t.Errorf("%s is dropped by %q", d, name)
		}
	}
}

func TestBadLists(t *testing.T) {
	for src, want := range map[string]string{
		`{"type":"string","list":[]}`:                       `no "name"`,
		`{"name":"x","type":"bloom","list":["a"]}`:          `unknown list type "bloom"`,
		`{"name":"x","type":"cidr","list":["10.0.0.0/33"]}`: `list[0] "10.0.0.0/33": not an address or CIDR block`,
		`{"name":"x","type":"regex","list":["/(?<=x)/"]}`:   `regex Go cannot compile`,
		`[1,2]`: `not a MISP warninglist`,
	} {
		_, err := warninglist.Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
}

func TestLoadDirNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "lists", "mine")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "list.json"), []byte(`{"name":"Mine","type":"string","list":["c2-a.net"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	lists, err := warninglist.LoadDir(dir)
	if err != nil || len(lists) != 1 || lists[0].Name != "Mine" {
		t.Fatalf("%v %v", lists, err)
	}
	if err := os.WriteFile(filepath.Join(sub, "bad.json"), []byte(`{"name":"Bad","type":"cidr","list":["x"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = warninglist.LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join("lists", "mine", "bad.json")) {
		t.Errorf("error does not name the file: %v", err)
	}
	if _, err := warninglist.LoadDir(filepath.Join(dir, "nope")); err == nil {
		t.Error("missing directory accepted")
	}
}

// FuzzParse: any bytes give a list or an error, and a list answers lookups without panicking.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"rfc1918.json", "empty-hashes.json", "sinkholes.json"} {
		if b, err := os.ReadFile(filepath.Join("lists", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"name":"r","type":"regex","list":["/^a+$/i"],"matching_attributes":["domain"]}`))
	f.Add([]byte(`{"name":"h","type":"hostname","list":[".example.com","x"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := warninglist.Parse(data)
		if err != nil {
			return
		}
		s := warninglist.NewSet(l)
		for _, v := range []string{"10.0.0.1", "a.example.com", "http://x/y", "", "::1"} {
			s.Match("domain", v)
			s.Match("ip-dst", v)
			s.Match("url", v)
		}
	})
}
