package parse

// A plain IOC list is what analysts paste from a blog post, and sectioned text is how some
// vendors publish (Unit42's): one indicator a line, often defanged (hxxp://evil[.]com,
// 1.2.3[.]4), among headings, SECTION: lines, labelled lines (SHA256 hash: …), comments (#,
// //) and prose. It is read as a document in the text syntax (see syntax.go): each line
// that holds values gives them, flagged for detection (a list of IOCs is meant for it), and a
// line of prose becomes a text attribute, so that normalize lists it as skipped with its line.
// The title and date come from the options (--title, --date) or from the file name
// (2024-05-01-evil-campaign.txt).

// readIOCList reads a plain IOC list or sectioned text.
func readIOCList(name string, data []byte) (*part, error) {
	return readDocument(name, data, textSyntax.blocks, FormatIOCs).part(), nil
}

// readVendorDocument reads a vendor's Markdown or AsciiDoc document.
func readVendorDocument(name string, data []byte) (*part, error) {
	syn := markdownSyntax
	if isAsciiDoc(name, data) {
		syn = asciiDocSyntax
	}
	return readDocument(name, data, syn.blocks, FormatDocument).part(), nil
}

func (d *docReader) part() *part {
	return &part{r: d.c.r, title: d.title, dates: d.dates, seen: d.c.seen, mentioned: d.mentioned}
}
