// Package report is the model every stage shares: parsers make a Report (attributes, objects
// and context as the input states them), normalise makes from it a Normalized report (its
// Detections: the typed indicators templates render, and the skipped values).
package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/rulegen/rulegen/generate/internal/yarasrc"
)

// idNamespace seeds every UUIDv5 rulegen derives, so ids are stable across runs and machines.
var idNamespace = uuid.MustParse("3d753775-1432-4213-a6ec-d9242d0c28f0")

// StableID returns a UUIDv5 of the parts: the same parts give the same id on every run.
func StableID(parts ...string) string {
	return uuid.NewSHA1(idNamespace, []byte(strings.Join(parts, "\x00"))).String()
}

// Pos says where a value came from: a file and a line (markdown) or a JSON path (MISP).
type Pos struct {
	File string
	Line int    // 1-based; 0 when the format has no lines
	Path string // JSON path such as Event.Attribute[3]; empty for line-based formats
}

func (p Pos) String() string {
	switch {
	case p.Line > 0 && p.Path != "":
		return fmt.Sprintf("%s:%d (%s)", p.File, p.Line, p.Path)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	case p.Path != "":
		return fmt.Sprintf("%s: %s", p.File, p.Path)
	}
	return p.File
}

// Attribute is one typed value as the report states it (a MISP attribute).
type Attribute struct {
	Category string
	Type     string // MISP attribute type, e.g. "md5", "regkey|value", "ip-dst|port"
	Relation string // the attribute's role inside an object (MISP object_relation); "" = Type
	Value    string
	Comment  string
	ToIDS    bool // flagged for detection (MISP to_ids)
	Deleted  bool // soft-deleted in MISP: never a rule
	// Unusable is why the parser already knows the value cannot become a rule (a revoked STIX
	// indicator, a pattern that compares with a regular expression); "" when it does not.
	Unusable string
	Seen     *Seen // what the report says of when the value was seen; nil: nothing (When)
	Pos      Pos
}

// When is what the report says of when the value was seen, empty when nothing.
func (a Attribute) When() Seen { return a.Seen.orNothing() }

// When is what the report says of when the object was seen, empty when nothing.
func (o Object) When() Seen { return o.Seen.orNothing() }

func (s *Seen) orNothing() Seen {
	if s == nil {
		return Seen{}
	}
	return *s
}

// Said is s to hold in an attribute or object: nil when it says nothing. Most values of a
// bulk list say nothing of when they were seen, and a Seen in each would be most of its size.
func Said(s Seen) *Seen {
	if s == (Seen{}) {
		return nil
	}
	return &s
}

// Seen is what a report says of when an indicator was seen, as given: MISP's first_seen and
// last_seen (ISO 8601) and the attribute's last change (timestamp, Unix seconds). Normalise
// turns the newest of them into the indicator's age. Until is the end of its validity when
// the report states one (STIX valid_until): it overrides the expiry policy.
type Seen struct {
	First, Last string
	Changed     int64
	Until       string
}

// Object groups attributes that describe one thing (a MISP object such as "file").
type Object struct {
	Name        string
	Description string
	Attributes  []Attribute
	Deleted     bool
	Seen        *Seen // nil: nothing said (When)
	Pos         Pos
}

// ThreatLevel is MISP's threat_level_id with its name.
type ThreatLevel struct {
	ID   int
	Name string
}

// Technique is a current ATT&CK technique; ReplacedID names the revoked or deprecated id the
// report used, if any.
type Technique struct {
	ID         string
	Name       string
	Tactics    []string
	ReplacedID string
}

// File is a sample or dropped file with what is known of it. Hashes are lowercase hex.
type File struct {
	Name string
	Path string // as the report gives it, e.g. %USERPROFILE%\dir\x.exe
	// PathTail is Path without the machine-specific head (drive, user profile, environment
	// variable), starting with a backslash: \dir\x.exe. Empty when there is no path.
	PathTail string
	Size     int64 // 0 when unknown
	MD5      string
	SHA1     string
	SHA256   string
	Role     FileRole
	Expires  string // YYYY-MM-DD when the expiry policy ends it; "" never
	Pos      Pos
}

