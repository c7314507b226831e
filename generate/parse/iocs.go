package parse

// A plain IOC list is what analysts paste from a blog post, and sectioned text is how some
// vendors publish (Unit42's): one indicator a line, often defanged (hxxp://evil[.]com,
// 1.2.3[.]4), among headings, SECTION: lines, labelled lines (SHA256 hash: …), comments (#,
// //) and prose. It is read as a document of the text flavour (see document.go): each line
// that holds values gives them, flagged for detection (a list of IOCs is meant for it), and a
// line of prose becomes a text attribute, so that normalize lists it as skipped with its line.
// The title and date come from the options (--title, --date) or from the file name
// (2024-05-01-evil-campaign.txt).

// readVendorPart reads a file in one of the formats vendors publish in (format is known).
func readVendorPart(name string, data []byte, format Format) (*part, error) {
	switch format {
	case FormatCSV:
		return readCSV(name, data)
	case FormatHashes:
		return readHashes(name, data), nil
	case FormatYARA:
		return readYARA(name, data), nil
	case FormatSigma:
		return readSigma(name, data)
	case FormatLOKI:
		return readLOKI(name, data), nil
	case FormatDocument:
		fl := flavourMarkdown
		if isAsciiDoc(name, data) {
			fl = flavourAsciiDoc
		}
		return readDocument(name, data, fl, FormatDocument).part(), nil
	}
	return readDocument(name, data, flavourText, FormatIOCs).part(), nil
}

// vendorFormat says whether a format is one vendors publish in, as opposed to an export of a
// MISP event or a STIX bundle.
func vendorFormat(f Format) bool {
	switch f {
	case FormatIOCs, FormatDocument, FormatCSV, FormatHashes, FormatYARA, FormatSigma, FormatLOKI:
		return true
	}
	return false
}

func (d *docReader) part() *part {
	return &part{r: d.c.r, title: d.title, dates: d.dates, seen: d.c.seen, mentioned: d.mentioned}
}
