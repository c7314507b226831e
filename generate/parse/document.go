package parse

import (
	"regexp"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/report"
)

// A document is a publication written for people: Markdown or AsciiDoc (ESET's README.adoc),
// an HTML page, or sectioned text (Unit42's, a plain IOC list). Its syntax makes blocks of its
// markup (syntax.go, html.go), and what a value is, the blocks say around the value:
//
//   - headings (# / == / SHA-1 hashes), and in text SECTION: lines (DOMAINS:, URLS), type the
//     lines, bullets and delimited blocks under them; a sub-heading without a type of its own
//     (==== BlackLotus Installer) keeps its parent's and describes the values;
//   - tables (AsciiDoc |=== blocks, Markdown pipe tables) whose header names each column: a
//     row is one object, a sample's hashes with its name, an address with its names and dates;
//   - labelled lines (SHA256 hash: …, - Domain name: …): the label types the value, and a
//     group of a file's labelled lines (hash, size, name, location) is one file object;
//   - a line that holds only values (refanged, several to a line, a description after a dash)
//     gives each; prose, code and commands give none, and when they mention a value they are
//     listed as free text.
//
// Labels, headings and columns that say a value is no indicator (a registrar, a detection
// name, a Tox id, a key) keep it out of the rules, with the reason.

// heading is a heading (or a text SECTION: line) in force, with what it says of its values.
type heading struct {
	level int
	m     meaning
	text  string
}

type docReader struct {
	c *collector
	// list says the document is an IOC list, whose lines are meant as values: a plain link is
	// one, prose is listed as free text, and its first heading is no title.
	list  bool
	title string   // the first heading
	dates []string // dates the document states (Date: lines, :revdate:)
	// mentioned are the ISO dates anywhere in it (see part.mentioned).
	mentioned []string
	heads     []heading
	pem       bool // inside a PEM block (-----BEGIN … -----END)
	group     *fileGroup
	line      int // the line being read, from 1
}

// fileGroup is the labelled lines of one file (hash, size, name, location).
type fileGroup struct {
	pos   report.Pos
	cols  []meaning
	cells []string
}

// readDocument reads a document of a syntax; an IOC list (FormatIOCs) is read as a list.
func readDocument(name string, data []byte, syn syntax, format Format) *docReader {
	d := &docReader{c: newCollector(name, format), list: format == FormatIOCs}
	text := strings.TrimPrefix(string(data), "\ufeff")
	d.mentioned = datesIn(text)
	for b := range syn(text) {
		d.line = b.line
		d.block(b)
	}
	d.endGroup()
	return d
}

func (d *docReader) pos() report.Pos { return report.Pos{File: d.c.r.Source, Line: d.line} }

func (d *docReader) block(b block) {
	if b.kind != blockLiteral {
		d.pem = false
	}
	switch b.kind {
	case blockBreak:
		d.endGroup()
	case blockHeading:
		d.heading(b.level, b.text)
	case blockDate:
		d.dates = append(d.dates, b.text)
	case blockLiteral:
		d.literal(b.text)
	case blockTable:
		d.endGroup()
		d.table(b.rows, b.lines)
	case blockText:
		if b.strong && !b.bullet && d.boldHeading(b.text) {
			return
		}
		d.text(b.text, b.bullet)
	case blockOutside:
		if mentionsIndicator(b.text) {
			d.c.unusable(d.pos(), b.text, reasonOutside)
		}
	}
}

// text reads a line of text, its bullet stripped.
func (d *docReader) text(item string, bullet bool) {
	if strings.IndexFunc(item, isAlnum) < 0 {
		return // an empty bullet, a rule, a separator
	}
	if m := assignment.FindStringSubmatch(item); m != nil {
		if _, isValue := valueOf(m[2]); isValue {
			d.labelled(m[1], m[2]) // driver = “dement.dll”: the value, labelled by its name
			return
		}
	}
	if label, value, ok := labelled(item); ok {
		d.labelled(label, value)
		return
	}
	if !bullet && d.section(item) {
		return
	}
	d.endGroup()
	m, comment := d.context()
	d.item(item, m, comment)
}

