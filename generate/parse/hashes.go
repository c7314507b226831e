package parse

import (
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// Hash lists (samples.sha256, iocs.md5, hashes.txt beside a publication): one hash a line,
// optionally followed by the file's name (sha256sum's "hash  name" or "hash *name"). A line
// that is no hash is listed as free text.

func readHashes(name string, data []byte) *part {
	c := newCollector(name, FormatHashes)
	text := strings.TrimPrefix(string(data), "\ufeff")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	growFor(c.r, lines)
	cols := []meaning{{role: roleHash}, {role: roleType, typ: "filename"}}
	for i, line := range lines {
		line = strings.TrimSpace(line)
		pos := report.Pos{File: name, Line: i + 1}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "//") {
			continue
		}
		if hash, file, ok := hashAndName(line); ok {
			c.row(pos, cols, []string{hash, file})
			continue
		}
		if v, ok := valueOf(line); ok && report.HashTypeOfLength(len(v.value)) == v.typ {
			c.value(pos, v, "", report.Seen{})
			continue
		}
		c.text(pos, line)
	}
	return &part{r: c.r}
}

// growFor makes room in r for the objects (a hash and a name) and values (a hash alone) that
// lines look like they hold: a bulk list has a million, and growing a slice to a million
// allocates it about five times over.
func growFor(r *report.Report, lines []string) {
	objects, values := 0, 0
	for _, l := range lines {
		switch l = strings.TrimSpace(l); {
		case l == "":
		case strings.ContainsAny(l, " \t"):
			objects++
		default:
			values++
		}
	}
	r.Objects = slices.Grow(r.Objects, objects)
	r.Attributes = slices.Grow(r.Attributes, values)
}
