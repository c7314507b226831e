package parse

import (
	"slices"
	"strings"
)

// formatSpec is one input format: what names it, what its content looks like, how a vendor's
// file of it is read. --format, sniffing, a publication folder's files, what makes a folder a
// publication and the reader dispatch are all built from formatTable: a new format is a file
// with its reader and a row here.
type formatSpec struct {
	format Format
	// help says what the format is, for --format's help.
	help string
	// extensions name the format (lower case, with the dot); none: only content says it.
	extensions []string
	// refine, if set, tells this format from the one the name says by content (a .txt that is a
	// LOKI list): it is asked for files named as base.
	base   Format
	refine func(data []byte) bool
	// marker: a file of the format makes its folder a publication (a folder of MISP events or
	// IOC lists is a folder of reports).
	marker bool
	// read reads a vendor's file of the format into a part; nil for exports (MISP, STIX, the
	// Markdown rendering of a MISP event), which hold whole reports.
	read func(name string, data []byte) (*part, error)
}

// formatTable lists every input format, in --format's order.
var formatTable = []formatSpec{
	{format: FormatMarkdown, help: "the Markdown rendering of a MISP event", extensions: []string{".md", ".markdown"}},
	{format: FormatMISP, help: "MISP JSON: an event, a REST response, a feed's event", extensions: []string{".json"}},
	{format: FormatSTIX, help: "a STIX 2.0 or 2.1 JSON bundle"},
	{format: FormatIOCs, help: "a plain IOC list or sectioned text", extensions: []string{".txt", ".lst", ".list"}, read: readIOCList},
	{format: FormatDocument, help: "a vendor's Markdown or AsciiDoc document", extensions: []string{".adoc", ".asciidoc"}, marker: true, read: readVendorDocument},
	{format: FormatCSV, help: "CSV or TSV, by its header or its values' shapes", extensions: []string{".csv", ".tsv"}, marker: true, read: readCSV},
	{format: FormatHashes, help: "a hash list, maybe with file names", extensions: []string{".md5", ".sha", ".sha1", ".sha256", ".sha512", ".md5sum", ".sha1sum", ".sha256sum"}, marker: true,
		read: func(name string, data []byte) (*part, error) { return readHashes(name, data), nil }},
	{format: FormatYARA, help: "a publisher's YARA rules", extensions: []string{".yar", ".yara"}, marker: true,
		read: func(name string, data []byte) (*part, error) { return readYARA(name, data), nil }},
	{format: FormatSigma, help: "a publisher's Sigma rules", extensions: []string{".yml", ".yaml"}, read: readSigma},
	{format: FormatJSON, help: "a vendor's JSON of indicators (neither MISP nor STIX), typed by its keys (JSON Lines too)", extensions: []string{".jsonl", ".ndjson"}, marker: true, read: readJSONIOCs},
	{format: FormatHTML, help: "a vendor's HTML page (a blog post or advisory saved from the web)", extensions: []string{".html", ".htm", ".xhtml"}, marker: true, read: readHTMLDocument},
	{format: FormatXLSX, help: "a spreadsheet (.xlsx), each sheet read as a CSV file", extensions: []string{".xlsx"}, marker: true, read: readXLSX},
	{format: FormatOpenIOC, help: "an OpenIOC 1.0 or 1.1 document (XML)", extensions: []string{".ioc"}, marker: true, read: readOpenIOC},
	{format: FormatLOKI, help: "a LOKI/THOR value;comment list", base: FormatIOCs, refine: isLOKI,
		read: func(name string, data []byte) (*part, error) { return readLOKI(name, data), nil }},
}

func specOf(f Format) (formatSpec, bool) {
	i := slices.IndexFunc(formatTable, func(s formatSpec) bool { return s.format == f })
	if i < 0 {
		return formatSpec{}, false
	}
	return formatTable[i], true
}

// formatOfExtension is the format whose extensions hold ext (lower case, with the dot).
func formatOfExtension(ext string) Format {
	for _, s := range formatTable {
		if slices.Contains(s.extensions, ext) {
			return s.format
		}
	}
	return FormatAuto
}

// refined is the format a file named as f is by its content: a LOKI list among .txt files.
func refined(f Format, data []byte) Format {
	for _, s := range formatTable {
		if s.base == f && s.base != FormatAuto && s.refine(data) {
			return s.format
		}
	}
	return f
}

// vendorFormat says whether a format is one vendors publish in, as opposed to an export of a
// MISP event or a STIX bundle.
func vendorFormat(f Format) bool {
	s, ok := specOf(f)
	return ok && s.read != nil
}

// readVendorPart reads a file in one of the formats vendors publish in (format is known).
func readVendorPart(name string, data []byte, format Format) (*part, error) {
	if s, ok := specOf(format); ok && s.read != nil {
		return s.read(name, data)
	}
	return readIOCList(name, data)
}

// FormatHelp lists the formats for --format's help: "name (what it is)".
func FormatHelp() string {
	var parts []string
	for _, s := range formatTable {
		parts = append(parts, string(s.format)+": "+s.help)
	}
	return "auto (by name and content); " + strings.Join(parts, "; ")
}

// publicationExtensions are the files of a publication folder rulegen reads, by extension:
// the formats it reads, exports included.
func publicationExtensions() []string {
	var out []string
	for _, s := range formatTable {
		out = append(out, s.extensions...)
	}
	return out
}
