package parse

import (
	"bytes"
	"iter"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
)

// An HTML page (a vendor's blog post or advisory, saved from the web) is read as a document:
// its headings, list items, paragraphs, tables and preformatted blocks are the blocks a
// Markdown document has, so a heading or a column says what a value is here as there.
// Scripts and styles are passed over; what the site puts around the publication (its
// navigation, header, sidebars and footer) is no part of it, and a line of it that mentions a
// value is listed with that reason. A link in running text is read as Markdown
// writes one, [text](target).

// readHTMLDocument reads a vendor's HTML page.
func readHTMLDocument(name string, data []byte) (*part, error) {
	return readDocument(name, pageText(data), htmlBlocks, FormatHTML).part(), nil
}

// pageText is a page in UTF-8: as it is when it is valid UTF-8, else decoded from the
// encoding its byte-order mark or <meta charset> declares (windows-1252 when none does, as
// browsers read such pages).
func pageText(data []byte) []byte {
	if utf8.Valid(data) {
		return data
	}
	enc, _, _ := charset.DetermineEncoding(data, "")
	if decoded, err := enc.NewDecoder().Bytes(data); err == nil {
		return decoded
	}
	return data
}

// IsHTML says whether data (a file's first bytes) is an HTML page, whatever its name.
func IsHTML(data []byte) bool {
	head := bytes.ToLower(bytes.TrimSpace(bytes.TrimPrefix(data[:min(len(data), 1024)], []byte("\ufeff"))))
	switch {
	case bytes.HasPrefix(head, []byte("<!doctype html")), bytes.HasPrefix(head, []byte("<html")):
		return true
	case bytes.HasPrefix(head, []byte("<!--")), bytes.HasPrefix(head, []byte("<?xml")):
		return bytes.Contains(head, []byte("<html"))
	}
	return false
}

// htmlSkipped are the elements whose content is code or decoration, not text.
var htmlSkipped = map[string]bool{
	"script": true, "style": true, "noscript": true, "template": true, "svg": true, "title": true,
	"button": true, "select": true, "iframe": true,
}

// htmlChrome are the elements that hold the site's text around the publication: anywhere in a
// page that does not mark its content, outside its <main> or <article> in one that does (where
// a <header> is the site's too; inside, a header, aside or footer is the post's own).
var htmlChrome = map[string]bool{"nav": true, "footer": true, "aside": true, "header": true}

// opened is an open element that may be the site's chrome.
type opened struct {
	name   string
	chrome bool
}

// htmlInline are the elements that do not break a line of text.
var htmlInline = map[string]bool{
	"a": true, "abbr": true, "b": true, "bdi": true, "bdo": true, "cite": true, "code": true, "data": true,
	"del": true, "dfn": true, "em": true, "font": true, "i": true, "img": true, "ins": true, "kbd": true,
	"mark": true, "q": true, "s": true, "samp": true, "small": true, "span": true, "strong": true,
	"sub": true, "sup": true, "time": true, "tt": true, "u": true, "var": true, "wbr": true,
}

// htmlReader turns an HTML token stream into blocks.
type htmlReader struct {
	yield   func(block) bool
	stopped bool
	line    int // the line of the token being read
	// articled says the page marks its content (<main>, <article>): a <header> outside
	// it is the site's, depth how many such elements are open.
	articled bool
	depth    int
	// chrome counts the open elements of the site's chrome among those that may be (open);
	// opens counts open's elements by name, so that an end tag with none open costs nothing.
	chrome int
	open   []opened
	opens  map[string]int

	skip     string // the skipped element open, "" for none
	skipNest int
	text     strings.Builder // the line of text being gathered
	textLine int
	bullet   bool // the line is a list item's first
	// bold counts the open <b> and <strong>; plain says the line has text outside them.
	bold    int
	plain   bool
	level   int // inside a heading of this level; 0 outside
	pre     *strings.Builder
	preLine int

	// href is the target of the link being read in running text, and anchorAt where its text
	// starts: a link is written as Markdown writes it, [text](target), when its line ends.
	href     string
	anchorAt int
	links    []linkSpan

	tables  int // open tables; only the outermost's cells are gathered
	rows    [][]string
	lines   []int
	row     []string
	rowLine int
	cell    *strings.Builder
}

func htmlBlocks(text string) iter.Seq[block] {
	return func(yield func(block) bool) {
		lower := strings.ToLower(text)
		h := &htmlReader{yield: yield, line: 1, articled: strings.Contains(lower, "<main") || strings.Contains(lower, "<article"), opens: map[string]int{}}
		z := html.NewTokenizer(strings.NewReader(text))
		for !h.stopped {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			newlines := bytes.Count(z.Raw(), []byte("\n")) // before Text and TagName reuse it
			switch tt {
			case html.TextToken:
				h.onText(string(z.Text()))
			case html.StartTagToken, html.SelfClosingTagToken:
				name, hasAttr := z.TagName()
				switch {
				case !hasAttr:
				case string(name) == "a":
					h.link(z)
				case string(name) == "meta" || string(name) == "time":
					h.published(z)
				}
				h.start(string(name), tt == html.SelfClosingTagToken)
			case html.EndTagToken:
				name, _ := z.TagName()
				h.end(string(name))
			}
			h.line += newlines
		}
		h.flush()
		h.endTable()
	}
}