// FileRole is what a file is to the report.
type FileRole string

const (
	RoleSample  FileRole = "sample"  // the malware itself: it has a hash
	RoleDropped FileRole = "dropped" // a file it writes, known by name or path only
)

// RegistryValue is a registry value set by the malware. Key excludes the hive.
type RegistryValue struct {
	Hive string // HKLM, HKU, HKCU, ...
	Key  string // path below the hive, e.g. S-1-5-21-...\Software\...\RunOnce
	Name string // value name; empty for the default value
	Data string
	// KeyTail is Key without the per-machine user SID, starting with a backslash:
	// \Software\Microsoft\Windows\CurrentVersion\RunOnce.
	KeyTail string
	// DataTail is Data as a path tail when Data is a file path (see File.PathTail), else empty.
	DataTail string
	// Specific says the value name alone (for AnyValue, the key alone) identifies this
	// report's persistence; generic names such as "Update" need the data path too.
	Specific bool
	// AnyValue says the report names a key rather than a value (Name is empty): any value set
	// under Key counts, such as a Run key's value whose name the report does not give.
	AnyValue bool
	Expires  string // see File.Expires
	Pos      Pos
}

// Endpoint is an IP address, with a port when the report pairs them (0 when it does not).
type Endpoint struct {
	IP      string
	Port    int
	Expires string // see File.Expires
	Pos     Pos
}

// Indicator is a single-valued indicator (domain, hostname, URL, mutex).
type Indicator struct {
	Value   string
	Expires string // see File.Expires
	Pos     Pos
}

// Skipped is a value that could not become a safe rule, with the reason why.
type Skipped struct {
	Value  string
	Kind   string // attribute type
	Reason string // why; for an expired value, when (Why says both)
	Cause  SkipCause
	Source Pos
}

// SkipCause sorts skips by what a run does with them: an expired value left a report's rules
// because of its age (the change log lists it apart), any other was never fit for one.
type SkipCause uint8

const (
	SkipUnfit SkipCause = iota
	SkipExpired
)

// Expired says whether s was skipped for its age.
func (s Skipped) Expired() bool { return s.Cause == SkipExpired }

// Why is the reason as the skip list and the summary write it.
func (s Skipped) Why() string {
	if s.Expired() {
		return "expired: " + s.Reason
	}
	return s.Reason
}

// Format is the kind of document a report was read from.
type Format string

const (
	FormatMarkdown    Format = "markdown"    // the markdown rendering of a MISP event
	FormatMISP        Format = "misp"        // MISP JSON: an event, a REST response or a feed event
	FormatIOCs        Format = "iocs"        // a plain list of indicators or sectioned text (*.txt)
	FormatSTIX        Format = "stix"        // a STIX 2.0 or 2.1 bundle
	FormatDocument    Format = "document"    // a vendor's Markdown or AsciiDoc publication
	FormatCSV         Format = "csv"         // CSV or TSV with a header row
	FormatHashes      Format = "hashes"      // a hash list, one hash a line (samples.sha256)
	FormatYARA        Format = "yara"        // a publisher's YARA rules (.yar, .yara)
	FormatSigma       Format = "sigma"       // a publisher's Sigma rules (.yml, .yaml)
	FormatLOKI        Format = "loki"        // a LOKI/THOR IOC list (value;comment lines)
	FormatOpenIOC     Format = "openioc"     // an OpenIOC 1.0 or 1.1 document (.ioc)
	FormatJSON        Format = "json"        // a vendor's JSON of indicators (neither MISP nor STIX)
	FormatHTML        Format = "html"        // a vendor's HTML page (a blog post saved from the web)
	FormatXLSX        Format = "xlsx"        // a vendor's spreadsheet (Office Open XML)
	FormatPublication Format = "publication" // a publication's files read as one report
)

// Context is what a report says of itself beside its indicators, as stated, sorted by kind by
// the parser that read it. Normalise resolves it: the most restrictive known TLP, techniques
// looked up in ATT&CK, families sorted.
type Context struct {
	TLP        []string          // TLP markings as stated, lower case: "white", "amber+strict"
	Families   []string          // malware families as named
	Techniques []StatedTechnique // ATT&CK techniques as referenced
	Labels     []string          // plain tags: neither a TLP nor a galaxy
	Pos        Pos               // where it is stated
}

