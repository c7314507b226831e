package parse

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/report"
)

// The markdown rendering of a MISP event, as analysts paste it around:
//
//	# Threat Report: 2020-03-03: Title
//	## Key Intelligence
//	* Date: 2020-03-03
//	* Threat Level: 3 (Low)
//	* Tags: misp-galaxy:malpedia="Remcos", tlp:white
//	## Indicators of Compromise (IOCs)
//	### Network activity
//	* domain: example.com
//	## Objects
//	### file — File object describing a file with meta-information
//	* [Payload delivery] filename: x.doc

var (
	datedTitle   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}:\s*`)
	threatLevel  = regexp.MustCompile(`^([1-4])\s*(?:\((.*)\))?$`)
	objectBullet = regexp.MustCompile(`^\[([^\]]*)\]\s*(.*)$`)
	objectHead   = regexp.MustCompile(`^(\S+)\s*(?:[—–-]\s*(.*))?$`)
)

// MISP's names for threat_level_id.
var threatLevelNames = map[int]string{1: "High", 2: "Medium", 3: "Low", 4: "Undefined"}

type section int

const (
	sectionOther section = iota
	sectionKeyIntel
	sectionIndicators
	sectionObjects
)

type markdownParser struct {
	r        *report.Report
	section  section
	category string         // current ### heading in the indicators section
	object   *report.Object // current ### heading in the objects section
	sections int            // report sections seen, to tell a report from other markdown
}

// Markdown parses the markdown rendering of a MISP event.
func Markdown(name string, data []byte) (*report.Report, error) {
	p := &markdownParser{r: &report.Report{Source: name, Format: report.FormatMarkdown}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), " \t\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if err := p.line(report.Pos{File: name, Line: line}, text); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, inputError(report.Pos{File: name, Line: line + 1}, "%v", err)
	}
	p.flushObject()
	if p.r.Title == "" {
		return nil, inputError(report.Pos{File: name, Line: 1}, "not a threat report: no '# ' title heading")
	}
	if p.sections == 0 {
		return nil, inputError(report.Pos{File: name, Line: 1},
			"not a threat report: none of the sections '## Key Intelligence', '## Indicators of Compromise', '## Objects'")
	}
	return p.r, nil
}

func (p *markdownParser) line(pos report.Pos, text string) error {
	switch {
	case strings.HasPrefix(text, "### "):
		return p.subheading(pos, strings.TrimSpace(text[4:]))
	case strings.HasPrefix(text, "## "):
		p.heading(strings.TrimSpace(text[3:]))
		return nil
	case strings.HasPrefix(text, "# "):
		return p.title(pos, strings.TrimSpace(text[2:]))
	}
	item, ok := bulletText(text)
	if !ok {
		return nil // prose, rules and blank lines carry no indicators
	}
	switch p.section {
	case sectionKeyIntel:
		return p.keyIntel(pos, item)
	case sectionIndicators:
		return p.indicator(pos, item)
	case sectionObjects:
		return p.objectAttribute(pos, item)
	}
	return nil
}

func bulletText(text string) (string, bool) {
	t := strings.TrimLeft(text, " \t")
	for _, b := range []string{"* ", "- ", "+ "} {
		if strings.HasPrefix(t, b) {
			return strings.TrimSpace(t[2:]), true
		}
	}
	return "", false
}

func (p *markdownParser) title(pos report.Pos, text string) error {
	if p.r.Title != "" {
		return inputError(pos, "second '# ' title %q: one report per file", text)
	}
	text = strings.TrimSpace(strings.TrimPrefix(text, "Threat Report:"))
	if m := datedTitle.FindString(text); m != "" {
		if p.r.Date == "" {
			p.r.Date = m[:10]
		}
		text = text[len(m):]
	}
	if text == "" {
		return inputError(pos, "empty report title")
	}
	p.r.Title = text
	return nil
}

func (p *markdownParser) heading(text string) {
	p.flushObject()
	p.category = ""
	lower := strings.ToLower(text)
	switch {
	case strings.HasPrefix(lower, "key intelligence"):
		p.section = sectionKeyIntel
	case strings.HasPrefix(lower, "indicators of compromise"), lower == "indicators", lower == "iocs":
		p.section = sectionIndicators
	case lower == "objects":
		p.section = sectionObjects
	default:
		p.section = sectionOther
		return
	}
	p.sections++
}

func (p *markdownParser) subheading(pos report.Pos, text string) error {
	switch p.section {
	case sectionIndicators:
		p.category = text
	case sectionObjects:
		p.flushObject()
		m := objectHead.FindStringSubmatch(text)
		if m == nil {
			return inputError(pos, "object heading %q: want '### <object> — <description>'", text)
		}
		p.object = &report.Object{Name: m[1], Description: strings.TrimSpace(m[2]), Pos: pos}
	}
	return nil
}

func (p *markdownParser) flushObject() {
	if p.object != nil {
		p.r.Objects = append(p.r.Objects, *p.object)
		p.object = nil
	}
}

func (p *markdownParser) keyIntel(pos report.Pos, item string) error {
	key, value, ok := strings.Cut(item, ":")
	if !ok {
		return nil
	}
	value = strings.TrimSpace(value)
	switch strings.ToLower(strings.TrimSpace(key)) {
	case "date":
		if _, err := time.Parse(time.DateOnly, value); err != nil {
			return inputError(pos, "date %q: want YYYY-MM-DD", value)
		}
		p.r.Date = value
	case "threat level":
		m := threatLevel.FindStringSubmatch(value)
		if m == nil {
			return inputError(pos, "threat level %q: want 1-4 with an optional (name)", value)
		}
		id, _ := strconv.Atoi(m[1])
		p.r.ThreatLevel = report.ThreatLevel{ID: id, Name: threatLevelNames[id]}
	case "tags":
		tags, err := splitTags(value)
		if err != nil {
			return inputError(pos, "tags %q: %v", value, err)
		}
		p.r.Context.Add(tagContext(tags, pos))
		p.r.Context.Pos = pos
	case "uuid", "event uuid":
		p.r.ID = value
	}
	return nil
}

func (p *markdownParser) indicator(pos report.Pos, item string) error {
	typ, value, err := typedValue(pos, item)
	if err != nil {
		return err
	}
	p.r.Attributes = append(p.r.Attributes, report.Attribute{
		Category: p.category, Type: typ, Value: value, ToIDS: true, Pos: pos,
	})
	return nil
}

func (p *markdownParser) objectAttribute(pos report.Pos, item string) error {
	if p.object == nil {
		return inputError(pos, "attribute %q outside an object: want a '### <object>' heading first", item)
	}
	category := ""
	if m := objectBullet.FindStringSubmatch(item); m != nil {
		category, item = m[1], m[2]
	}
	typ, value, err := typedValue(pos, item)
	if err != nil {
		return err
	}
	p.object.Attributes = append(p.object.Attributes, report.Attribute{
		Category: category, Type: typ, Value: value, ToIDS: true, Pos: pos,
	})
	return nil
}

// typedValue splits "type: value". Types never contain ":"; values may (URLs do), so the first
// colon ends the type, and it must be followed by a space: "https://x" is not "type: value".
func typedValue(pos report.Pos, item string) (string, string, error) {
	typ, value, ok := strings.Cut(item, ":")
	typ = strings.TrimSpace(typ)
	if !ok || typ == "" || strings.ContainsAny(typ, " \t") || value != "" && value[0] != ' ' && value[0] != '\t' {
		return "", "", inputError(pos, "indicator line %q: want '* <type>: <value>'", item)
	}
	value = strings.Trim(strings.TrimSpace(value), "`")
	if value == "" {
		return "", "", inputError(pos, "%s: empty value", typ)
	}
	return typ, value, nil
}

// splitTags splits on commas outside double quotes: galaxy values may hold commas.
func splitTags(s string) ([]string, error) {
	var tags []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ',' && !quoted:
			if t := strings.TrimSpace(cur.String()); t != "" {
				tags = append(tags, t)
			}
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	if quoted {
		return nil, errUnbalancedQuote
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		tags = append(tags, t)
	}
	return tags, nil
}
