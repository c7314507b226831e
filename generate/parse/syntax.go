package parse

import (
	"iter"
	"slices"
	"strings"
)

// A syntax turns a document into blocks (headings, lines of text, literal blocks, tables), and
// the document reader (document.go) reads blocks the same whatever syntax marked them: what a
// value is, a heading or a column says, in Markdown as in AsciiDoc or HTML. Each syntax knows
// only its own markup. The syntaxes written a line at a time share one line classifier
// (lineSyntax.blocks); HTML has its own (html.go).
type syntax func(text string) iter.Seq[block]

type blockKind uint8

const (
	blockText       blockKind = iota // a line of text: a bullet, a labelled line, values or prose
	blockBreak                       // an empty line or a block's edge: it ends a file's labelled lines
	blockHeading                     // a heading, level 1 to 6
	blockLiteral                     // a line of a literal block (fenced code, ----, <pre>)
	blockLiteralEnd                  // the end of a literal block
	blockTable                       // a table's rows, its header first if it has one
	blockDate                        // a date the markup states (:revdate:, a page's <meta>)
	blockOutside                     // text around the publication (a web page's navigation, footer)
)

// block is one piece of a document's structure.
type block struct {
	kind   blockKind
	line   int    // where it is, from 1
	text   string // trimmed
	level  int    // a heading's
	bullet bool   // a text line that is a list item
	// strong says a text line is written all in bold (**Mutexes**, <p><strong>C2</strong></p>):
	// a heading by its looks, when it holds no value.
	strong bool
	rows   [][]string
	lines  []int // each row's line
}

// lineSyntax is a syntax written a line at a time: plain text, Markdown, AsciiDoc.
type lineSyntax struct {
	// headingMark starts a heading line, repeated for its level: # in Markdown (and in text, as
	// people write titles there too), = in AsciiDoc.
	headingMark byte
	// markup reads a line that is the syntax's own markup and no content (a text list's #
	// comment, AsciiDoc's attributes and block titles), with a date it states.
	markup func(trimmed string) (date string, isMarkup bool)
	// bold are the marks around bold text: a line written all in bold is a heading by its looks.
	bold []string
	// html says the syntax may embed HTML blocks (Markdown: GitHub READMEs write tables and
	// lists in HTML), which the HTML syntax reads.
	html bool
}

var (
	textSyntax     = lineSyntax{headingMark: '#', markup: textComment, bold: []string{"**", "__"}}
	markdownSyntax = lineSyntax{headingMark: '#', markup: func(string) (string, bool) { return "", false }, bold: []string{"**", "__"}, html: true}
	asciiDocSyntax = lineSyntax{headingMark: '=', markup: asciiDocMarkup, bold: []string{"**", "*"}}
)

// blocks classifies the lines of text: blank lines, // comments, headings, the syntax's
// markup, fenced blocks, AsciiDoc |=== and Markdown pipe tables, and lines of text.
func (s lineSyntax) blocks(text string) iter.Seq[block] {
	return func(yield func(block) bool) {
		lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
		ends := &htmlBlockEnds{lines: lines, closing: map[string][]int{}}
		fence := ""
		for i := 0; i < len(lines); i++ {
			trimmed, n := strings.TrimSpace(lines[i]), i+1
			if fence != "" {
				b := block{kind: blockLiteral, line: n, text: trimmed}
				if trimmed == fence || strings.HasPrefix(fence, "```") && trimmed == "```" {
					fence, b.kind = "", blockLiteralEnd
				}
				if !yield(b) {
					return
				}
				continue
			}
			b := block{kind: blockText, line: n, text: trimmed}
			tag := ""
			if s.html {
				tag = htmlBlockTag(trimmed)
			}
			switch {
			case trimmed == "":
				b.kind = blockBreak
			case strings.HasPrefix(trimmed, "//") && !strings.HasPrefix(trimmed, "///"):
				continue // a comment in AsciiDoc and in text lists
			case s.heading(&b):
			case s.markupLine(&b):
				if b.text == "" {
					continue
				}
			case isFence(trimmed):
				fence, b.kind = trimmed, blockBreak
			case isTableDelimiter(trimmed):
				b.kind = blockTable
				b.rows, b.lines, i = asciiDocTable(lines, i)
			case strings.HasPrefix(trimmed, "|") && i+1 < len(lines) && isPipeSeparator(lines[i+1]):
				b.kind = blockTable
				b.rows, b.lines, i = pipeTable(lines, i)
			case tag != "":
				end := ends.end(i, tag)
				for b := range htmlBlocks(strings.Join(lines[i:end+1], "\n")) {
					if !yield(offsetBlock(b, i)) {
						return
					}
				}
				i = end
				continue
			default:
				b.text, b.bullet = bulletItem(trimmed)
				if !b.bullet {
					b.text, b.strong = boldLine(b.text, s.bold)
				}
			}
			if !yield(b) {
				return
			}
		}
	}
}

// htmlBlockTags are the elements that start an HTML block in Markdown.
var htmlBlockTags = map[string]bool{"table": true, "thead": true, "tbody": true, "tr": true, "ul": true, "ol": true, "li": true,
	"p": true, "div": true, "pre": true, "dl": true, "details": true, "blockquote": true, "section": true, "article": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true}