// StatedTechnique is an ATT&CK technique as a report references it.
type StatedTechnique struct {
	Ref    string // "<name> - T1234": normalise reads the id in it
	Stated string // as the report states it (a MISP galaxy tag), for the skip list
}

// Add appends what o states that c does not hold yet: the context of a publication's files.
func (c *Context) Add(o Context) {
	c.TLP = appendNew(c.TLP, o.TLP...)
	c.Families = appendNew(c.Families, o.Families...)
	c.Techniques = appendNew(c.Techniques, o.Techniques...)
	c.Labels = appendNew(c.Labels, o.Labels...)
}

func appendNew[T comparable](list []T, items ...T) []T {
	for _, x := range items {
		if !slices.Contains(list, x) {
			list = append(list, x)
		}
	}
	return list
}

// Report is one threat report as its input states it: parsers fill it, and nothing changes
// it after them.
type Report struct {
	Source string // input file
	Format Format
	ID     string // MISP event uuid; "" when the input names none (normalise derives one)
	Title  string
	Date   string // YYYY-MM-DD
	// DatedByRun says the publication states no date, in its text, its path or its history:
	// Date is the day rulegen first made its rules (the run's, or the one a run recorded).
	DatedByRun  bool
	Changed     string // YYYY-MM-DD of the report's last edit (MISP's event timestamp); "" if unknown
	ThreatLevel ThreatLevel
	Context     Context
	Attributes  []Attribute
	Objects     []Object
}

// Normalized is a report with what normalise found in it: what render writes rules from. Its
// Report is the parsed one with its identity settled (an ID derived when the input names none,
// the title cut to length), without its attributes and objects: everything in them is in
// Detections, and a bulk list's parsed attributes outweigh its rules.
type Normalized struct {
	Report
	Detections
}

// Detections is what normalise finds in a report: its names and context settled, the
// indicators fit for rules, and the values that are not, with the reason.
type Detections struct {
	Slug string // names the report's files; unique in a run
	// DerivedID says the input named no id: normalise derived ID from the title and date.
	DerivedID  bool
	TLP        string // TLPv2 name in lowercase: clear, green, amber, amber+strict, red; empty if unknown
	Families   []string
	Techniques []Technique
	References []string
	Files      []File
	Registry   []RegistryValue
	Domains    []Indicator
	Hostnames  []Indicator
	Endpoints  []Endpoint
	URLs       []Indicator
	Mutexes    []Indicator
	// Imphashes are PE import-table hashes (lower-case hex): every sample that links the same
	// functions of the same libraries in the same order shares one.
	Imphashes []Indicator
	// YARARules are analysts' own YARA rules in the report (MISP yara attributes), passed
	// through into its YARA file.
	YARARules []Attribute
	// SigmaRules are analysts' own Sigma rules (MISP sigma attributes), passed through.
	SigmaRules []Attribute
	// Platform is what the report is about, for its Sigma rules' log source: windows, linux
	// or macos.
	Platform string
	Skipped  []Skipped

	// Unflagged says the report has attributes but flags none of them for detection (MISP
	// to_ids), as many published MISP events do.
	Unflagged bool

	// BulkC2 says that the report lists more domains, addresses and URLs than YARA can afford
	// to look for in UTF-16 and in any case (normalize.Options.MaxFullC2), so they are matched
	// as listed, in ASCII: a UTF-16 atom holds two characters, and thousands of them hit at
	// almost every pair of letters in UTF-16 text; nocase multiplies every atom by up to 16.
	BulkC2 bool
}

// Samples returns the files that carry at least one hash: Files itself, clipped, when all do
// (a bulk hash list's million files are not copied for it).
func (r *Detections) Samples() []File {
	hashed := func(f File) bool { return f.MD5 != "" || f.SHA1 != "" || f.SHA256 != "" }
	n := 0
	for _, f := range r.Files {
		if hashed(f) {
			n++
		}
	}
	if n == len(r.Files) {
		return slices.Clip(r.Files)
	}
	out := make([]File, 0, n)
	for _, f := range r.Files {
		if hashed(f) {
			out = append(out, f)
		}
	}
	return out
}

