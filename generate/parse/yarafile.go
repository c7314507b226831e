package parse

import (
	"regexp"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// YARA files (.yar, .yara) a publisher ships beside its indicators are passed through as MISP
// yara attributes are: the file is one attribute, which the pipeline compiles, renames into
// the report's namespace and gives rulegen's meta (or skips, with libyara's message).

// metaDate is a rule's date meta: a YARA file alone is dated by its newest rule, when nothing
// else dates it.
var metaDate = regexp.MustCompile(`(?m)^\s*(?:date|created|last_modified|modified)\s*=\s*"(\d{4}-\d{2}-\d{2})`)

func readYARA(name string, data []byte) *part {
	c := newCollector(name, FormatYARA)
	text := strings.TrimPrefix(string(data), "\ufeff")
	c.r.Attributes = append(c.r.Attributes, report.Attribute{Type: "yara", Value: text, ToIDS: true, Pos: report.Pos{File: name, Line: 1}})
	p := &part{r: c.r}
	for _, m := range metaDate.FindAllStringSubmatch(text, -1) {
		p.mentioned = append(p.mentioned, m[1])
	}
	return p
}
