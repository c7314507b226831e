package parse

import (
	"bufio"
	"bytes"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/report"
)

// A plain IOC list is what analysts paste from a blog post: one indicator per line, often
// defanged (hxxp://evil[.]com, 1.2.3[.]4), among headings, comments (#, //) and lines of
// prose. Each line that reads as an indicator becomes an attribute of the type it has, flagged
// for detection (a list of IOCs is meant for it); a line of prose becomes a text attribute, so
// that normalize lists it as skipped with its line. The title and date come from the options
// (--title, --date) or from the file name (2024-05-01-evil-campaign.txt).

var (
	hexOnly      = regexp.MustCompile(`^[0-9A-Fa-f]+$`)
	hashTypes    = map[int]string{32: "md5", 40: "sha1", 64: "sha256"}
	dateInName   = regexp.MustCompile(`(\d{4}-\d{2}-\d{2})`)
	domainLike   = regexp.MustCompile(`^(?i)[a-z0-9_-]+(\.[a-z0-9_-]+)*\.[a-z][a-z0-9-]*[a-z0-9]$`)
	emailLike    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$`)
	registryLike = regexp.MustCompile(`^(?i)(HKLM|HKCU|HKU|HKCR|HKCC|HKEY_[A-Z_]+)\\`)
	windowsPath  = regexp.MustCompile(`^(?i)([a-z]:\\|%[a-z_]+%\\|\\\\)`)
	// fileExtensions make a dotted name a file name rather than a domain (no TLD has them).
	fileExtensions = map[string]bool{".exe": true, ".dll": true, ".scr": true, ".sys": true, ".bat": true, ".cmd": true,
		".ps1": true, ".vbs": true, ".js": true, ".jar": true, ".lnk": true, ".hta": true, ".doc": true, ".docm": true, ".xls": true, ".xlsm": true}
)

// IOCs parses a plain IOC list. title and date, when given, name and date the report.
func IOCs(name string, data []byte, title, date string) (*report.Report, error) {
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	if date == "" {
		date = dateInName.FindString(base)
	}
	if date == "" {
		return nil, inputError(report.Pos{File: name}, "an IOC list has no date: give --date YYYY-MM-DD or put the date in the file name")
	}
	if title == "" {
		title = strings.TrimSpace(strings.NewReplacer("_", " ", "-", " ").Replace(strings.Replace(base, date, "", 1)))
	}
	if title == "" {
		return nil, inputError(report.Pos{File: name}, "an IOC list has no title: give --title or name the file after the report")
	}
	r := &report.Report{Source: name, Format: "iocs", Title: title, Date: date}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		text = strings.TrimSpace(strings.TrimLeft(text, "-*•")) // list bullets
		if text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, "//") {
			continue
		}
		pos := report.Pos{File: name, Line: line}
		typ, value := iocType(text)
		if typ == "path" { // a file's path, as a MISP file object holds it
			r.Objects = append(r.Objects, report.Object{Name: "file", Pos: pos,
				Attributes: []report.Attribute{{Relation: "fullpath", Type: "text", Value: value, ToIDS: true, Pos: pos}}})
			continue
		}
		r.Attributes = append(r.Attributes, report.Attribute{Type: typ, Value: value, ToIDS: typ != "text", Pos: pos})
	}
	if err := sc.Err(); err != nil {
		return nil, inputError(report.Pos{File: name}, "%v", err)
	}
	return r, nil
}

// iocType tells a line's indicator type (a MISP attribute type, or "path" for a Windows file
// path) and its refanged value; a line that is no single indicator is "text".
func iocType(text string) (string, string) {
	v := defang.Refang(text)
	if strings.ContainsAny(v, " \t") && !windowsPath.MatchString(v) {
		return "text", text // prose, or several values on one line
	}
	if t := hashTypes[len(v)]; t != "" && hexOnly.MatchString(v) {
		return t, v
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return "ip-dst", v
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return "ip-dst|port", ap.Addr().String() + "|" + v[strings.LastIndexByte(v, ':')+1:]
	}
	switch {
	case strings.Contains(v, "://"):
		return "url", v
	case emailLike.MatchString(v):
		return "email-src", v
	case registryLike.MatchString(v):
		return "regkey", v
	case windowsPath.MatchString(v):
		return "path", v
	case domainLike.MatchString(v) && fileExtensions[strings.ToLower(filepath.Ext(v))]:
		return "filename", v
	case domainLike.MatchString(v):
		return "domain", v
	}
	return "text", text
}
