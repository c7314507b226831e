package parse

import (
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// Hash lists (samples.sha256, iocs.md5, hashes.txt beside a publication): one hash a line,
// optionally followed by the file's name (sha256sum's "hash  name" or "hash *name"). A line
// that is no hash is listed as free text.

func readHashes(name string, data []byte) *part {
	c := newCollector(name, FormatHashes)
	text := strings.TrimPrefix(string(data), "\ufeff")
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		pos := report.Pos{File: name, Line: i + 1}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "//") {
			continue
		}
		if hash, file, ok := hashAndName(line); ok {
			c.row(pos, []meaning{{role: roleHash}, {role: roleType, typ: "filename"}}, []string{hash, file})
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
