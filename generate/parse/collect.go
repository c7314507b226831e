package parse

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/report"
)

// A collector turns what a vendor's publication states (lines, labelled values, table rows)
// into the MISP-shaped attributes and objects every reader fills. A publication is meant for
// detection, so its values are flagged to_ids; what it says is no indicator is kept with the
// reason (Attribute.Unusable), so that normalize lists it as skipped.
type collector struct {
	r *report.Report
	// seen holds every first- and last-seen date the publication states: its newest dates
	// the report when nothing else does.
	seen []string
	// fileParts and networkParts are row's scratch: a row's object takes an exact copy, so
	// that a list of a million rows does not leave a million half-empty grown slices.
	fileParts, networkParts []report.Attribute
}

func newCollector(name string, format Format) *collector {
	return &collector{r: &report.Report{Source: name, Format: format}}
}

// value adds one typed value outside any object.
func (c *collector) value(pos report.Pos, v typed, comment string, seen report.Seen) {
	if v.typ == "name" {
		v.typ = "filename" // a name alone, under a heading or a label, is a file's
	}
	if v.typ == "path" {
		c.r.Objects = append(c.r.Objects, pathObject(pos, v.value, comment))
		return
	}
	c.r.Attributes = append(c.r.Attributes, report.Attribute{Type: v.typ, Value: v.value, Comment: comment, ToIDS: true, Seen: report.Said(seen), Pos: pos})
	c.noteSeen(seen)
}

// pathObject is a file named by its path, as a MISP file object holds it. A folder is no
// file: a rule for it would match everything in it.
func pathObject(pos report.Pos, path, comment string) report.Object {
	a := report.Attribute{Relation: "fullpath", Type: "text", Value: path, Comment: comment, ToIDS: true, Pos: pos}
	if strings.HasSuffix(path, `\`) || strings.HasSuffix(path, "/") {
		a.Unusable = "a folder, not a file: a rule would match every file in it"
	}
	return report.Object{Name: "file", Description: comment, Pos: pos, Attributes: []report.Attribute{a}}
}

// unusable adds a value the publication says is no indicator, with the reason.
func (c *collector) unusable(pos report.Pos, value, reason string) {
	typ := "text"
	if v, ok := valueOf(value); ok {
		typ, value = v.typ, v.value
	}
	c.r.Attributes = append(c.r.Attributes, report.Attribute{Type: typ, Value: value, Unusable: reason, Pos: pos})
}

// text adds a line that mentions values but states none that can be read on their own (prose,
// code, a command): normalize lists it as free text.
func (c *collector) text(pos report.Pos, line string) {
	c.r.Attributes = append(c.r.Attributes, report.Attribute{Type: "text", Value: line, Pos: pos})
}

// reference adds a link to where the report was published.
func (c *collector) reference(pos report.Pos, link string) {
	c.r.Attributes = append(c.r.Attributes, report.Attribute{Type: "link", Value: link, Pos: pos})
}

func (c *collector) noteSeen(s report.Seen) {
	for _, d := range []string{s.First, s.Last} {
		if d != "" {
			c.seen = append(c.seen, d)
		}
	}
}

// typedAs types a value a label, column or heading says is of kind m: the label's type where
// the value's shape agrees or says nothing, else the shape (a "Domain" column holding an
// address). ok is false when the value cannot be read as that kind.
func typedAs(m meaning, raw string) ([]typed, bool) {
	if m.role == roleType && !sentenceFree(m.typ, cleanCell(raw)) {
		return nil, false
	}
	switch {
	case m.role == roleType && (m.typ == "filename" || m.typ == "name" || m.typ == "mutex" || m.typ == "size-in-bytes" || m.typ == "port"):
		v := defang.Refang(cleanCell(raw))
		if m.typ == "size-in-bytes" {
			v = sizeDigits(v)
		}
		return []typed{{m.typ, v}}, v != ""
	case m.role == roleType && m.typ == "path":
		// A file's location may be where it was downloaded from: a URL.
		if v, ok := valueOf(raw); ok && v.typ == "url" {
			return []typed{v}, true
		}
		v := defang.Refang(cleanCell(raw))
		// A location that is no path (Location: Germany) is no file's.
		return []typed{{"path", v}}, v != "" && strings.ContainsAny(v, `\/%`)
	case m.role == roleType && m.typ == "regkey":
		v := defang.Refang(cleanCell(raw))
		return []typed{{"regkey", v}}, v != ""
	}
	vals, _, ok := lineValues(raw)
	if !ok {
		return nil, false
	}
	// The shape decides otherwise: a "URL" that is a bare name is a domain, an "IP address"
	// with a port an address and port.
	for i, v := range vals {
		if m.role == roleType && (m.typ == "hostname" && v.typ == "domain" || m.typ == "email-src") {
			vals[i].typ = m.typ
		}
	}
	return vals, true
}

var (
	// digitSeparators are what sizes are written with between their digits (563,096).
	digitSeparators = strings.NewReplacer(",", "", " ", "", "\u00a0", "", "_", "")
	// lineBreaks are the ways a table cell breaks a line: HTML's and AsciiDoc's (" +").
	lineBreaks = strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", " +\n", "\n")
)

// sizeDigits reads a file size as publications write it: "563,096 bytes", "1 024".
func sizeDigits(s string) string {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.ToLower(s)), "bytes"))
	s = digitSeparators.Replace(s)
	if !isDigits(s) {
		return ""
	}
	return s
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// row reads one table row (or one group of labelled lines) as the object it describes: a
// sample's hashes with its name, size and path; an address with its names, port and dates.
// cols says what each cell is.
func (c *collector) row(pos report.Pos, cols []meaning, cells []string) {
	file, network := c.fileParts[:0], c.networkParts[:0]
	defer func() { c.fileParts, c.networkParts = file[:0], network[:0] }()
	var noted, names []report.Attribute
	var comments []string
	var seen report.Seen
	for i, cell := range cells {
		if i >= len(cols) || absent(cell) {
			continue
		}
		m := cols[i]
		switch m.role {
		case roleComment, roleNone:
			comments = append(comments, collapse(cleanCell(cell)))
			noted = append(noted, hashesIn(pos, cell)...)
			continue
		case roleFirstSeen:
			seen.First = isoDay(cell)
			continue
		case roleLastSeen:
			seen.Last = isoDay(cell)
			continue
		case roleNot:
			c.unusable(pos, collapse(cleanCell(cell)), m.reason)
			continue
		case roleReference:
			for _, l := range referenceLinks(cell) {
				c.reference(pos, l)
			}
			continue
		case roleDate, roleValue, roleKind:
			continue
		}
		for _, raw := range cellValues(m, cell) {
			vals, ok := typedAs(m, raw)
			if !ok {
				c.text(pos, cleanCell(raw))
				continue
			}
			for _, v := range vals {
				a := report.Attribute{Type: v.typ, Relation: relationOf(v.typ), Value: v.value, ToIDS: true, Pos: pos}
				if v.typ == "name" {
					names = append(names, a)
					continue
				}
				if isFilePart(v.typ) {
					file = append(file, a)
				} else {
					network = append(network, a)
				}
			}
		}
	}
	for _, h := range noted { // a hash a note gives ("sha256 0a1b…"), unless a column gave one
		if !slices.ContainsFunc(file, func(a report.Attribute) bool { return a.Type == h.Type }) {
			file = append(file, h)
		}
	}
	file, network, comments = nameOf(file, network, names, comments)
	comment := strings.Join(comments, "; ")
	c.noteSeen(seen)
	file = c.otherLocations(pos, file, comment)
	if slices.ContainsFunc(file, isHash) || len(file) > 0 && len(network) == 0 {
		c.r.Objects = append(c.r.Objects, object("file", pos, comment, seen, slices.Clone(file)))
	} else {
		network = append(network, file...)
	}
	if len(network) > 0 {
		c.r.Objects = append(c.r.Objects, object("domain-ip", pos, comment, seen, slices.Clone(network)))
	}
}

// otherLocations keeps a file's first path in its object and adds each other path the
// publication gives (the same file dropped in several places) as a file of its own.
func (c *collector) otherLocations(pos report.Pos, file []report.Attribute, comment string) []report.Attribute {
	first := true
	return slices.DeleteFunc(file, func(a report.Attribute) bool {
		if a.Relation != "fullpath" {
			return false
		}
		if first {
			first = false
			return false
		}
		c.r.Objects = append(c.r.Objects, pathObject(pos, a.Value, comment))
		return true
	})
}

func object(name string, pos report.Pos, comment string, seen report.Seen, attrs []report.Attribute) report.Object {
	said := report.Said(seen) // one for the object and its parts
	for i := range attrs {
		attrs[i].Comment, attrs[i].Seen = comment, said
	}
	return report.Object{Name: name, Description: comment, Seen: said, Pos: pos, Attributes: attrs}
}

// relationOf is the MISP object relation a typed value takes in its object.
func relationOf(typ string) string {
	switch typ {
	case "path":
		return "fullpath"
	case "ip-dst":
		return "ip"
	case "hostname":
		return "domain"
	}
	return typ
}

func isFilePart(typ string) bool {
	switch typ {
	case "md5", "sha1", "sha256", "sha512", "imphash", "ssdeep", "tlsh", "authentihash", "filename", "size-in-bytes", "path":
		return true
	}
	return false
}

// cellValues splits a cell that holds several values: `a` `b` (each quoted on its own),
// comma- or space-separated lists. A cell of a file name, path, mutex or registry column is
// one value unless its values are quoted one by one: such values may hold spaces.
func cellValues(m meaning, cell string) []string {
	if strings.Contains(cell, "<br") || strings.Contains(cell, " +\n") { // the replacer copies every cell
		cell = lineBreaks.Replace(cell)
	}
	if quoted := backticked.FindAllString(cell, -1); len(quoted) > 1 {
		return keepPresent(quoted)
	}
	if m.role == roleType && literalTypes[m.typ] {
		if m.typ == "filename" {
			cell = strings.ReplaceAll(cell, ", ", "\n") // names a sample was seen under
		}
		return keepPresent(strings.Split(cell, "\n"))
	}
	return keepPresent(strings.FieldsFunc(cell, func(c rune) bool { return c == ' ' || c == '\t' || c == '\n' || c == ',' || c == ';' }))
}

// literalTypes are the types whose values are taken as written, spaces included.
var literalTypes = map[string]bool{"filename": true, "name": true, "path": true, "mutex": true, "regkey": true, "size-in-bytes": true}

// backticked is a value quoted in backticks, AsciiDoc's `+…+` included.
var backticked = regexp.MustCompile("`[^`\n]+`")

func keepPresent(values []string) []string {
	var out []string
	for _, v := range values {
		if v = cleanCell(v); v != "" && v != "+" && !absent(v) {
			out = append(out, v)
		}
	}
	return out
}

// isoDate is a calendar date as ISO 8601 writes it.
var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// isoDay reads the day of a date as publications write it (2023-11-04, 2023-11-04T10:00:00Z,
// a table's 20231104); "" when it is none or no calendar day (2023-20-09).
func isoDay(s string) string {
	s = cleanCell(s)
	day := ""
	switch {
	case len(s) >= 10 && isoDate.MatchString(s[:10]):
		day = s[:10]
	case compactDate.MatchString(s):
		day = s[:4] + "-" + s[4:6] + "-" + s[6:]
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return ""
	}
	return day
}

// compactDate is a day written YYYYMMDD, as some tables do.
var compactDate = regexp.MustCompile(`^(?:19|20)\d{6}$`)

// hashesIn are the file hashes a description states among its words (a CSV's note column
// saying "sha256 0a1b…" of the row's URL): the row's file.
func hashesIn(pos report.Pos, text string) []report.Attribute {
	var out []report.Attribute
	for _, tok := range strings.Fields(text) {
		tok = strings.Trim(tok, ",;:()[]'\"`=")
		if _, v, ok := strings.Cut(tok, "="); ok { // sha256=…
			tok = v
		}
		if v, ok := valueOf(tok); ok && report.RenderedHashLength(v.typ) == len(v.value) {
			out = append(out, report.Attribute{Type: v.typ, Relation: v.typ, Value: v.value, ToIDS: true, Pos: pos})
		}
	}
	return out
}

// nameOf settles what a "Name" column's values are by the row around them: a file's name
// beside its hashes, size or path, or where the row names nothing on the network; beside an
// address or a domain and nothing of a file, the name of that host (a domain when it is one,
// else a description: update.exe in a | Name | IP address | table is no file).
func nameOf(file, network, names []report.Attribute, comments []string) ([]report.Attribute, []report.Attribute, []string) {
	for _, n := range names {
		switch {
		case len(file) > 0 || len(network) == 0:
			n.Type, n.Relation = "filename", "filename"
			file = append(file, n)
		default:
			if v, ok := valueOf(n.Value); ok && v.typ == "domain" {
				n.Type, n.Relation, n.Value = "domain", "domain", v.value
				network = append(network, n)
			} else {
				comments = append(comments, n.Value)
			}
		}
	}
	return file, network, comments
}