// htmlBlockTag is the element an HTML block in Markdown starts with (<table>, <ul class=…>), or "".
func htmlBlockTag(trimmed string) string {
	rest, ok := strings.CutPrefix(trimmed, "<")
	if !ok {
		return ""
	}
	end := strings.IndexAny(rest, " \t>/")
	if end <= 0 {
		return ""
	}
	if name := strings.ToLower(rest[:end]); htmlBlockTags[name] {
		return name
	}
	return ""
}

// htmlBlockEnds finds where Markdown's HTML blocks end. The lines that close each element, and
// the blank lines, are found once for the document: a search from each block would read the
// rest of the document again for every unclosed one.
type htmlBlockEnds struct {
	lines   []string
	closing map[string][]int // by element: the lines holding its end tag
	blanks  []int
}

// end is the index of the last line of the HTML block of element tag that starts at
// lines[at]: the line that closes the element, else the line before the next blank one.
func (e *htmlBlockEnds) end(at int, tag string) int {
	closes, ok := e.closing[tag]
	if !ok {
		closing := "</" + tag
		for i, l := range e.lines {
			if strings.Contains(strings.ToLower(l), closing) {
				closes = append(closes, i)
			}
		}
		e.closing[tag] = closes
	}
	if k, _ := slices.BinarySearch(closes, at); k < len(closes) {
		return closes[k]
	}
	if e.blanks == nil {
		e.blanks = []int{}
		for i, l := range e.lines {
			if strings.TrimSpace(l) == "" {
				e.blanks = append(e.blanks, i)
			}
		}
	}
	if k, _ := slices.BinarySearch(e.blanks, at+1); k < len(e.blanks) {
		return e.blanks[k] - 1
	}
	return len(e.lines) - 1
}

// offsetBlock places a block read from lines starting at index at where it stands.
func offsetBlock(b block, at int) block {
	b.line += at
	if b.lines != nil {
		lines := make([]int, len(b.lines))
		for i, l := range b.lines {
			lines[i] = l + at
		}
		b.lines = lines
	}
	return b
}

// heading reads a heading line (#### Title, == Title) into b.
func (s lineSyntax) heading(b *block) bool {
	text := b.text
	level := 0
	for level < len(text) && text[level] == s.headingMark {
		level++
	}
	if level == 0 || level > 6 || level == len(text) || text[level] != ' ' {
		return false
	}
	b.kind, b.level = blockHeading, level
	b.text = strings.TrimSpace(strings.Trim(text[level:], string(s.headingMark)+" "))
	return true
}

// markupLine reads a line of the syntax's own markup into b: a date it states, or nothing.
func (s lineSyntax) markupLine(b *block) bool {
	date, ok := s.markup(b.text)
	if ok {
		b.kind, b.text = blockDate, date
	}
	return ok
}

// textComment is a text list's comment line (# …; "# Title" is a heading).
func textComment(trimmed string) (string, bool) { return "", strings.HasPrefix(trimmed, "#") }

// asciiDocMarkup reads AsciiDoc's block attributes, block titles and document attributes, with
// :revdate: (or :date:) as the document's date.
func asciiDocMarkup(text string) (date string, ok bool) {
	switch {
	case strings.HasPrefix(text, "[") && strings.HasSuffix(text, "]") && !strings.Contains(text, " "):
		return "", true
	case strings.HasPrefix(text, "[") && strings.HasSuffix(text, "]") && strings.Contains(text, "="):
		return "", true
	case strings.HasPrefix(text, ".") && len(text) > 1 && text[1] != '.' && text[1] != ' ':
		return "", true // a block title
	case strings.HasPrefix(text, ":") && strings.Count(text, ":") >= 2:
		name, value, _ := strings.Cut(text[1:], ":")
		if name == "revdate" || name == "date" {
			return strings.TrimSpace(value), true
		}
		return "", true
	}
	return "", false
}

func isFence(text string) bool {
	for _, f := range []string{"----", "```", "....", "~~~"} {
		if strings.HasPrefix(text, f) && strings.Trim(text, f[:1]) == "" {
			return true
		}
		if f == "```" && strings.HasPrefix(text, f) && !strings.Contains(text[3:], "`") {
			return true // ```text
		}
	}
	return false
}

// boldLine strips the marks of a line written all in bold (**Samples**, **C2:**, __Mutexes__:,
// AsciiDoc's *Mutexes*).
func boldLine(text string, marks []string) (string, bool) {
	for _, mark := range marks {
		inner, ok := strings.CutPrefix(text, mark)
		if !ok {
			continue
		}
		inner, colon := strings.CutSuffix(inner, ":")
		inner, closed := strings.CutSuffix(inner, mark)
		if !closed || inner == "" || strings.Contains(inner, mark) || strings.TrimSpace(inner) != inner {
			continue
		}
		if colon {
			inner += ":"
		}
		return inner, true
	}
	return text, false
}

// bulletItem strips a list bullet: "- ", "* ", "+ ", "• ", "1. ".
func bulletItem(text string) (string, bool) {
	for _, b := range []string{"- ", "* ", "+ ", "• ", "** ", "*** "} {
		if strings.HasPrefix(text, b) {
			return strings.TrimSpace(text[len(b):]), true
		}
	}
	if i := strings.Index(text, ". "); i > 0 && i <= 3 && isDigits(text[:i]) {
		return strings.TrimSpace(text[i+2:]), true
	}
	return text, false
}