// C2Count is how many strings a YARA C2 rule needs for the report: its domains, hostnames,
// distinct addresses (YARA sees text, not ports) and URLs.
func (r *Detections) C2Count() int {
	ips := map[string]bool{}
	for _, e := range r.Endpoints {
		ips[e.IP] = true
	}
	return len(r.Domains) + len(r.Hostnames) + len(ips) + len(r.URLs)
}

// Rel is the attribute's role: its object relation, or its type outside objects.
func (a Attribute) Rel() string {
	if a.Relation != "" {
		return a.Relation
	}
	return a.Type
}

// Skip records a value that will not become a rule.
func (r *Detections) Skip(a Attribute, reason string) {
	r.SkipPart(a, a.Value, reason)
}

// SkipPart records one part of a composite attribute (the IP of "domain|ip") that will not
// become a rule.
func (r *Detections) SkipPart(a Attribute, part, reason string) {
	r.Skipped = append(r.Skipped, Skipped{Value: part, Kind: a.Type, Reason: reason, Source: a.Pos})
}

// Values lists what the report's rules detect, one "kind value" line per indicator, sorted:
// what a change summary compares between runs.
func (r *Detections) Values() []string {
	out := make([]string, 0, len(r.Files)+len(r.Registry)+len(r.Domains)+len(r.Hostnames)+len(r.URLs)+
		len(r.Mutexes)+len(r.Imphashes)+len(r.Endpoints)+len(r.YARARules))
	for _, f := range r.Files {
		switch {
		case f.Role == RoleSample:
			v := "sample " + firstNonEmpty(f.SHA256, f.SHA1, f.MD5)
			if f.Size > 0 {
				v += fmt.Sprintf(" (%d bytes)", f.Size)
			}
			out = append(out, v)
		default:
			out = append(out, "file "+firstNonEmpty(f.PathTail, f.Path, f.Name))
		}
	}
	for _, v := range r.Registry {
		line := "registry " + v.Hive + `\` + v.Key + `\` + v.Name
		if v.Data != "" {
			line += " = " + v.Data
		}
		out = append(out, line)
	}
	for _, l := range []struct {
		kind string
		list []Indicator
	}{{"domain", r.Domains}, {"domain", r.Hostnames}, {"url", r.URLs}, {"mutex", r.Mutexes}, {"imphash", r.Imphashes}} {
		for _, i := range l.list {
			out = append(out, l.kind+" "+i.Value)
		}
	}
	for _, e := range r.Endpoints {
		v := "ip " + e.IP
		if e.Port > 0 {
			v += fmt.Sprintf(" port %d", e.Port)
		}
		out = append(out, v)
	}
	for _, a := range r.YARARules {
		for _, name := range yarasrc.Names(a.Value) {
			out = append(out, "yara rule "+name)
		}
	}
	if len(out) == 0 {
		return nil // the index says null, as it always has
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// IsUUID says whether s is a UUID in its canonical text form (8-4-4-4-12 hex digits): the only
// event keys that become file names, so that no key of a manifest leads outside its directory.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}

// IsHex says whether s is hex digits only, of either case, and not empty: the shape of a hash.
func IsHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// ShortID is eight hex digits that stand for a report id in file and rule names.
func ShortID(id string) string {
	s := strings.ReplaceAll(id, "-", "")
	if len(s) < 8 || !IsHex(s[:8]) {
		s = strings.ReplaceAll(StableID("short", id), "-", "")
	}
	return strings.ToLower(s[:8])
}

// HashKind is a file hash a report may state: its MISP type, its length in hex digits, and
// whether rules are written for it (YARA's hash module and Sysmon's Hashes field have md5,
// sha1 and sha256; sha512 is read, then skipped with the reason).
type HashKind struct {
	Type     string
	Length   int
	Rendered bool
}

// HashKinds is every hash kind, the one table readers and normalise type hashes by.
var HashKinds = []HashKind{{"md5", 32, true}, {"sha1", 40, true}, {"sha256", 64, true}, {"sha512", 128, false}}

// HashTypeOfLength is the hash type n hex digits make, "" for none.
func HashTypeOfLength(n int) string {
	for _, k := range HashKinds {
		if k.Length == n {
			return k.Type
		}
	}
	return ""
}

// RenderedHashLength is the hex length of a hash type rules are written for, 0 for any other.
func RenderedHashLength(typ string) int {
	for _, k := range HashKinds {
		if k.Type == typ && k.Rendered {
			return k.Length
		}
	}
	return 0
}

// HashLength is the hex length of a hash type, 0 for other types.
func HashLength(typ string) int {
	for _, k := range HashKinds {
		if k.Type == typ {
			return k.Length
		}
	}
	return 0
}

// Deployable is an indicator as EDRs take them in their indicator lists: one hash of a sample
// (with the sample's name), a domain, an address (without its port: those lists have none),
// a URL. Deployables lists them.
type Deployable struct {
	Type    DeployableType `json:"type"`
	Value   string         `json:"value"`
	Name    string         `json:"name,omitempty"`    // a sample's file name
	Expires string         `json:"expires,omitempty"` // YYYY-MM-DD; "" never
	// Sample numbers a hash's sample in its report, from 1: a sample's hashes (best first:
	// sha256, sha1, md5) are one file, of which a list needs one hash. 0 for the others.
	Sample int `json:"sample,omitempty"`
}

// deployableCount is how many Deployables r has, counted before they are made: a bulk
// list's million are allocated once, not grown.
func (r *Detections) deployableCount() int {
	n := len(r.Domains) + len(r.Hostnames) + len(r.Endpoints) + len(r.URLs)
	for _, f := range r.Files {
		if f.Role == RoleSample {
			n += min(len(f.SHA256), 1) + min(len(f.SHA1), 1) + min(len(f.MD5), 1)
		}
	}
	return n
}

// DeployableType is the kind of a Deployable.
type DeployableType string

// The kinds of Deployable.
const (
	DeploySHA256 DeployableType = "sha256"
	DeploySHA1   DeployableType = "sha1"
	DeployMD5    DeployableType = "md5"
	DeployDomain DeployableType = "domain"
	DeployIP     DeployableType = "ip"
	DeployURL    DeployableType = "url"
)

// Deployables are the report's indicators that EDR indicator lists take: each hash of each
// sample, domains and hostnames, addresses once each (the latest expiry of their ports), URLs;
// in the order of the report's lists.
func (r *Detections) Deployables() []Deployable {
	n := r.deployableCount()
	if n == 0 {
		return nil
	}
	out := make([]Deployable, 0, n)
	sample := 0
	for _, f := range r.Files {
		if f.Role != RoleSample {
			continue
		}
		sample++
		for _, h := range []struct {
			t DeployableType
			v string
		}{{DeploySHA256, f.SHA256}, {DeploySHA1, f.SHA1}, {DeployMD5, f.MD5}} {
			if h.v != "" {
				out = append(out, Deployable{Type: h.t, Value: h.v, Name: f.Name, Expires: f.Expires, Sample: sample})
			}
		}
	}
	for _, list := range [][]Indicator{r.Domains, r.Hostnames} {
		for _, d := range list {
			out = append(out, Deployable{Type: DeployDomain, Value: d.Value, Expires: d.Expires})
		}
	}
	seen := map[string]int{}
	for _, e := range r.Endpoints {
		if i, ok := seen[e.IP]; ok {
			out[i].Expires = LaterExpiry(out[i].Expires, e.Expires)
			continue
		}
		seen[e.IP] = len(out)
		out = append(out, Deployable{Type: DeployIP, Value: e.IP, Expires: e.Expires})
	}
	for _, u := range r.URLs {
		out = append(out, Deployable{Type: DeployURL, Value: u.Value, Expires: u.Expires})
	}
	return out
}

// LaterExpiry is the later of two expiry days, "" (never) being the latest.
func LaterExpiry(a, b string) string {
	if a == "" || b == "" {
		return ""
	}
	return max(a, b)
}
