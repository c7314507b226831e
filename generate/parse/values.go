package parse

import (
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/internal/domainname"
	"github.com/rulegen/rulegen/generate/report"
)

// Publications state values in prose-like lines: refanged, several to a line, with a
// description after a dash. These helpers read a line's values and type each by its shape;
// what a value means beyond its shape is normalize's to decide.

var (
	domainLike   = regexp.MustCompile(`^(?i)[a-z0-9_-]+(\.[a-z0-9_-]+)*\.[a-z][a-z0-9-]*[a-z0-9]$`)
	emailLike    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$`)
	registryLike = regexp.MustCompile(`^(?i)(HKLM|HKCU|HKU|HKCR|HKCC|HKEY_[A-Z_]+)\\`)
	windowsPath  = regexp.MustCompile(`^(?i)([a-z]:\\|%[a-z_]+%\\|\\\\)`)
	// urlLike is a URL as a value, not as code: a scheme (blob:https too), no quotes,
	// backticks, angle brackets, braces or spaces, which a URL in a script or a command has
	// around it.
	urlLike = regexp.MustCompile(`^(?i)[a-z][a-z0-9+.-]*:(?:[a-z][a-z0-9+.-]*:)?//[^\s"'<>{}` + "`" + `\\^|]+$`)
	// hostPathLike is a URL without its scheme (evil.com/gate.php), as lists of C2 URLs give it.
	hostPathLike = regexp.MustCompile(`^(?i)[a-z0-9_-]+(\.[a-z0-9_-]+)*\.[a-z][a-z0-9-]*[a-z0-9](:\d{1,5})?/[^\s"'<>{}` + "`" + `\\^|]*$`)
	// fileExtensions make a dotted name a file name rather than a domain (no TLD has them).
	fileExtensions = map[string]bool{".exe": true, ".dll": true, ".scr": true, ".sys": true, ".bat": true, ".cmd": true,
		".ps1": true, ".vbs": true, ".js": true, ".jar": true, ".lnk": true, ".hta": true, ".doc": true, ".docm": true, ".xls": true,
		".xlsm": true, ".msi": true, ".elf": true, ".bin": true, ".dat": true, ".tmp": true, ".zip": true, ".rar": true, ".7z": true,
		".iso": true, ".img": true, ".vhd": true, ".pdf": true, ".rtf": true, ".docx": true, ".xlsx": true, ".efi": true, ".so": true,
		".sh": true, ".py": true, ".php": true, ".aspx": true, ".jsp": true, ".wsf": true, ".chm": true, ".one": true, ".apk": true}
)

// typed is one value a publication states, refanged, with its MISP attribute type ("path"
// for a Windows file path, which becomes a file object).
type typed struct {
	typ, value string
}

// shapeOf types one refanged token by its shape; "" when it is no indicator.
func shapeOf(v string) string {
	if t := report.HashTypeOfLength(len(v)); t != "" && report.IsHex(v) {
		return t
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return "ip-dst"
	}
	if _, err := netip.ParseAddrPort(v); err == nil {
		return "ip-dst|port"
	}
	switch {
	case strings.Contains(v, "://"):
		if urlLike.MatchString(v) {
			return "url"
		}
		return ""
	case emailLike.MatchString(v):
		return "email-src"
	case registryLike.MatchString(v):
		return "regkey"
	case windowsPath.MatchString(v):
		return "path"
	case domainLike.MatchString(v) && fileExtensions[strings.ToLower(filepath.Ext(v))]:
		return "filename"
	case domainLike.MatchString(v):
		if _, ok := domainname.Registrable(v); ok {
			return "domain"
		}
		if fileNameLike.MatchString(v) {
			return "filename" // notes.txt, loader.go: no public suffix, so no domain
		}
		return ""
	case hostPathLike.MatchString(v):
		host, _, _ := strings.Cut(v, "/")
		host, _, _ = strings.Cut(host, ":")
		if _, ok := domainname.Registrable(host); ok {
			return "url"
		}
	}
	return ""
}

