// Package normalize decides what gets detected: it checks every value a parser found, skips
// (with a reason) what cannot become a safe rule, generalises paths and registry keys, maps
// ATT&CK ids to current ones, and sorts and deduplicates so output is deterministic.
package normalize

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/report"
)

// ErrReport marks a report that cannot be normalised as a whole (no date, no title).
var ErrReport = errors.New("invalid report")

// Report fills r's typed indicators from its attributes and objects. It fails only when the
// report as a whole is unusable; bad values are recorded in r.Skipped.
func Report(r *report.Report) error {
	if err := identify(r); err != nil {
		return err
	}
	classifyTags(r)
	for _, a := range r.Attributes {
		attribute(r, a)
	}
	for _, o := range r.Objects {
		object(r, o)
	}
	tidy(r)
	return nil
}

func identify(r *report.Report) error {
	pos := report.Pos{File: r.Source}
	if strings.TrimSpace(r.Title) == "" {
		return fmt.Errorf("%s: report has no title (%w)", pos, ErrReport)
	}
	if _, err := time.Parse(time.DateOnly, r.Date); err != nil {
		return fmt.Errorf("%s: report date %q: want YYYY-MM-DD (rules are dated by their report, never by the clock) (%w)", pos, r.Date, ErrReport)
	}
	if r.ID == "" {
		// Markdown renderings carry no event uuid; title and date identify the report, and unlike
		// a content hash they survive a typo fix elsewhere in the file.
		r.ID = report.StableID("report", r.Date, r.Title)
	}
	if r.Slug == "" {
		r.Slug = Slug(r.Title, r.ID)
	}
	return nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// Slug turns a title into a file-name-safe [a-z0-9_] name of at most 60 characters.
func Slug(title, id string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "_"), "_")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "_")
	}
	if s == "" { // a title in a script without [a-z0-9], e.g. Cyrillic
		s = "report_" + report.ShortID(id)
	}
	return s
}

// attribute handles one attribute outside objects (or inside an object that is not a file).
func attribute(r *report.Report, a report.Attribute) {
	if isPlaceholder(a.Value) {
		r.Skip(a, "placeholder, not a value")
		return
	}
	kind, second, composite := strings.Cut(a.Type, "|")
	switch {
	case a.Type == "link":
		reference(r, a)
	case hashLengths[a.Type] > 0:
		hashFile(r, a, "", a.Type, a.Value)
	case composite && kind == "filename" && hashLengths[second] > 0:
		name, hash, _ := strings.Cut(a.Value, "|")
		hashFile(r, a, name, second, hash)
	case a.Type == "malware-sample":
		name, hash, _ := strings.Cut(a.Value, "|")
		hashFile(r, a, name, "md5", hash)
	case a.Type == "filename":
		if name, err := checkFileName(a.Value); err != nil {
			r.Skip(a, err.Error())
		} else {
			r.Files = append(r.Files, report.File{Name: name, Role: "dropped", Pos: a.Pos})
		}
	case a.Type == "regkey" || a.Type == "regkey|value":
		key, data, _ := strings.Cut(a.Value, "|")
		registry(r, a, key, data)
	case a.Type == "domain" || a.Type == "hostname":
		domain(r, a, a.Value)
	case a.Type == "domain|ip":
		d, ip, _ := strings.Cut(a.Value, "|")
		domain(r, a, d)
		endpoint(r, a, ip, "")
	case a.Type == "ip-dst" || a.Type == "ip-src":
		endpoint(r, a, a.Value, "")
	case a.Type == "ip-dst|port" || a.Type == "ip-src|port":
		ip, port, _ := strings.Cut(a.Value, "|")
		endpoint(r, a, ip, port)
	case a.Type == "url":
		url(r, a)
	case a.Type == "mutex":
		if m := strings.TrimSpace(a.Value); len(m) < 6 {
			r.Skip(a, "mutex name shorter than 6 characters is too common")
		} else {
			r.Mutexes = append(r.Mutexes, report.Indicator{Value: m, Pos: a.Pos})
		}
	default:
		r.Skip(a, skipReason(a.Type))
	}
}

// skipReason explains why a type rulegen reads has no rule.
func skipReason(typ string) string {
	switch typ {
	case "text", "comment", "other":
		return "free text, not an indicator"
	case "sha512", "sha224", "sha384", "ssdeep", "tlsh", "imphash", "authentihash", "pehash", "impfuzzy",
		"filename|sha512", "filename|ssdeep", "filename|imphash", "filename|tlsh", "filename|authentihash":
		return "hash type not rendered (rulegen writes md5, sha1 and sha256)"
	case "size-in-bytes":
		return "file size outside a file object"
	}
	return "unsupported attribute type"
}

func reference(r *report.Report, a report.Attribute) {
	v := refang(a.Value)
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		r.Skip(a, "reference link is not an http(s) URL")
		return
	}
	r.References = append(r.References, v)
}

func hashFile(r *report.Report, a report.Attribute, name, kind, hash string) {
	f := report.File{Role: "sample", Pos: a.Pos}
	if err := setHash(&f, kind, hash); err != nil {
		r.Skip(a, err.Error())
		return
	}
	if name != "" {
		if n, err := checkFileName(name); err == nil {
			f.Name = n
		}
	}
	r.Files = append(r.Files, f)
}

