package render

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rulegen/rulegen/generate/report"
)

// sigmaView is what Sigma templates receive: one list per log source category, with values
// already generalised (no SID, no environment variable), sorted and deduplicated. Templates
// write each value with sigmaString.
type sigmaView struct {
	Report     *report.Normalized
	Author     string
	References []string // the report's links, or where the rule came from (see References)
	TitleStem  string   // the report title in title case, cut so that rule titles stay within MaxTitle (see titleStem)
	MaxValues  int      // values per field in one selection; longer lists are split
	// Category holds, per log source category, what its rule shares with the header and
	// footer, and whether the report gets one (see sigmaCategories).
	Category map[string]*sigmaRule
	// Product is the log source product of the host rules (windows, linux, macos); Windows
	// says whether it is windows.
	Product   string
	Windows   bool
	Registry  []sigmaRegistry
	Domains   []string          // QueryName / DestinationHostname / query / cs-host, exact or as a parent domain
	URLs      []string          // c-uri: URLs as requested
	URLParts  []string          // c-uri|contains: URLs the report gives without a scheme (host/path)
	Endpoints []report.Endpoint // IP with port
	IPs       []string          // IPs the report gives without a port
	Images    []string          // process image path tails of dropped executables
	Hashes    []string          // Sysmon Hashes entries: MD5=..., SHA1=..., SHA256=..., IMPHASH=...
	Dropped   []string          // dropped-file path tails
}

// sigmaRule is what the rule of one log source category is given beside the report's values.
type sigmaRule struct {
	Write   bool     // the report has values for it, on a platform that logs it
	Product string   // the log source product; "" for logs of any product (DNS, firewall, proxy)
	Level   string   // by how specific its indicators are
	Tags    []string // attack.<tactic>, attack.tNNNN, detection.*, tlp.*
	Expires string   // when the last of its indicators goes stale under the expiry policy; "" never
	// Subdomains are the suffixes (".evil.net") that match the report's domains' subdomains,
	// for a category that matches them.
	Subdomains []string
}

// sigmaCategory is what rulegen knows of a log source category it writes a rule for.
type sigmaCategory struct {
	// tactics are the ATT&CK tactics its rule observes (see sigmaTags). Tactics are ATT&CK
	// v19's (stealth and defense-impairment replaced defense-evasion): a rule for a dropped
	// executable observes what runs (execution) and hides as something else (stealth:
	// masquerading, timestomping); a dropped file also what stays (persistence).
	tactics     []string
	windowsOnly bool // logged on Windows only: Sysmon's registry and DNS client events
	anyProduct  bool // a network log (DNS servers, firewalls, proxies): no product in its log source
	// parentDomains: a domain of the report matches its subdomains too (c2.evil.net for
	// evil.net), never a look-alike (notevil.net).
	parentDomains bool
	// detects says whether a report has values the rule looks for.
	detects func(v *sigmaView) bool
}

var c2Tactics = []string{"command-and-control"}

// sigmaCategories are the categories of rulegen's Sigma rules. A rule's level is high unless
// newSigmaView lowers it for indicators benign software shares.
var sigmaCategories = map[string]sigmaCategory{
	"dns_query":          {tactics: c2Tactics, windowsOnly: true, parentDomains: true, detects: func(v *sigmaView) bool { return len(v.Domains) > 0 }},
	"network_connection": {tactics: c2Tactics, parentDomains: true, detects: func(v *sigmaView) bool { return len(v.Endpoints)+len(v.IPs)+len(v.Domains) > 0 }},
	"dns":                {tactics: c2Tactics, anyProduct: true, parentDomains: true, detects: func(v *sigmaView) bool { return len(v.Domains) > 0 }},
	"firewall":           {tactics: c2Tactics, anyProduct: true, detects: func(v *sigmaView) bool { return len(v.Endpoints)+len(v.IPs) > 0 }},
	"proxy":              {tactics: c2Tactics, anyProduct: true, parentDomains: true, detects: func(v *sigmaView) bool { return len(v.URLs)+len(v.URLParts)+len(v.Domains) > 0 }},
	"registry_set":       {tactics: []string{"persistence", "privilege-escalation"}, windowsOnly: true, detects: func(v *sigmaView) bool { return len(v.Registry) > 0 }},
	"process_creation":   {tactics: []string{"execution", "stealth"}, detects: func(v *sigmaView) bool { return len(v.Images)+len(v.Hashes) > 0 }},
	"file_event":         {tactics: []string{"persistence", "stealth"}, detects: func(v *sigmaView) bool { return len(v.Dropped) > 0 }},
}

// ObservedTactics are the ATT&CK tactics the rule of a log source category observes; nil for a
// category rulegen writes no rule for.
func ObservedTactics(category string) []string { return sigmaCategories[category].tactics }

