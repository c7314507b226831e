// Package normalize decides what gets detected: it checks every value a parser found, skips
// (with a reason) what cannot become a safe rule, generalises paths and registry keys, maps
// ATT&CK ids to current ones, and sorts and deduplicates so output is deterministic.
package normalize

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/normalize/warninglist"
	"github.com/rulegen/rulegen/generate/report"
)

// ErrReport marks a report that cannot be normalised as a whole (no date, no title).
var ErrReport = errors.New("invalid report")

// Options are the policies a run applies to every report.
type Options struct {
	// AllAttributes uses attributes that are not flagged for detection (MISP to_ids false).
	AllAttributes bool
	// Warninglists hold well-known benign values; a value on one is skipped, naming the list.
	// Not part of pipeline's cache key: there they come from the binary and WarninglistDirs,
	// and a run given lists as a value keeps no cache.
	Warninglists *warninglist.Set `cache:"-"`
	// MaxValueBytes is the longest value that may become a rule; longer values are skipped.
	// 0 means DefaultMaxValueBytes.
	MaxValueBytes int
	// MaxFullC2 is the most domains, addresses and URLs a report may list and still have YARA
	// look for them in ASCII and UTF-16, in any case; beyond, the report is a blocklist and
	// they are matched as listed, in ASCII (report.BulkC2). Unset, it is DefaultMaxFullC2;
	// EveryReportBulk makes every report a blocklist.
	MaxFullC2 int
	// Expiry drops indicators whose lifetime has passed and dates the others. generate settles
	// an empty date or a nil policy against what the output directory's last run recorded.
	Expiry Expiry
}

// EveryReportBulk, as MaxFullC2, makes every report a blocklist (--yara-bulk-c2 0): for feeds
// of many small reports, whose values add up in the scanner that loads them all.
const EveryReportBulk = -1

// maxFullC2 is the MaxFullC2 in effect: DefaultMaxFullC2 when unset.
func (o Options) maxFullC2() int { return cmp.Or(o.MaxFullC2, DefaultMaxFullC2) }

// BulkLimit is MaxFullC2 as --yara-bulk-c2 states it: 0 when every report is a blocklist.
func (o Options) BulkLimit() int { return max(o.maxFullC2(), 0) }

// DefaultMaxFullC2 is the default of Options.MaxFullC2. Campaign reports list tens of C2
// values and keep full matching; a blocklist of 10,000 domains as `ascii wide nocase` strings
// costs YARA several times an empty ruleset's scan time, `ascii` alone far less
// (docs/scan-cost.md).
const DefaultMaxFullC2 = 1000

// DefaultMaxValueBytes is the default of Options.MaxValueBytes: longer than any domain, URL,
// path or registry value a rule should hold, short of what a pasted document would be.
const DefaultMaxValueBytes = 8192

// maxTitleRunes keeps titles, which every rule repeats in its meta and description, readable.
const maxTitleRunes = 500

// Reasons shared by the skip list and the run summary.
const (
	ReasonNotFlagged  = "not flagged for detection (to_ids is false; --all-attributes includes it)"
	ReasonDeleted     = "deleted in MISP"
	ReasonPlaceholder = "placeholder, not a value"
)

// normalizer holds one report and the run's options while its attributes are read.
type normalizer struct {
	r    *report.Normalized
	opts Options
}

// Report finds in a parsed report what gets detected: its indicators, from its attributes and
// objects, its names and context settled. It fails only when the report as a whole is unusable;
// bad values are listed in Skipped. parsed is left as it is.
func Report(parsed *report.Report, opts Options) (*report.Normalized, error) {
	own := *parsed
	own.Objects = slices.Clone(parsed.Objects)
	return Consume(&own, opts)
}

