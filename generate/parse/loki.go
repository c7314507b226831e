package parse

import (
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// LOKI and THOR IOC lists (the iocs/ of Florian Roth's signature-base: hash-iocs.txt,
// c2-iocs.txt, filename-iocs.txt, and the lists vendors write in their shape): one IOC a line
// as `value;comment`, `#` comment lines. A filename IOC is a regular expression with a score,
// `regex;score[;false-positive regex]`: one that is a literal name becomes a file name, any
// other is skipped with the reason; the comment describes its value and is never one.

// isLOKI says whether text is such a list: most of its lines are `value;comment` or
// `regex;score`.
func isLOKI(data []byte) bool {
	lines, loki := 0, 0
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		first, rest, ok := strings.Cut(line, ";")
		if !ok {
			continue
		}
		score, _, _ := strings.Cut(rest, ";")
		if _, isValue := valueOf(strings.TrimSpace(first)); isValue || isDigits(strings.TrimSpace(score)) {
			loki++
		}
	}
	return lines > 0 && loki*10 >= lines*8
}

func readLOKI(name string, data []byte) *part {
	c := newCollector(name, FormatLOKI)
	for i, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "\ufeff"))
		pos := report.Pos{File: name, Line: i + 1}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, ";", 3)
		first := strings.TrimSpace(fields[0])
		rest := ""
		if len(fields) > 1 {
			rest = strings.TrimSpace(fields[1])
		}
		if v, ok := valueOf(first); ok && v.typ != "filename" && v.typ != "path" {
			c.value(pos, v, rest, report.Seen{}) // a hash, a C2: the comment describes it
			continue
		}
		if isDigits(rest) || len(fields) == 1 {
			c.filenameIOC(pos, first, rest)
			continue
		}
		c.text(pos, line)
	}
	return &part{r: c.r}
}

// filenameIOC reads a LOKI filename IOC: a literal file name is one; a pattern is skipped.
func (c *collector) filenameIOC(pos report.Pos, pattern, score string) {
	literal, ok := regexLiteral(pattern)
	switch {
	case ok && !strings.ContainsAny(literal, `\/`) && literal != "":
		c.value(pos, typed{"filename", literal}, "LOKI filename IOC, score "+score, report.Seen{})
	case ok:
		c.unusable(pos, pattern, "a LOKI/THOR filename IOC that is part of a path (score "+score+"): rules match whole file names and paths")
	default:
		c.unusable(pos, pattern, "a LOKI/THOR filename IOC that is a regular expression (score "+score+"): rulegen writes no rule from a pattern")
	}
}

// regexLiteral is the text a regular expression matches when it matches only that text
// (`svchost\.exe`): its escapes undone; ok is false when it holds any operator.
func regexLiteral(re string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(re); i++ {
		ch := re[i]
		switch {
		case ch == '\\' && i+1 < len(re):
			i++
			next := re[i]
			if isAlnum(rune(next)) {
				return "", false // \d, \w, \s: classes
			}
			b.WriteByte(next)
		case strings.IndexByte(".*+?[](){}|^$", ch) >= 0:
			return "", false
		default:
			b.WriteByte(ch)
		}
	}
	return b.String(), true
}