type sigmaRegistry struct {
	Target  string // TargetObject tail: key tail and value name, or the key tail and "\\"
	Under   bool   // Target is a key: match any value below it (contains, not endswith)
	Details string // Details tail; empty when the data is not a path
}

// Extensions of files that run as a process image.
var executableExt = []string{".exe", ".scr", ".com", ".pif"}

func newSigmaView(r *report.Normalized, author string) sigmaView {
	product := cmp.Or(r.Platform, "windows")
	v := sigmaView{Report: r, Author: author, References: References(r), MaxValues: SigmaMaxValues, TitleStem: titleStem(r),
		Product: product, Windows: product == "windows"}
	for _, reg := range r.Registry {
		name := reg.Name
		if name == "" && !reg.AnyValue {
			name = "(Default)" // how Sysmon names a key's default value in TargetObject
		}
		v.Registry = append(v.Registry, sigmaRegistry{Target: reg.KeyTail + `\` + name, Under: reg.AnyValue, Details: reg.DataTail})
	}
	v.Domains = sortedValues(r.Domains, r.Hostnames)
	dates := map[string][]string{}
	for _, reg := range r.Registry {
		dates["registry_set"] = append(dates["registry_set"], reg.Expires)
	}
	for _, d := range append(expiries(r.Domains), expiries(r.Hostnames)...) {
		for _, category := range []string{"dns_query", "network_connection", "dns", "proxy"} {
			dates[category] = append(dates[category], d)
		}
	}
	for _, e := range r.Endpoints {
		dates["network_connection"] = append(dates["network_connection"], e.Expires)
		dates["firewall"] = append(dates["firewall"], e.Expires)
	}
	dates["proxy"] = append(dates["proxy"], expiries(r.URLs)...)
	for _, u := range sortedValues(r.URLs) {
		if strings.Contains(u, "://") {
			v.URLs = append(v.URLs, u)
		} else {
			v.URLParts = append(v.URLParts, u)
		}
	}
	for _, e := range r.Endpoints {
		if e.Port > 0 {
			v.Endpoints = append(v.Endpoints, e)
		} else {
			v.IPs = append(v.IPs, e.IP)
		}
	}
	v.IPs = slices.Compact(v.IPs)
	nameOnly := false
	// A bulk list's million samples: room made once, not grown.
	v.Hashes = slices.Grow(v.Hashes, len(r.Files))
	dates["process_creation"] = slices.Grow(dates["process_creation"], len(r.Files))
	for _, f := range r.Files {
		executable := slices.Contains(executableExt, strings.ToLower(path.Ext(f.Name)))
		switch {
		case f.Role == report.RoleSample && (executable || f.Name == "" || !v.Windows): // ELF and Mach-O need no extension
			v.Hashes = append(v.Hashes, sysmonHashes(f)...)
			dates["process_creation"] = append(dates["process_creation"], f.Expires)
		case f.Role == report.RoleDropped && executable && f.PathTail != "":
			v.Images = append(v.Images, f.PathTail)
			dates["process_creation"] = append(dates["process_creation"], f.Expires)
		case f.Role == report.RoleDropped && executable:
			v.Images = append(v.Images, `\`+f.Name)
			nameOnly = true
			dates["process_creation"] = append(dates["process_creation"], f.Expires)
		}
		if f.Role == report.RoleDropped && f.PathTail != "" {
			v.Dropped = append(v.Dropped, f.PathTail)
			dates["file_event"] = append(dates["file_event"], f.Expires)
		}
	}
	for _, h := range r.Imphashes {
		v.Hashes = append(v.Hashes, "IMPHASH="+strings.ToUpper(h.Value))
		dates["process_creation"] = append(dates["process_creation"], h.Expires)
	}
	for _, l := range []*[]string{&v.Hashes, &v.Images, &v.Dropped} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	tags := sigmaTags(r)
	v.Category = map[string]*sigmaRule{}
	for name, c := range sigmaCategories {
		rule := &sigmaRule{Write: c.detects(&v) && (v.Windows || !c.windowsOnly), Product: product, Level: "high", Tags: tags[name], Expires: LastExpiry(dates[name])}
		if c.anyProduct {
			rule.Product = ""
		}
		if c.parentDomains {
			rule.Subdomains = prefixAll(".", v.Domains)
		}
		v.Category[name] = rule
	}
	if len(v.Endpoints) == 0 && len(v.Domains) == 0 {
		v.Category["network_connection"].Level = "medium" // bare IPs get reassigned
	}
	if nameOnly {
		v.Category["process_creation"].Level = "medium" // a file name alone is shared by benign programs
	}
	return v
}

// sysmonHashes writes a file's hashes as Sysmon's Hashes field holds them.
func sysmonHashes(f report.File) []string {
	var out []string
	for _, h := range []struct{ algo, v string }{{"MD5", f.MD5}, {"SHA1", f.SHA1}, {"SHA256", f.SHA256}} {
		if h.v != "" {
			out = append(out, h.algo+"="+strings.ToUpper(h.v))
		}
	}
	return out
}

// SigmaMaxValues is the most values one field of a Sigma selection lists; longer lists go into
// further selections (selection_domain_2, ...), as SigmaHQ splits long IOC lists, and
// `rulegen lint` warns about fields listing more.
const SigmaMaxValues = 100

// References are the report's links. A report without one still names its source, as rule
// style guides ask: the MISP event or STIX report by uuid, or "Internal Research" for an
// analyst's rendering.
func References(r *report.Normalized) []string {
	switch {
	case len(r.References) > 0:
		return r.References
	case r.Format == report.FormatMISP:
		return []string{"MISP event " + r.ID}
	case r.Format == report.FormatSTIX:
		return []string{"STIX report " + r.ID}
	}
	return []string{"Internal Research"}
}

// sigmaTLP maps TLPv2 names to Sigma's tlp.* tags.
var sigmaTLP = map[string]string{"clear": "tlp.clear", "green": "tlp.green", "amber": "tlp.amber", "amber+strict": "tlp.amber-strict", "red": "tlp.red"}

// sigmaTags are each category's tags. A rule is tagged with the report's techniques of the
// tactics its category observes, and with every tactic of each technique it tags (SigmaHQ's
// convention): the DNS rule of a report that lists a Run key (T1547.001, persistence) does not
// claim it, so coverage maps built from tags stay right. A technique no rule observes stays in
// the YARA rules' mitre_attack meta as report context.
func sigmaTags(r *report.Normalized) map[string][]string {
	out := map[string][]string{}
	for category, c := range sigmaCategories {
		observed := c.tactics
		var tactics, techniques []string
		for _, t := range r.Techniques {
			if !slices.ContainsFunc(t.Tactics, func(tactic string) bool { return slices.Contains(observed, tactic) }) {
				continue
			}
			techniques = append(techniques, "attack."+strings.ToLower(t.ID))
			for _, tactic := range t.Tactics {
				tactics = append(tactics, "attack."+tactic)
			}
		}
		slices.Sort(tactics)
		tags := append(slices.Compact(tactics), techniques...)
		tags = append(tags, "detection.emerging-threats")
		if tlp := sigmaTLP[r.TLP]; tlp != "" {
			tags = append(tags, tlp)
		}
		out[category] = tags
	}
	return out
}

// SigmaString writes a value as a YAML scalar that a Sigma engine reads as exactly that
// literal value: Sigma's wildcards * and ? are escaped with a backslash, a backslash that
// would otherwise escape the next character is doubled, and the result is single-quoted YAML
// (double-quoted with escapes when it holds control characters or invalid UTF-8).
func SigmaString(s string) string {
	if !strings.ContainsAny(s, `*?\`) { // most values: nothing to escape, no copy
		return yamlQuote(s)
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '*' || c == '?':
			b.WriteByte('\\')
		case c == '\\' && (i+1 == len(s) || strings.IndexByte(`*?\`, s[i+1]) >= 0):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return yamlQuote(b.String())
}

func yamlQuote(s string) string {
	plain := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\ufeff' || r == '\u2028' || r == '\u2029'
	})
	if plain {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	// YAML double-quoted escapes: \xNN here is a code point, so invalid UTF-8 bytes are
	// written as the replacement character rather than guessed at.
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsControl(r) || r == '\ufeff' || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// SigmaText quotes free text (titles, descriptions) for YAML without Sigma escaping: these
// fields are not matched against events.
func SigmaText(s string) string { return yamlQuote(s) }

// sigmaPath is where a Sigma entry template's rule goes: one directory per report, named as
// SigmaHQ names rules, with the platform in the name (_win_, _lnx_, _macos_).
func sigmaPath(entry, slug, platform string) string {
	name := strings.TrimSuffix(path.Base(entry), ".tmpl")
	if short := platformShort[platform]; short != "" {
		name = strings.Replace(name, "_win_", "_"+short+"_", 1)
	}
	return path.Join("sigma", slug, SigmaFileName(name, slug))
}

// maxSigmaStem is the longest file name SigmaHQ's tools accept (90 characters), .yml aside.
const maxSigmaStem = 90 - len(".yml")

var shortIDTail = regexp.MustCompile(`_[0-9a-f]{8}$`)

// SigmaFileName names a report's rule file: the rule's kind, log source prefix first, then the
// report's slug, because SigmaHQ's tools want a file name used once in a whole repository. A
// slug too long to fit is cut, keeping its short id, or adding one made from the whole slug, so
// that two cut slugs stay apart.
func SigmaFileName(kind, slug string) string {
	room := maxSigmaStem - len(kind) - 1
	if len(slug) > room {
		tail := shortIDTail.FindString(slug)
		if tail == "" {
			sum := sha256.Sum256([]byte(slug))
			tail = "_" + hex.EncodeToString(sum[:4])
		}
		slug = strings.TrimPrefix(strings.TrimRight(slug[:max(room-len(tail), 0)], "_")+tail, "_")
	}
	return kind + "_" + slug + ".yml"
}

// titleStem is what a report's rule titles start with: its title in title case, with the
// report's short id when its slug carries one (see slugShortID), as SigmaHQ's tools want titles
// unique in a repository.
func titleStem(r *report.Normalized) string {
	short := slugShortID(r)
	if short == "" {
		return TitleCase(cutRunes(r.Title, maxTitleStem))
	}
	qualifier := " (" + strings.ToUpper(short) + ")" // upper case: SigmaHQ's title check passes no lower-case word
	return TitleCase(cutRunes(r.Title, maxTitleStem-len(qualifier))) + qualifier
}

// maxTitleStem leaves room in a MaxTitle title for the longest kind a bundled template appends
// (" - C2 Connection in Firewall Logs") and the ellipsis of a cut.
const maxTitleStem = MaxTitle - 34

// titleSmallWords stay lower case inside a title, as SigmaHQ writes titles.
var titleSmallWords = map[string]bool{"a": true, "an": true, "and": true, "as": true, "at": true, "by": true,
	"for": true, "from": true, "in": true, "new": true, "of": true, "on": true, "or": true, "over": true,
	"the": true, "through": true, "to": true, "via": true, "with": true, "without": true}

// TitleCase capitalises the lower-case words of a title, as SigmaHQ's titles are written (see
// MiscasedTitleWord), and a small word that starts it. Words already holding a capital (APT28,
// iOS) stay as they are.
func TitleCase(title string) string {
	words := strings.Split(title, " ")
	for i, w := range words {
		if MiscasedTitleWord(w) || (i == 0 && allLower(w) && titleSmallWords[w]) {
			words[i] = upperFirst(w)
		}
	}
	return strings.Join(words, " ")
}

// MiscasedTitleWord says whether SigmaHQ's title-case check flags a word of a title (split on
// spaces): all lower case, and neither a small word nor a name as written (a domain, a path, a
// file name: one with '.', '/' or '_') nor starting with a digit.
func MiscasedTitleWord(w string) bool {
	return allLower(w) && !titleSmallWords[w] && !strings.ContainsAny(w, "./_") && !unicode.IsDigit(firstRune(w))
}

// MaxTitle is the longest title SigmaHQ's tools accept.
const MaxTitle = 120

// SigmaFileNameOK says whether a rule file's name is as SigmaHQ's tools want it: lower-case
// letters, digits and underscores, at least one underscore, 10 to 90 characters with .yml.
func SigmaFileNameOK(name string) bool {
	return sigmaFileNamePattern.MatchString(name) && len(name) >= 10 && len(name) <= maxSigmaStem+len(".yml")
}

var sigmaFileNamePattern = regexp.MustCompile(`^[a-z0-9_]*_[a-z0-9_]*\.yml$`)

// allLower says whether w has a character with case and no capital: Python's str.islower,
// which SigmaHQ's validator applies, and which counts Unicode's Other_Lowercase (ª, ⓐ) too.
func allLower(w string) bool {
	cased := false
	for _, r := range w {
		switch {
		case unicode.IsUpper(r) || unicode.IsTitle(r) || unicode.Is(unicode.Other_Uppercase, r):
			return false
		case unicode.IsLower(r) || unicode.Is(unicode.Other_Lowercase, r):
			cased = true
		}
	}
	return cased
}

// HasCapitalForm says whether a character of w has a capital form: a word without one (ß,
// ª) stays in lower case whatever TitleCase does.
func HasCapitalForm(w string) bool {
	return strings.IndexFunc(w, func(r rune) bool { return unicode.ToTitle(r) != r }) >= 0
}

// upperFirst capitalises the first character that has a capital form.
func upperFirst(w string) string {
	for i, r := range w {
		if up := unicode.ToTitle(r); up != r {
			return w[:i] + string(up) + w[i+utf8.RuneLen(r):]
		}
	}
	return w
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

var platformShort = map[string]string{"linux": "lnx", "macos": "macos"}

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n])) + "…"
}