// Consume is Report for a parsed report nothing reads after: each object's attributes are let
// go once read, and parsed keeps none. A bulk list's parsed form (an object and its attribute
// structs per line) outweighs its normalised indicators threefold, and the two need not live
// side by side.
func Consume(parsed *report.Report, opts Options) (*report.Normalized, error) {
	r := &report.Normalized{Report: *parsed}
	parsed.Attributes, parsed.Objects = nil, nil
	if err := identify(r); err != nil {
		return nil, err
	}
	resolveContext(r)
	if opts.MaxValueBytes <= 0 {
		opts.MaxValueBytes = DefaultMaxValueBytes
	}
	// What reads the parsed values as a whole reads them before they go.
	e, expiring := newExpirer(r, opts.Expiry)
	r.Platform = platform(r)
	r.Unflagged = nothingFlagged(&r.Report)
	n := &normalizer{r: r, opts: opts}
	// A bulk list is a million file objects: its files are allocated once, not grown.
	r.Files = slices.Grow(r.Files, countObjects(r.Objects, "file"))
	for _, a := range r.Attributes {
		n.attribute(a)
	}
	for i := range r.Objects {
		n.object(r.Objects[i])
		r.Objects[i] = report.Object{}
	}
	r.Attributes, r.Objects = nil, nil
	if expiring {
		e.expire()
	}
	tidy(r)
	r.BulkC2 = r.C2Count() > opts.maxFullC2()
	return r, nil
}

// countObjects counts the objects of a kind.
func countObjects(objects []report.Object, name string) int {
	n := 0
	for _, o := range objects {
		if o.Name == name {
			n++
		}
	}
	return n
}

// nothingFlagged says whether a report has attributes but flags none of them for detection.
func nothingFlagged(r *report.Report) bool {
	n, flagged := 0, false
	count := func(attrs []report.Attribute) {
		for _, a := range attrs {
			n++
			flagged = flagged || a.ToIDS
		}
	}
	count(r.Attributes)
	for _, o := range r.Objects {
		count(o.Attributes)
	}
	return n > 0 && !flagged
}

func identify(r *report.Normalized) error {
	pos := report.Pos{File: r.Source}
	if strings.TrimSpace(r.Title) == "" {
		return fmt.Errorf("%s: report has no title (%w)", pos, ErrReport)
	}
	if _, err := time.Parse(time.DateOnly, r.Date); err != nil {
		return fmt.Errorf("%s: report date %q: want YYYY-MM-DD (rules are dated by their report, never by the clock) (%w)", pos, r.Date, ErrReport)
	}
	r.DerivedID = r.ID == ""
	switch {
	case r.ID == "" && r.DatedByRun:
		// Dated by the run, not by itself: the title alone identifies it, whatever day a
		// checkout first made its rules.
		r.ID = report.StableID("report", "undated", r.Title)
	case r.ID == "":
		// Markdown renderings carry no event uuid; title and date identify the report, and unlike
		// a content hash they survive a typo fix elsewhere in the file.
		r.ID = report.StableID("report", r.Date, r.Title)
	}
	if runes := []rune(r.Title); len(runes) > maxTitleRunes {
		r.Title = string(runes[:maxTitleRunes]) + "…" // after the id: a markdown id hashes the whole title
	}
	r.Slug = reportSlug(r)
	return nil
}

// attribute handles one attribute outside objects (or inside an object that is not a file).
func (n *normalizer) attribute(a report.Attribute) {
	r := n.r
	switch {
	case a.Deleted:
		r.Skip(a, ReasonDeleted)
		return
	case a.Unusable != "":
		r.Skip(a, a.Unusable)
		return
	case strings.TrimSpace(a.Value) == "":
		r.Skip(a, "empty value")
		return
	case n.tooLong(a):
		return
	case isPlaceholder(a.Value):
		r.Skip(a, ReasonPlaceholder)
		return
	case a.Type == "link":
		reference(r, a) // a reference, not an indicator: to_ids does not apply
		return
	case !indicatorType(a.Type):
		r.Skip(a, skipReason(a.Type))
		return
	case !a.ToIDS && !n.opts.AllAttributes:
		r.Skip(a, ReasonNotFlagged)
		return
	}
	mispTypes[a.Type](n, a)
}

// mispTypes is every MISP attribute type rulegen writes rules for, with what reads its value.
var mispTypes = map[string]func(*normalizer, report.Attribute){
	"md5":              sampleHash,
	"sha1":             sampleHash,
	"sha256":           sampleHash,
	"filename|md5":     namedSampleHash,
	"filename|sha1":    namedSampleHash,
	"filename|sha256":  namedSampleHash,
	"malware-sample":   namedSampleHash,
	"filename":         droppedFile,
	"regkey":           registryValue,
	"regkey|value":     registryValue,
	"domain":           domain,
	"hostname":         domain,
	"domain|ip":        domainAndIP,
	"ip-dst":           endpoint,
	"ip-src":           endpoint,
	"ip-dst|port":      endpoint,
	"ip-src|port":      endpoint,
	"url":              (*normalizer).url,
	"yara":             func(n *normalizer, a report.Attribute) { n.r.YARARules = append(n.r.YARARules, a) },
	"sigma":            func(n *normalizer, a report.Attribute) { n.r.SigmaRules = append(n.r.SigmaRules, a) },
	"imphash":          imphash,
	"filename|imphash": imphash,
	"mutex":            mutex,
}