// fileNameLike is a name with an extension of one to five letters or digits: what a dotted word
// that is no domain most often is.
var fileNameLike = regexp.MustCompile(`^[^.\s]+(\.[^.\s]+)*\.[A-Za-z0-9]{1,5}$`)

// valueOf refangs a token and types it by shape, an ip-dst|port written as MISP writes it. A
// dns:// URL names a domain (DNS tunnelling C2); AsciiDoc's \https:// is an escaped link.
func valueOf(token string) (typed, bool) {
	v := defang.Refang(cleanCell(token))
	if strings.HasPrefix(v, `\`) && !strings.HasPrefix(v, `\\`) && strings.Contains(v, "://") {
		v = v[1:]
	}
	if host, ok := strings.CutPrefix(v, "dns://"); ok && domainLike.MatchString(strings.TrimSuffix(host, "/")) {
		return typed{"domain", strings.TrimSuffix(host, "/")}, true
	}
	typ := shapeOf(v)
	if host, port, ok := strings.Cut(v, ":"); typ == "" && ok && domainLike.MatchString(host) && portNumber(port) {
		if _, public := domainname.Registrable(host); public {
			return typed{"domain", host}, true // host:port under a C&C heading: the port has no rule of its own
		}
	}
	if typ == "" {
		return typed{}, false
	}
	if _, public := domainname.Registrable(v); typ == "filename" && public && defang.Refang(token) != token {
		typ = "domain" // k5j[.]one: defanged, so a network indicator, whatever its suffix says of files
	}
	if typ == "ip-dst|port" {
		ap := netip.MustParseAddrPort(v)
		v = ap.Addr().String() + "|" + v[strings.LastIndexByte(v, ':')+1:]
	}
	return typed{typ, v}, true
}

// cleanCell strips the markup around a value: AsciiDoc's `+…+` passthrough and line-break
// " +", Markdown's backticks and emphasis, quotes and list bullets.
func cleanCell(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, " +")
	for {
		before := s
		s = strings.TrimSpace(s)
		s = strings.Trim(s, "“”„‘’‚«»")
		for _, pair := range [][2]string{{"`", "`"}, {"+", "+"}, {"**", "**"}, {"*", "*"}, {"_", "_"}, {`"`, `"`}, {"'", "'"}} {
			if len(s) > len(pair[0])+len(pair[1]) && strings.HasPrefix(s, pair[0]) && strings.HasSuffix(s, pair[1]) {
				s = s[len(pair[0]) : len(s)-len(pair[1])]
			}
		}
		if s == before {
			return s
		}
	}
}

// absent says whether a cell states no value at all (N/A, -, empty): a table's way of saying
// a row has no value in that column, not a value to report.
func absent(s string) bool {
	switch strings.ToLower(cleanCell(s)) {
	case "", "n/a", "na", "-", "–", "—", "none", "unknown", "?", ".":
		return true
	}
	return false
}

// lineValues reads a line that states values: "v", "v1, v2", "v1 v2", "1.2.3.4 port 443",
// "v - what it is", "v (what it is)", "1.2.3.4 port 80 - evil.com GET /". It returns the values
// and the description, or ok false when the line does not start with values only (prose,
// code, a command). After the first dash, a part's leading values count and the rest of the
// line describes them.
func lineValues(line string) (vals []typed, comment string, ok bool) {
	parts := splitDescription(line)
	for i, part := range parts {
		part, note := trailingNote(part)
		got, rest := partValues(part)
		if len(got) == 0 || i == 0 && rest != "" {
			if i == 0 {
				return nil, "", false
			}
			return vals, strings.Join(parts[i:], " - "), true
		}
		vals = append(vals, got...)
		if rest != "" || note != "" {
			described := append([]string{strings.TrimSpace(rest + " " + note)}, parts[i+1:]...)
			return vals, strings.TrimSpace(strings.Join(described, " - ")), true
		}
	}
	return vals, "", len(vals) > 0
}

// splitDescription cuts a line at its dashes and bars with spaces around them.
func splitDescription(line string) []string {
	for _, sep := range []string{" – ", " — ", " | "} {
		line = strings.ReplaceAll(line, sep, " - ")
	}
	parts := strings.Split(line, " - ")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// trailingNote cuts "(what it is)" off the end of a part.
func trailingNote(part string) (string, string) {
	if !strings.HasSuffix(part, ")") {
		return part, ""
	}
	i := strings.LastIndex(part, " (")
	if i < 0 {
		return part, ""
	}
	return strings.TrimSpace(part[:i]), strings.Trim(part[i+2:], "()")
}

// partValues reads the values a part of a line starts with: a Windows path (which may hold
// spaces), or tokens that are each a value, "port N" after an address, or a conjunction. rest
// is the part after them ("" when the part holds values only).
func partValues(part string) (vals []typed, rest string) {
	if part == "" {
		return nil, ""
	}
	if v := defang.Refang(cleanCell(part)); windowsPath.MatchString(v) && !strings.ContainsAny(v, "\t`\"<>|") {
		return []typed{{"path", v}}, ""
	}
	tokens := strings.FieldsFunc(part, func(c rune) bool { return c == ' ' || c == '\t' || c == ',' || c == ';' })
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		switch strings.ToLower(tok) {
		case "and", "or", "&", "/", "+":
			continue
		case "port", "tcp", "udp":
			n := len(vals)
			if i+1 < len(tokens) && n > 0 && vals[n-1].typ == "ip-dst" && isPort(tokens[i+1]) {
				vals[n-1] = typed{"ip-dst|port", vals[n-1].value + "|" + tokens[i+1]}
				i++
				continue
			}
		}
		v, ok := valueOf(tok)
		if !ok {
			return vals, strings.Join(tokens[i:], " ")
		}
		vals = append(vals, v)
	}
	return vals, ""
}