// emit yields a block; in the site's chrome, its text as text outside the publication.
func (h *htmlReader) emit(b block) {
	if h.chrome > 0 {
		h.emitOutside(b)
		return
	}
	h.send(b)
}

// send yields a block unless the reader of blocks has stopped.
func (h *htmlReader) send(b block) {
	if !h.stopped && !h.yield(b) {
		h.stopped = true
	}
}

func (h *htmlReader) emitOutside(b block) {
	texts := []string{b.text}
	if b.kind == blockTable {
		texts = nil
		for _, row := range b.rows {
			texts = append(texts, strings.Join(row, " "))
		}
	}
	for _, text := range texts {
		if text != "" {
			h.send(block{kind: blockOutside, line: b.line, text: text})
		}
	}
}

func (h *htmlReader) onText(s string) {
	switch {
	case h.skip != "":
	case h.pre != nil:
		if h.pre.Len() == 0 {
			h.preLine = h.line
		}
		h.pre.WriteString(s)
	case h.cell != nil:
		h.cell.WriteString(s)
	case h.tables > 0: // a caption, or text between a table's cells
	default:
		if h.bold == 0 && strings.TrimSpace(s) != "" {
			h.plain = true
		}
		if h.textLine == 0 || strings.TrimSpace(h.text.String()) == "" {
			lead := s[:len(s)-len(strings.TrimLeft(s, " \t\r\n\f"))]
			h.textLine = h.line + strings.Count(lead, "\n")
		}
		h.text.WriteString(s)
	}
}

func (h *htmlReader) start(name string, selfClosing bool) {
	if h.skip != "" {
		if name == h.skip && !selfClosing {
			h.skipNest++
		}
		return
	}
	if htmlSkipped[name] {
		if !selfClosing {
			h.skip, h.skipNest = name, 1
		}
		return
	}
	if htmlChrome[name] && !selfClosing {
		h.openChrome(name)
	}
	if name == "br" {
		h.lineBreak()
		return
	}
	if name == "b" || name == "strong" {
		h.bold++
	}
	if htmlInline[name] || h.pre != nil {
		return
	}
	if h.tables > 0 {
		h.startInTable(name)
		return
	}
	h.flush()
	switch name {
	case "h1", "h2", "h3", "h4", "h5", "h6":
		h.level = int(name[1] - '0')
	case "li":
		h.bullet = true
	case "pre":
		h.pre = &strings.Builder{}
	case "table":
		h.tables++
	case "main", "article":
		h.depth++
	}
}

func (h *htmlReader) startInTable(name string) {
	switch name {
	case "table":
		h.tables++ // a table in a cell is read as the cell's text
	case "tr":
		if h.tables == 1 {
			h.endRow()
		}
	case "td", "th":
		if h.tables == 1 {
			h.endCell()
			if len(h.row) == 0 {
				h.rowLine = h.line
			}
			h.cell = &strings.Builder{}
		}
	case "p", "div", "li":
		if h.cell != nil && h.cell.Len() > 0 {
			h.cell.WriteString("\n")
		}
	}
}

func (h *htmlReader) end(name string) {
	if h.skip != "" {
		if name == h.skip {
			if h.skipNest--; h.skipNest == 0 {
				h.skip = ""
			}
		}
		return
	}
	if name == "b" || name == "strong" {
		h.bold = max(h.bold-1, 0)
	}
	switch {
	case name == "a":
		h.endLink()
	case name == "pre" && h.pre != nil:
		h.endPre()
	case htmlInline[name] || h.pre != nil:
	case h.tables > 0:
		h.endInTable(name)
	default:
		h.flush()
		if name == "main" || name == "article" {
			h.depth = max(h.depth-1, 0)
		}
	}
	if htmlChrome[name] {
		h.closeChrome(name)
	}
}

// openChrome notes an element that may be the site's chrome, and whether it is.
func (h *htmlReader) openChrome(name string) {
	chrome := h.depth == 0 && (h.articled || name != "header")
	if chrome {
		h.flush()
		h.chrome++
	}
	h.open = append(h.open, opened{name, chrome})
	h.opens[name]++
}

// closeChrome closes the innermost open element of that name, and those left open inside it.
func (h *htmlReader) closeChrome(name string) {
	if h.opens[name] == 0 {
		return
	}
	for i := len(h.open) - 1; i >= 0; i-- {
		if h.open[i].name != name {
			continue
		}
		for _, o := range h.open[i:] {
			if o.chrome {
				h.flush()
				h.chrome--
			}
			h.opens[o.name]--
		}
		h.open = h.open[:i]
		return
	}
}

func (h *htmlReader) endInTable(name string) {
	switch {
	case name == "table":
		if h.tables--; h.tables == 0 {
			h.endTable()
		}
	case h.tables > 1:
	case name == "td" || name == "th":
		h.endCell()
	case name == "tr":
		h.endRow()
	}
}