// heading reads a heading: the first names a document (not a list), and each says what the
// values under it are, until a heading of its level or above.
func (d *docReader) heading(level int, title string) {
	d.endGroup()
	m := headingMeaning(title)
	if d.title == "" && !d.list {
		d.title, m = title, meaning{} // the title names the report, not a kind of value
	}
	for len(d.heads) > 0 && d.heads[len(d.heads)-1].level >= level {
		d.heads = d.heads[:len(d.heads)-1]
	}
	d.heads = append(d.heads, heading{level: level, m: m, text: title})
}

// boldHeading reads a line written all in bold that holds no value and is no labelled line
// as a sub-heading: posts write **Mutexes** where a heading would do.
func (d *docReader) boldHeading(text string) bool {
	label := strings.TrimSuffix(text, ":")
	if len(strings.Fields(label)) > 8 || len(label) > 80 {
		return false
	}
	if _, _, ok := lineValues(text); ok {
		return false
	}
	if _, _, ok := labelled(text); ok {
		return false
	}
	d.pushSection(label)
	return true
}

// section reads a text SECTION: line (DOMAINS:, Infection traffic:, URLS, SHA256 (…)) that
// types the lines after it, until the next section or heading.
func (d *docReader) section(text string) bool {
	label, hasColon := strings.CutSuffix(text, ":")
	words := strings.Fields(label)
	if len(words) == 0 || len(words) > 8 || len(label) > 80 {
		return false
	}
	if _, isValue := valueOf(label); isValue {
		return false
	}
	caps := strings.ToUpper(label) == label && strings.ToLower(label) != label
	if !hasColon && !caps {
		return false
	}
	d.pushSection(label)
	return true
}

// pushSection puts a section under the headings in force, in place of the section before it.
func (d *docReader) pushSection(label string) {
	d.endGroup()
	for len(d.heads) > 0 && d.heads[len(d.heads)-1].level >= 7 {
		d.heads = d.heads[:len(d.heads)-1]
	}
	d.heads = append(d.heads, heading{level: 7, m: headingMeaning(label), text: label})
}

// headingMeaning is what a heading says of the values under it. Words that name a table's
// columns for what they hold beside the values (IOC, Notes, Description, Type, Date) say nothing
// of a heading's values, which are read by their shapes.
func headingMeaning(text string) meaning {
	m := meaningOf(text)
	switch m.role {
	case roleComment, roleDate, roleFirstSeen, roleLastSeen, roleValue, roleKind:
		return meaning{}
	}
	return m
}

// context is what the headings in force say of a value: the innermost that says anything,
// with the innermost heading as the value's description.
func (d *docReader) context() (m meaning, comment string) {
	for i := len(d.heads) - 1; i >= 0; i-- {
		if d.heads[i].m.role != roleNone {
			return d.heads[i].m, d.heads[len(d.heads)-1].text
		}
	}
	return meaning{}, ""
}

// literal reads a line of a literal block: one value a line (or "hash  name"), typed by the
// headings above, or labelled by a word that says what it is; a PEM key is one skipped value.
func (d *docReader) literal(trimmed string) {
	switch {
	case strings.HasPrefix(trimmed, "-----BEGIN "):
		d.pem = true
		d.c.unusable(d.pos(), trimmed, reasonKey)
		return
	case strings.HasPrefix(trimmed, "-----END "):
		d.pem = false
		return
	case d.pem || trimmed == "":
		return
	}
	if label, value, ok := labelled(trimmed); ok && meaningOf(label).role != roleNone {
		d.labelled(label, value) // Mutex: Local\KF_1, in a block as on a line of text
		return
	}
	m, comment := d.context()
	d.item(trimmed, m, comment)
}