// indicatorType says whether rulegen writes rules for an attribute type.
func indicatorType(typ string) bool { return mispTypes[typ] != nil }

func sampleHash(n *normalizer, a report.Attribute) { n.hashFile(a, "", a.Type, a.Value) }

// namedSampleHash reads "name|hash"; a MISP malware-sample's hash is its MD5.
func namedSampleHash(n *normalizer, a report.Attribute) {
	name, hash, _ := strings.Cut(a.Value, "|")
	_, kind, _ := strings.Cut(a.Type, "|")
	if a.Type == "malware-sample" {
		kind = "md5"
	}
	n.hashFile(a, name, kind, hash)
}

func droppedFile(n *normalizer, a report.Attribute) {
	if name, err := checkFileName(a.Value); err != nil {
		n.r.Skip(a, err.Error())
	} else {
		n.r.Files = append(n.r.Files, report.File{Name: name, Role: report.RoleDropped, Pos: a.Pos})
	}
}

func registryValue(n *normalizer, a report.Attribute) {
	key, data, _ := strings.Cut(a.Value, "|")
	registry(n.r, a, key, data)
}

func domain(n *normalizer, a report.Attribute) { n.domain(a, a.Type, a.Value) }

func domainAndIP(n *normalizer, a report.Attribute) {
	d, ip, _ := strings.Cut(a.Value, "|")
	n.domain(a, "domain", d)
	n.endpoint(a, ip, "")
}

// endpoint reads an address, or "address|port" for the |port types.
func endpoint(n *normalizer, a report.Attribute) {
	if !strings.HasSuffix(a.Type, "|port") {
		n.endpoint(a, a.Value, "")
		return
	}
	ip, port, _ := strings.Cut(a.Value, "|")
	n.endpoint(a, ip, port)
}

func imphash(n *normalizer, a report.Attribute) {
	v := a.Value
	if strings.HasPrefix(a.Type, "filename|") {
		_, v, _ = strings.Cut(a.Value, "|")
	}
	if h, err := checkImphash(v); err != nil {
		n.r.Skip(a, err.Error())
	} else {
		n.r.Imphashes = append(n.r.Imphashes, report.Indicator{Value: h, Pos: a.Pos})
	}
}

func mutex(n *normalizer, a report.Attribute) {
	if m, err := checkMutex(a.Value); err != nil {
		n.r.Skip(a, err.Error())
	} else {
		n.r.Mutexes = append(n.r.Mutexes, report.Indicator{Value: m, Pos: a.Pos})
	}
}

// skipReason explains why a type rulegen reads has no rule.
func skipReason(typ string) string {
	switch typ {
	case "text", "comment", "other":
		return "free text, not an indicator"
	case "sha512", "sha224", "sha384", "sha512/224", "sha512/256", "sha3-256", "sha3-512",
		"filename|sha512", "filename|sha224", "filename|sha384":
		return "hash type neither format can express: YARA's hash module has md5, sha1, sha256; Sysmon's Hashes field has no " + strings.TrimPrefix(typ, "filename|")
	case "ssdeep", "tlsh", "impfuzzy", "filename|ssdeep", "filename|tlsh":
		return "fuzzy hash: YARA has no module for it and Sysmon does not log it"
	case "authentihash", "pehash", "filename|authentihash", "filename|pehash":
		return "PE hash not rendered yet (YARA needs the pe module; rulegen writes md5, sha1 and sha256)"
	case "email", "email-src", "email-dst":
		return "e-mail address: rules for files and endpoint logs do not see mail"
	case "":
		return "attribute without a type"
	case "size-in-bytes":
		return "file size outside a file object"
	}
	return "unsupported attribute type"
}

func reference(r *report.Normalized, a report.Attribute) {
	v := defang.Refang(a.Value)
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		r.Skip(a, "reference link is not an http(s) URL")
		return
	}
	r.References = append(r.References, v)
}

