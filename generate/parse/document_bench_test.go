package parse

import (
	"strings"
	"testing"
)

// A Markdown document of 20,000 HTML list items that never close: each block's end is found
// in the index of end tags and blank lines, once for the document (5.9 s for this document when
// every block searched the rest of it; 0.18 s since).
func BenchmarkUnclosedHTMLBlocks(b *testing.B) {
	doc := []byte("# T\n\nDate: 2024-01-02\n\n" + strings.Repeat("<li>evil[.]com\n\n", 20000))
	for b.Loop() {
		readDocument("x.md", doc, markdownSyntax.blocks, FormatDocument)
	}
}

// A web page's paragraph of 20,000 links: each link is written as [text](target) once, when the
// line ends (3.9 s for this page when each link rewrote the line so far; 0.18 s since).
func BenchmarkManyLinksInALine(b *testing.B) {
	doc := []byte("<h1>T</h1><p>" + strings.Repeat(`see <a href="https://example.org/a">this post</a> and `, 20000) + "</p>")
	for b.Loop() {
		readDocument("x.html", doc, htmlBlocks, FormatHTML)
	}
}

// A page of 30,000 open <nav> and 30,000 end tags of an element none of them is: an end tag
// with none of its kind open costs nothing (0.75 s for this page when each searched the open
// elements, growing with the square of the page; 13 ms since).
func BenchmarkUnmatchedChromeTags(b *testing.B) {
	doc := []byte("<h1>T</h1><p>evil[.]com</p>" + strings.Repeat("<nav>", 30000) + strings.Repeat("</aside>", 30000))
	for b.Loop() {
		readDocument("x.html", doc, htmlBlocks, FormatHTML)
	}
}
