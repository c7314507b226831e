package parse

import (
	"github.com/rulegen/rulegen/generate/report"
)

// A plain IOC list is what analysts paste from a blog post, and sectioned text is how some
// vendors publish (Unit42's): one indicator a line, often defanged (hxxp://evil[.]com,
// 1.2.3[.]4), among headings, SECTION: lines, labelled lines (SHA256 hash: …), comments (#,
// //) and prose. It is read as a document of the text flavour (see document.go): each line
// that holds values gives them, flagged for detection (a list of IOCs is meant for it), and a
// line of prose becomes a text attribute, so that normalize lists it as skipped with its line.
// The title and date come from the options (--title, --date) or from the file name
// (2024-05-01-evil-campaign.txt).

// IOCs parses a plain IOC list or a sectioned text. title and date, when given, name and date
// the report.
func IOCs(name string, data []byte, title, date string) (*report.Report, error) {
	d, err := readDocument(name, data, flavourText, "iocs")
	if err != nil {
		return nil, err
	}
	return publish(name, []*part{d.part()}, title, date)
}

// Document parses a vendor's Markdown or AsciiDoc publication (one that is no rendering of a
// MISP event). title and date, when given, override what the document says.
func Document(name string, data []byte, title, date string) (*report.Report, error) {
	fl := flavourMarkdown
	if isAsciiDoc(name, data) {
		fl = flavourAsciiDoc
	}
	d, err := readDocument(name, data, fl, "document")
	if err != nil {
		return nil, err
	}
	if !hasIndicators(d.c.r) {
		return nil, inputError(report.Pos{File: name, Line: 1}, "not a threat report: no indicators in its tables, lists or labelled lines, and none of the sections '## Key Intelligence', '## Indicators of Compromise', '## Objects'")
	}
	return publish(name, []*part{d.part()}, title, date)
}

func (d *docReader) part() *part {
	return &part{r: d.c.r, title: d.title, dates: d.dates, seen: d.c.seen}
}