func isPort(s string) bool { return len(s) <= 5 && isDigits(s) }

// mentionsIndicator says whether prose holds something shaped like an indicator (a plain
// http(s) link is a reference, a name may be a product's): such a line is listed as skipped
// free text rather than passed over.
func mentionsIndicator(line string) bool {
	for _, tok := range strings.Fields(line) {
		tok = strings.Trim(tok, ".,;:()[]`'\"")
		if defang.Refang(tok) != tok {
			return true
		}
		if v, ok := valueOf(tok); ok && v.typ != "domain" && v.typ != "filename" && len(referenceLinks(tok)) == 0 {
			return true
		}
	}
	return false
}

// referenceLinks are the plain http(s) links of a line of prose, Markdown's [text](link) and
// AsciiDoc's link[text] included: where the publication points its readers, not indicators
// (those are defanged).
func referenceLinks(line string) []string {
	var out []string
	for _, link := range plainLink.FindAllString(line, -1) {
		if link = strings.TrimRight(link, ".,;:!?"); urlLike.MatchString(link) {
			out = append(out, link)
		}
	}
	return out
}

// plainLink is an http(s) link up to what ends it in prose or markup.
var plainLink = regexp.MustCompile(`\bhttps?://[^\s<>()\[\]"'` + "`" + `]+`)

// portNumber says whether s is a TCP or UDP port number, 1-65535.
func portNumber(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536 && s[0] != '0'
}

// defangedValues are the values a line marks as indicators by defanging them (hxxp://,
// evil[.]com), wherever they stand in it: a writer defangs only what is meant as one.
func defangedValues(line string) []typed {
	if commandLike(line) {
		return nil // code and commands never become rules, defanged or not
	}
	var out []typed
	for _, tok := range strings.Fields(line) {
		tok = strings.Trim(tok, ",;()\"'<>")
		if defang.Refang(tok) == tok {
			continue
		}
		if v, ok := valueOf(tok); ok {
			out = append(out, v)
		}
	}
	return out
}

// commandLike says whether a line reads as code or a command rather than prose: quotes in
// backticks, calls, assignments, variables, pipes, or an option (-o).
func commandLike(line string) bool {
	if strings.ContainsAny(line, "`()=$|;{}") {
		return true
	}
	for _, tok := range strings.Fields(line) {
		if len(tok) > 1 && tok[0] == '-' && isLetter(tok[1]) {
			return true
		}
	}
	return false
}