func (n *normalizer) hashFile(a report.Attribute, name, kind, hash string) {
	r := n.r
	f := report.File{Role: report.RoleSample, Pos: a.Pos}
	if err := n.setHash(&f, kind, hash); err != nil {
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

func (n *normalizer) setHash(f *report.File, kind, v string) error {
	if isPlaceholder(v) {
		return errors.New(ReasonPlaceholder)
	}
	h, err := checkHash(kind, v)
	if err != nil {
		return err
	}
	if err := n.warninglisted(kind, h); err != nil {
		return err
	}
	slot := map[string]*string{"md5": &f.MD5, "sha1": &f.SHA1, "sha256": &f.SHA256}[kind]
	if *slot != "" && *slot != h {
		return fmt.Errorf("second, different %s for one file", kind)
	}
	*slot = h
	return nil
}

func registry(r *report.Normalized, a report.Attribute, key, data string) {
	hive, path, ok := splitRegistryKey(key)
	if !ok {
		r.Skip(a, "registry key without a known hive (HKLM, HKCU, HKU, HKCR)")
		return
	}
	data = strings.TrimSpace(data)
	parent, name := path, ""
	if i := strings.LastIndex(path, `\`); i >= 0 {
		parent, name = path[:i], path[i+1:]
	}
	v := report.RegistryValue{Hive: hive, Key: parent, Name: name, Data: data, DataTail: pathTail(data), Pos: a.Pos}
	keyOnly := strings.HasSuffix(strings.TrimSpace(key), `\`) && data == ""
	if keyOnly || autostartKeys[strings.ToLower(name)] {
		// The report names a key, not a value: "...\Run" with the data it starts, or a key
		// of the malware's own ending in a backslash. Any value set under it counts.
		v.Key, v.Name, v.AnyValue = path, "", true
	}
	v.KeyTail = keyTail(v.Key)
	switch {
	case v.AnyValue && v.DataTail == "" && !ownKey(v.KeyTail):
		r.Skip(a, "registry key shared by many programs, without a value name or a data path")
		return
	case v.AnyValue:
		v.Specific = v.DataTail == ""
	default:
		v.Specific = len(name) >= 4 && !genericValueNames[strings.ToLower(name)]
		if !v.Specific && v.DataTail == "" {
			r.Skip(a, "registry value name is too generic and its data is not a file path")
			return
		}
	}
	r.Registry = append(r.Registry, v)
}

// domain adds a domain or hostname; kind is "domain" or "hostname" whatever the attribute's
// type (the domain of a "domain|ip").
func (n *normalizer) domain(a report.Attribute, kind, v string) {
	r := n.r
	d, err := checkDomain(v)
	if err == nil {
		err = n.warninglisted(kind, d)
	}
	if err != nil {
		r.SkipPart(a, v, err.Error())
		return
	}
	ind := report.Indicator{Value: d, Pos: a.Pos}
	if kind == "hostname" {
		r.Hostnames = append(r.Hostnames, ind)
	} else {
		r.Domains = append(r.Domains, ind)
	}
}

func (n *normalizer) endpoint(a report.Attribute, ip, port string) {
	r := n.r
	addr, err := checkIP(ip)
	if err == nil {
		kind := "ip-dst"
		if strings.HasPrefix(a.Type, "ip-src") {
			kind = "ip-src"
		}
		err = n.warninglisted(kind, addr)
	}
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

func (n *normalizer) url(a report.Attribute) {
	r := n.r
	v := defang.Refang(a.Value)
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok && !strings.ContainsAny(v, " \t:") && strings.Contains(v, "/") {
		// host/path: publications list C2 URLs without their scheme; the rule looks for them
		// as listed, under either scheme.
		scheme, rest, ok = "any", v, true
	}
	if !ok || scheme == "" || rest == "" {
		r.Skip(a, "not a URL: want scheme://host/... or host/path")
		return
	}
	host, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:] // user:password@
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i] // :port
	}
	if strings.Trim(path, "/") == "" {
		r.Skip(a, "URL without a path is no more specific than its host")
		return
	}
	if strings.Contains(v, `\`) {
		// RFC 3986 has no backslash; one in a report is an escaping mistake (\%D0 for %D0),
		// and a rule for it would never see the request that was made.
		r.Skip(a, "URL with a backslash: no request has one (an escaping mistake in the report?)")
		return
	}
	if _, err := checkDomain(host); err != nil {
		if _, ipErr := checkIP(strings.Trim(host, "[]")); ipErr != nil {
			r.Skip(a, "URL host: "+err.Error())
			return
		}
	}
	if err := n.warninglisted("url", v); err != nil {
		r.Skip(a, err.Error())
		return
	}
	r.URLs = append(r.URLs, report.Indicator{Value: v, Pos: a.Pos})
}

// warninglisted returns an error naming the warninglist that holds value, or nil.
func (n *normalizer) warninglisted(kind, value string) error {
	if name, ok := n.opts.Warninglists.Match(kind, value); ok {
		return fmt.Errorf("on warninglist %q", name)
	}
	return nil
}

// tidy sorts and deduplicates every list so that the same input renders the same bytes.
func tidy(r *report.Normalized) {
	r.References = sortedUnique(r.References)
	// Of a value listed twice, the copy that expires last is kept.
	for _, l := range []*[]report.Indicator{&r.Domains, &r.Hostnames, &r.URLs, &r.Mutexes, &r.Imphashes} {
		slices.SortFunc(*l, func(a, b report.Indicator) int {
			return cmp.Or(strings.Compare(a.Value, b.Value), laterFirst(a.Expires, b.Expires))
		})
		*l = slices.CompactFunc(*l, func(a, b report.Indicator) bool { return a.Value == b.Value })
	}
	slices.SortFunc(r.Endpoints, func(a, b report.Endpoint) int {
		return cmp.Or(netip.MustParseAddr(a.IP).Compare(netip.MustParseAddr(b.IP)), cmp.Compare(a.Port, b.Port), laterFirst(a.Expires, b.Expires))
	})
	r.Endpoints = slices.CompactFunc(r.Endpoints, func(a, b report.Endpoint) bool { return a.IP == b.IP && a.Port == b.Port })
	slices.SortFunc(r.Files, func(a, b report.File) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.SHA256, b.SHA256),
			strings.Compare(a.SHA1, b.SHA1), strings.Compare(a.MD5, b.MD5), strings.Compare(a.Path, b.Path), cmp.Compare(a.Size, b.Size),
			laterFirst(a.Expires, b.Expires))
	})
	r.Files = slices.CompactFunc(r.Files, func(a, b report.File) bool {
		return a.Name == b.Name && a.SHA256 == b.SHA256 && a.SHA1 == b.SHA1 && a.MD5 == b.MD5 && a.Path == b.Path && a.Size == b.Size
	})
	slices.SortFunc(r.Registry, func(a, b report.RegistryValue) int {
		return cmp.Or(strings.Compare(a.Hive, b.Hive), strings.Compare(a.Key, b.Key), strings.Compare(a.Name, b.Name), strings.Compare(a.Data, b.Data),
			laterFirst(a.Expires, b.Expires))
	})
	r.Registry = slices.CompactFunc(r.Registry, func(a, b report.RegistryValue) bool {
		return a.Hive == b.Hive && a.Key == b.Key && a.Name == b.Name && a.Data == b.Data
	})
	// Skips were recorded in document order (tags, attributes, objects); markdown lines put
	// tag skips in place too. JSON paths are left in document order, which sorting them as
	// strings would break (Attribute[11] < Attribute[7]).
	slices.SortStableFunc(r.Skipped, func(a, b report.Skipped) int {
		return cmp.Or(strings.Compare(a.Source.File, b.Source.File), cmp.Compare(a.Source.Line, b.Source.Line))
	})
}

// laterFirst orders expiry dates latest first, "" (never) before any date.
func laterFirst(a, b string) int {
	never := func(s string) string {
		if s == "" {
			return "9999-12-31"
		}
		return s
	}
	return strings.Compare(never(b), never(a))
}

// tooLong skips a value over the length limit; the skip list keeps its start.
func (n *normalizer) tooLong(a report.Attribute) bool {
	if len(a.Value) <= n.opts.MaxValueBytes {
		return false
	}
	n.r.SkipPart(a, cutRunes(a.Value, 100), fmt.Sprintf("value of %d bytes: longer than %d (--max-value-bytes)", len(a.Value), n.opts.MaxValueBytes))
	return true
}

// cutRunes keeps the first n runes of s, marking a cut with "…".
func cutRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