func setHash(f *report.File, kind, v string) error {
	if isPlaceholder(v) {
		return errors.New("placeholder, not a value")
	}
	h, err := checkHash(kind, v)
	if err != nil {
		return err
	}
	slot := map[string]*string{"md5": &f.MD5, "sha1": &f.SHA1, "sha256": &f.SHA256}[kind]
	if *slot != "" && *slot != h {
		return fmt.Errorf("second, different %s for one file", kind)
	}
	*slot = h
	return nil
}

func registry(r *report.Report, a report.Attribute, key, data string) {
	hive, path, ok := splitRegistryKey(key)
	if !ok {
		r.Skip(a, "registry key without a known hive (HKLM, HKCU, HKU, HKCR)")
		return
	}
	parent, name := path, ""
	if i := strings.LastIndex(path, `\`); i >= 0 {
		parent, name = path[:i], path[i+1:]
	}
	v := report.RegistryValue{
		Hive: hive, Key: parent, Name: name, Data: strings.TrimSpace(data),
		KeyTail: keyTail(parent), DataTail: pathTail(data), Pos: a.Pos,
	}
	v.Specific = len(name) >= 4 && !genericValueNames[strings.ToLower(name)]
	if !v.Specific && v.DataTail == "" {
		r.Skip(a, "registry value name is too generic and its data is not a file path")
		return
	}
	r.Registry = append(r.Registry, v)
}

func domain(r *report.Report, a report.Attribute, v string) {
	d, err := checkDomain(v)
	if err != nil {
		r.SkipPart(a, v, err.Error())
		return
	}
	ind := report.Indicator{Value: d, Pos: a.Pos}
	if a.Type == "hostname" {
		r.Hostnames = append(r.Hostnames, ind)
	} else {
		r.Domains = append(r.Domains, ind)
	}
}

func endpoint(r *report.Report, a report.Attribute, ip, port string) {
	addr, err := checkIP(ip)
	if err != nil {
		r.SkipPart(a, ip, err.Error())
		return
	}
	e := report.Endpoint{IP: addr, Pos: a.Pos}
	if port != "" {
		if e.Port, err = checkPort(port); err != nil {
			r.Skip(a, err.Error())
			return
		}
	}
	r.Endpoints = append(r.Endpoints, e)
}

func url(r *report.Report, a report.Attribute) {
	v := refang(a.Value)
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok || scheme == "" || rest == "" {
		r.Skip(a, "not a URL: want scheme://host/...")
		return
	}
	host := rest
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if _, err := checkDomain(host); err != nil {
		if _, ipErr := checkIP(strings.Trim(host, "[]")); ipErr != nil {
			r.Skip(a, "URL host: "+err.Error())
			return
		}
	}
	r.URLs = append(r.URLs, report.Indicator{Value: v, Pos: a.Pos})
}

// tidy sorts and deduplicates every list so that the same input renders the same bytes.
func tidy(r *report.Report) {
	r.References = sortedUnique(r.References)
	for _, l := range []*[]report.Indicator{&r.Domains, &r.Hostnames, &r.URLs, &r.Mutexes} {
		slices.SortFunc(*l, func(a, b report.Indicator) int { return strings.Compare(a.Value, b.Value) })
		*l = slices.CompactFunc(*l, func(a, b report.Indicator) bool { return a.Value == b.Value })
	}
	slices.SortFunc(r.Endpoints, func(a, b report.Endpoint) int {
		return cmp.Or(netip.MustParseAddr(a.IP).Compare(netip.MustParseAddr(b.IP)), cmp.Compare(a.Port, b.Port))
	})
	r.Endpoints = slices.CompactFunc(r.Endpoints, func(a, b report.Endpoint) bool { return a.IP == b.IP && a.Port == b.Port })
	slices.SortFunc(r.Files, func(a, b report.File) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.SHA256, b.SHA256),
			strings.Compare(a.SHA1, b.SHA1), strings.Compare(a.MD5, b.MD5), strings.Compare(a.Path, b.Path), cmp.Compare(a.Size, b.Size))
	})
	r.Files = slices.CompactFunc(r.Files, func(a, b report.File) bool {
		return a.Name == b.Name && a.SHA256 == b.SHA256 && a.SHA1 == b.SHA1 && a.MD5 == b.MD5 && a.Path == b.Path && a.Size == b.Size
	})
	slices.SortFunc(r.Registry, func(a, b report.RegistryValue) int {
		return cmp.Or(strings.Compare(a.Hive, b.Hive), strings.Compare(a.Key, b.Key), strings.Compare(a.Name, b.Name), strings.Compare(a.Data, b.Data))
	})
	r.Registry = slices.CompactFunc(r.Registry, func(a, b report.RegistryValue) bool {
		return a.Hive == b.Hive && a.Key == b.Key && a.Name == b.Name && a.Data == b.Data
	})
	slices.SortStableFunc(r.Skipped, func(a, b report.Skipped) int {
		return cmp.Or(strings.Compare(a.Source.File, b.Source.File), cmp.Compare(a.Source.Line, b.Source.Line), strings.Compare(a.Source.Path, b.Source.Path))
	})
}