// labelled splits "Label: value" where the label is a few words (not a value, a URL scheme or
// a drive letter).
func labelled(text string) (label, value string, ok bool) {
	for _, mark := range []string{"**", "__"} {
		if strings.HasPrefix(text, mark) { // **SHA256:** …, a bold label with its colon
			text = strings.Replace(text, ":"+mark, mark+":", 1)
		}
	}
	label, value, ok = strings.Cut(text, ": ")
	if !ok {
		return "", "", false
	}
	label = strings.TrimSpace(cleanCell(label))
	value = strings.TrimSpace(value)
	words := strings.Fields(label)
	if value == "" || len(words) == 0 || len(words) > 6 || len(label) > 48 || !isLetter(label[0]) {
		return "", "", false
	}
	if _, isValue := valueOf(label); isValue {
		return "", "", false
	}
	if first, _, dashed := strings.Cut(splitDescription(label)[0]+" - ", " - "); dashed && len(splitDescription(label)) > 1 {
		if _, isValue := valueOf(first); isValue {
			return "", "", false // "evil.com - registration date: …": a value described, not a label
		}
	}
	return label, value, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isAlnum(c rune) bool { return c < 128 && (isLetter(byte(c)) || isDigit(byte(c))) }

// labelled reads "Label: value": a file's labelled parts make one object; other values stand
// alone.
func (d *docReader) labelled(label, value string) {
	m := meaningOf(label)
	pos := d.pos()
	switch {
	case m.role == roleDate:
		d.dates = append(d.dates, value)
		return
	case m.role == roleHash || m.role == roleType && isFilePart(m.typ) && m.typ != "path":
		d.addToGroup(pos, m, value)
		return
	case d.group != nil && (m.role == roleType && m.typ == "path" || m.role == roleFirstSeen || m.role == roleLastSeen):
		d.addToGroup(pos, m, value)
		return
	case d.group != nil && (m.role == roleNone || m.role == roleComment):
		// What else the file's lines say of it (File type:, File description:) describes it.
		d.addToGroup(pos, meaning{role: roleComment}, label+": "+value)
		return
	case m.role == roleNone || m.role == roleComment:
		ctx, comment := d.context()
		if _, _, ok := lineValues(value); ok && ctx.role == roleNone {
			d.item(value, meaning{}, label)
			return
		}
		d.item(label+": "+value, ctx, comment)
		return
	}
	// A value of its own (Domain name:, C2:, VirusTotal:): a file's lines around it go on.
	d.item(value, m, label)
}

// addToGroup adds a labelled part of a file; a second hash of a kind the group has starts the
// next file (a file has one hash of each kind, but may have two locations or names).
func (d *docReader) addToGroup(pos report.Pos, m meaning, value string) {
	if d.group != nil && (m.role == roleHash || m.role == roleType && report.HashLength(m.typ) > 0) && slices.Contains(d.group.cols, m) {
		d.endGroup()
	}
	if d.group == nil {
		d.group = &fileGroup{pos: pos}
	}
	d.group.cols = append(d.group.cols, m)
	d.group.cells = append(d.group.cells, value)
}

func (d *docReader) endGroup() {
	if d.group == nil {
		return
	}
	g := d.group
	d.group = nil
	d.c.row(g.pos, g.cols, g.cells)
}

// item reads a line, bullet or block line as the kind m the headings or its label give;
// comment describes its values.
func (d *docReader) item(text string, m meaning, comment string) {
	pos := d.pos()
	switch m.role {
	case roleNot:
		d.c.unusable(pos, cleanCell(text), m.reason)
		return
	case roleReference:
		for _, l := range referenceLinks(defang.Refang(text)) {
			d.c.reference(pos, l)
		}
		return
	case roleComment, roleDate, roleFirstSeen, roleLastSeen, roleValue, roleKind:
		return
	}
	if hash, name, ok := hashAndName(text); ok {
		d.c.row(pos, []meaning{{role: roleHash}, {role: roleType, typ: "filename"}}, []string{hash, name})
		return
	}
	vals, note, ok := d.values(text, m)
	if !ok {
		if label, value, ok := labelBeforeValue(text); ok {
			d.labelled(label, value) // "Payload URL https://…": a label without its colon
			return
		}
		if defanged := defangedValues(text); len(defanged) > 0 {
			for _, v := range defanged { // "Stage two hxxp://…": marked as indicators by their writer
				d.c.value(pos, v, cleanCell(text), report.Seen{})
			}
			return
		}
		d.prose(pos, text)
		return
	}
	if note != "" {
		comment = strings.TrimSpace(comment + " " + note)
	}
	for _, v := range vals {
		d.c.value(pos, v, comment, report.Seen{})
	}
}

// values reads the values of a line in a context: in a section of no kind, a plain (not
// defanged) http(s) link in a document is where the report points its readers, not an
// indicator.
func (d *docReader) values(text string, m meaning) ([]typed, string, bool) {
	if m.role == roleNone {
		vals, note, ok := lineValues(text)
		if ok && !d.list && len(referenceLinks(text)) > 0 {
			return nil, "", false
		}
		return vals, note, ok
	}
	vals, ok := typedAs(m, text)
	if ok && m.role == roleHash {
		for _, v := range vals {
			if report.HashTypeOfLength(len(v.value)) != v.typ {
				return nil, "", false
			}
		}
	}
	return vals, "", ok
}

// sentenceFree says whether text that a heading, a column or a label types (Mutexes, File
// names, Registry keys), of a kind no pattern checks, can be a value of that kind rather than a
// sentence about them: a name of a few words that does not end a sentence, a key with a path.
func sentenceFree(typ, text string) bool {
	words := len(strings.Fields(text))
	switch typ {
	case "filename", "name":
		return words <= 4 && !strings.HasSuffix(text, ".") && !strings.HasSuffix(text, ":")
	case "mutex":
		return words <= 3 && !strings.HasSuffix(text, ".") && !strings.HasSuffix(text, ":")
	case "regkey":
		return strings.Contains(text, `\`)
	}
	return true
}

// prose is a line that states no value: its plain links are references; it is listed as free
// text when it mentions a value (or, in a text list, always: a list's lines are meant as
// values).
func (d *docReader) prose(pos report.Pos, text string) {
	for _, l := range referenceLinks(text) {
		d.c.reference(pos, l)
	}
	if d.list || mentionsIndicator(text) {
		d.c.text(pos, text)
	}
}

// hashAndName reads "HASH  name" (sha256sum's output, a hash list with names): a hash and a
// file name of one word.
func hashAndName(text string) (string, string, bool) {
	fields := strings.Fields(text)
	if len(fields) == 3 && strings.Contains("-–—|:", fields[1]) && len(fields[1]) <= 3 {
		fields = []string{fields[0], fields[2]} // HASH - name
	}
	if len(fields) != 2 {
		return "", "", false
	}
	hash, name := fields[0], strings.TrimPrefix(fields[1], "*")
	if report.RenderedHashLength(report.HashTypeOfLength(len(hash))) == 0 || !report.IsHex(hash) {
		return "", "", false
	}
	if strings.HasPrefix(name, "(") || strings.HasPrefix(name, "[") {
		return "", "", false // "HASH (loader)": a note on the hash, not its name
	}
	if _, isValue := valueOf(name); isValue && shapeOf(name) != "filename" || strings.ContainsAny(name, `/\`) {
		return "", "", false
	}
	return hash, name, true
}

// labelBeforeValue splits "Payload URL https://…", a label of a few words that says a kind of
// indicator and a value, written without a colon.
func labelBeforeValue(text string) (label, value string, ok bool) {
	i := strings.LastIndexByte(text, ' ')
	if i < 0 {
		return "", "", false
	}
	label, value = strings.TrimSpace(text[:i]), text[i+1:]
	if words := strings.Fields(label); len(words) == 0 || len(words) > 4 {
		return "", "", false
	}
	if _, isValue := valueOf(value); !isValue {
		return "", "", false
	}
	switch meaningOf(label).role {
	case roleType, roleNetwork, roleHash:
		return label, value, true
	}
	return "", "", false
}

// assignment is `name = value`, as reports quote configurations.
var assignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.-]{0,40})\s*=\s*(\S.*)$`)