// publishedKeys name a page's publication date in its <meta> tags (Open Graph's article
// properties, schema.org's itemprop, Dublin Core, common CMS names), and on a <time>.
var publishedKeys = map[string]bool{
	"article:published_time": true, "og:published_time": true, "datepublished": true, "date": true, "dc.date": true,
	"dc.date.issued": true, "dcterms.created": true, "dcterms.issued": true, "publish-date": true, "pubdate": true,
	"publication_date": true, "citation_publication_date": true, "parsely-pub-date": true, "sailthru.date": true,
}

// published reads a publication date a <meta> tag or a <time itemprop="datePublished"> states:
// the page's own word on when it was published, as a Date: line is.
func (h *htmlReader) published(z *html.Tokenizer) {
	var named bool
	var value string
	for {
		key, val, more := z.TagAttr()
		switch string(key) {
		case "name", "property", "itemprop":
			named = named || publishedKeys[strings.ToLower(strings.TrimSpace(string(val)))]
		case "content", "datetime":
			value = strings.TrimSpace(string(val))
		}
		if !more {
			break
		}
	}
	if named && value != "" {
		h.send(block{kind: blockDate, line: h.line, text: value}) // the site's date, chrome or not
	}
}

// link notes where a link in running text starts, and its target.
func (h *htmlReader) link(z *html.Tokenizer) {
	if h.skip != "" || h.pre != nil || h.tables > 0 || h.level > 0 || h.chrome > 0 {
		return
	}
	for {
		key, val, more := z.TagAttr()
		if string(key) == "href" {
			h.href, h.anchorAt = strings.TrimSpace(string(val)), h.text.Len()
		}
		if !more {
			return
		}
	}
}

// linkSpan is a link's text in the line being gathered, from at to end, and its target.
type linkSpan struct {
	at, end int
	href    string
}

// endLink notes a link to the web whose text is not its target, to be written as
// [text](target), as Markdown would: where the publication points its readers. It is written
// when the line ends, so that a line of many links is not copied for each.
func (h *htmlReader) endLink() {
	href := h.href
	h.href = ""
	lower := strings.ToLower(href)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") || h.anchorAt > h.text.Len() {
		return
	}
	if anchor := collapse(h.text.String()[h.anchorAt:]); anchor == "" || anchor == href {
		return
	}
	h.links = append(h.links, linkSpan{at: h.anchorAt, end: h.text.Len(), href: href})
}

// withLinks is a line with its links written as [text](target).
func withLinks(line string, links []linkSpan) string {
	var b strings.Builder
	prev := 0
	for _, l := range links {
		b.WriteString(line[prev:l.at])
		b.WriteString("[" + collapse(line[l.at:l.end]) + "](" + l.href + ")")
		prev = l.end
	}
	b.WriteString(line[prev:])
	return b.String()
}

// lineBreak is a <br>: a new line in a block, a cell or a literal block.
func (h *htmlReader) lineBreak() {
	switch {
	case h.pre != nil:
		h.pre.WriteString("\n")
	case h.cell != nil:
		h.cell.WriteString("\n")
	default:
		h.flush()
	}
}

// flush ends the line of text (or the heading) being gathered.
func (h *htmlReader) flush() {
	text := collapse(withLinks(h.text.String(), h.links))
	h.text.Reset()
	h.links = h.links[:0]
	b := block{kind: blockText, line: h.textLine, text: text, bullet: h.bullet, strong: !h.plain}
	if h.level > 0 {
		b.kind, b.level = blockHeading, h.level
	}
	h.level, h.bullet, h.textLine, h.href, h.plain = 0, false, 0, "", false
	if text != "" {
		h.emit(b)
	}
}

// endPre gives a <pre> block's lines as a literal block.
func (h *htmlReader) endPre() {
	body := strings.TrimPrefix(h.pre.String(), "\n") // HTML drops a newline right after <pre>
	line := h.preLine
	if strings.HasPrefix(h.pre.String(), "\n") {
		line++
	}
	h.pre = nil
	for i, l := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		h.emit(block{kind: blockLiteral, line: line + i, text: strings.TrimSpace(l)})
	}
	h.emit(block{kind: blockLiteralEnd, line: h.line})
}

func (h *htmlReader) endCell() {
	if h.cell == nil {
		return
	}
	var parts []string
	for _, l := range strings.Split(h.cell.String(), "\n") {
		if l = collapse(l); l != "" {
			parts = append(parts, l)
		}
	}
	h.row = append(h.row, strings.Join(parts, "\n"))
	h.cell = nil
}

func (h *htmlReader) endRow() {
	h.endCell()
	if len(h.row) > 0 {
		h.rows = append(h.rows, h.row)
		h.lines = append(h.lines, h.rowLine)
	}
	h.row = nil
}

// endTable gives the outermost table's rows.
func (h *htmlReader) endTable() {
	h.endRow()
	if len(h.rows) > 0 {
		h.emit(block{kind: blockTable, line: h.lines[0], rows: h.rows, lines: h.lines})
	}
	h.rows, h.lines, h.tables = nil, nil, 0
}

// collapse folds HTML's runs of white space (new lines, tabs, non-breaking spaces) to one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }
