package parse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// Vendors' JSON (neither a MISP event nor a STIX bundle): lists and objects of indicators in
// shapes of their own ({"type": "sha256", "value": …}, {"sha256": …, "filename": …},
// {"domains": […]}). An object's scalar fields are read as a table row whose header is its
// keys, so that the words CSV headers are read by type its values and keep a sample's name
// with its hash; a list is typed by the key that holds it; any other string is typed by its
// shape, or listed as free text when it mentions an indicator. The top object's title and
// date keys title and date the report. Positions are JSON paths.

// isMISPJSON says whether JSON (its first bytes) is MISP's: an event, a REST response or a
// bare event, which name "Event" or "response", or keys only MISP's events have, near their
// top (a bare event may list its attributes before its info).
func isMISPJSON(head []byte) bool {
	head = head[:min(len(head), 64<<10)]
	for _, key := range []string{`"Event"`, `"response"`, `"info"`, `"Attribute"`, `"Object"`, `"threat_level_id"`, `"Orgc"`} {
		if bytes.Contains(head, []byte(key)) {
			return true
		}
	}
	return false
}

var (
	jsonTitleKeys = []string{"title", "name", "campaign", "report", "report_name", "threat", "actor"}
	jsonDateKeys  = []string{"date", "published", "published_date", "publication_date", "created", "created_at", "updated"}
)

func readJSONIOCs(name string, data []byte) (*part, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if ext := extOf(name); ext == ".jsonl" || ext == ".ndjson" {
		return readJSONLines(name, data)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, inputError(report.Pos{File: name}, "not valid JSON: %v", err)
	}
	c := newCollector(name, FormatJSON)
	p := &part{r: c.r}
	if top, ok := doc.(map[string]any); ok {
		p.title = firstString(top, jsonTitleKeys)
		if day := isoDay(firstString(top, jsonDateKeys)); day != "" {
			p.dates = append(p.dates, day)
		}
	}
	walkJSON(c, name, "", doc, meaning{})
	p.seen, p.mentioned = c.seen, datesIn(string(data))
	return p, nil
}

// readJSONLines reads JSON Lines (.jsonl, .ndjson): a value a line, each read as the items
// of a list are, and placed at its line.
func readJSONLines(name string, data []byte) (*part, error) {
	c := newCollector(name, FormatJSON)
	n := 0
	for line := range bytes.Lines(data) {
		n++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, inputError(report.Pos{File: name, Line: n}, "not a line of JSON Lines: %v", err)
		}
		attrs, objects := len(c.r.Attributes), len(c.r.Objects)
		walkJSON(c, name, "", v, meaning{})
		atLine(c.r.Attributes[attrs:], n)
		for i := range c.r.Objects[objects:] {
			o := &c.r.Objects[objects+i]
			o.Pos.Line = n
			atLine(o.Attributes, n)
		}
	}
	return &part{r: c.r, seen: c.seen, mentioned: datesIn(string(data))}, nil
}

// atLine places what a line of JSON Lines gave at that line.
func atLine(attrs []report.Attribute, line int) {
	for i := range attrs {
		attrs[i].Pos.Line = line
	}
}

// firstString is the first of keys that obj holds as a string.
func firstString(obj map[string]any, keys []string) string {
	for _, k := range keys {
		for key, v := range obj {
			if s, ok := v.(string); ok && strings.EqualFold(key, k) && strings.TrimSpace(s) != "" {
				return strings.TrimSpace(s)
			}
		}
	}
	return ""
}

// walkJSON reads v at path; under is what the key holding a list says of its items.
func walkJSON(c *collector, file, path string, v any, under meaning) {
	pos := report.Pos{File: file, Path: strings.TrimPrefix(path, ".")}
	switch v := v.(type) {
	case map[string]any:
		jsonObject(c, file, path, v)
	case []any:
		for i, item := range v {
			walkJSON(c, file, fmt.Sprintf("%s[%d]", path, i), item, under)
		}
	case string:
		jsonString(c, pos, v, under)
	}
}

// jsonObject reads an object's scalar fields as a row under a header of its keys, then its
// lists and objects, each under the meaning of its key.
func jsonObject(c *collector, file, path string, obj map[string]any) {
	keys := slices.Sorted(maps.Keys(obj))
	var header, cells []string
	for _, k := range keys {
		switch v := obj[k].(type) {
		case string:
			header, cells = append(header, k), append(cells, v)
		case json.Number:
			header, cells = append(header, k), append(cells, v.String())
		}
	}
	pos := report.Pos{File: file, Path: strings.TrimPrefix(path, ".")}
	if cols := headerMeanings(header); cols != nil && !onlyNames(cols) {
		c.tableRow(pos, cols, cells)
	} else {
		for i, cell := range cells {
			if path == "" && (slices.Contains(jsonTitleKeys, strings.ToLower(header[i])) || slices.Contains(jsonDateKeys, strings.ToLower(header[i]))) {
				continue // the report's title and date
			}
			jsonString(c, report.Pos{File: file, Path: strings.TrimPrefix(path+"."+header[i], ".")}, cell, meaning{})
		}
	}
	for _, k := range keys {
		switch obj[k].(type) {
		case map[string]any, []any:
			walkJSON(c, file, path+"."+k, obj[k], meaningOf(k))
		}
	}
}

// onlyNames says whether the only columns of values are names: "name" is any JSON object's
// key (a package's, a person's), a file's only beside what detects the file.
func onlyNames(cols []meaning) bool {
	for _, m := range cols {
		switch {
		case m.role == roleType && m.typ == "name":
		case m.role == roleType || m.role == roleHash || m.role == roleNetwork || m.role == roleValue:
			return false
		}
	}
	return true
}

// jsonString reads a string on its own: typed by the key of its list when that names a kind,
// else by its shape; prose that mentions an indicator is listed as free text.
func jsonString(c *collector, pos report.Pos, s string, under meaning) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
	case under.role == roleType || under.role == roleHash || under.role == roleNetwork:
		c.row(pos, []meaning{under}, []string{s})
	case len(referenceLinks(s)) > 0 && under.role == roleNone:
		// A plain link that no key calls an indicator (a "homepage", a "reference") is where the
		// document points its readers, as in a document's prose.
		for _, l := range referenceLinks(s) {
			c.reference(pos, l)
		}
	default:
		if v, ok := valueOf(s); ok {
			c.value(pos, v, "", report.Seen{})
		} else if mentionsIndicator(s) {
			c.text(pos, s)
		}
	}
}
