package parse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/report"
)

// MISP JSON as MISP's REST API, its exports and its feeds write it. A file holds one of
//
//	{"Event": {...}}                       a feed event or an export
//	{"response": [{"Event": {...}}, ...]}  a REST search result
//	[{"Event": {...}}, ...]                a list of events
//	{"info": ..., "Attribute": [...]}      a bare event
//
// MISP writes most scalars as strings but not always ("threat_level_id": "3" or 3, "to_ids":
// true or "1"), so scalar fields accept either and are checked after decoding, where the
// JSON path of a bad value is known.

type mispDocument struct {
	mispEvent                // a bare event
	Event     *mispEvent     `json:"Event"`
	Response  []mispDocument `json:"response"`
}

type mispEvent struct {
	UUID             jsonScalar      `json:"uuid"`
	Info             jsonScalar      `json:"info"`
	Date             jsonScalar      `json:"date"`
	Timestamp        jsonScalar      `json:"timestamp"`
	PublishTimestamp jsonScalar      `json:"publish_timestamp"`
	ThreatLevelID    jsonScalar      `json:"threat_level_id"`
	Tag              []mispTag       `json:"Tag"`
	Galaxy           []mispGalaxy    `json:"Galaxy"`
	Attribute        []mispAttribute `json:"Attribute"`
	Object           []mispObject    `json:"Object"`
}

type mispTag struct {
	Name jsonScalar `json:"name"`
}

type mispGalaxy struct {
	Type          jsonScalar `json:"type"`
	GalaxyCluster []struct {
		Value   jsonScalar `json:"value"`
		TagName jsonScalar `json:"tag_name"`
	} `json:"GalaxyCluster"`
}

type mispAttribute struct {
	Type           jsonScalar `json:"type"`
	Category       jsonScalar `json:"category"`
	Value          jsonScalar `json:"value"`
	Comment        jsonScalar `json:"comment"`
	ObjectRelation jsonScalar `json:"object_relation"`
	ToIDS          jsonScalar `json:"to_ids"`
	Deleted        jsonScalar `json:"deleted"`
	FirstSeen      jsonScalar `json:"first_seen"`
	LastSeen       jsonScalar `json:"last_seen"`
	Timestamp      jsonScalar `json:"timestamp"`
}

type mispObject struct {
	Name        jsonScalar      `json:"name"`
	Description jsonScalar      `json:"description"`
	Deleted     jsonScalar      `json:"deleted"`
	FirstSeen   jsonScalar      `json:"first_seen"`
	LastSeen    jsonScalar      `json:"last_seen"`
	Timestamp   jsonScalar      `json:"timestamp"`
	Attribute   []mispAttribute `json:"Attribute"`
}

// jsonScalar holds a JSON string, number, boolean or null as its text; objects and arrays are
// kept raw so that the check after decoding can quote them.
type jsonScalar struct {
	text   string
	isBool bool
	set    bool            // present and not null
	bad    json.RawMessage // an object or array where a scalar belongs
}

func (v *jsonScalar) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		v.set = true
		if bytes.IndexByte(b, '\\') < 0 {
			v.text = string(b[1 : len(b)-1])
			return nil
		}
		return json.Unmarshal(b, &v.text)
	case 'n':
		return nil
	case 't', 'f':
		v.text, v.isBool, v.set = string(b), true, true
	case '{', '[':
		v.bad = append(json.RawMessage(nil), b...)
	default:
		v.text, v.set = string(b), true
	}
	return nil
}

// str returns the scalar as a string, or an error quoting the value when it is an object or
// an array.
func (v jsonScalar) str(path string) (string, error) {
	if v.bad != nil {
		return "", fmt.Errorf("%s: want a string, got %s", path, quoteJSON(v.bad))
	}
	return v.text, nil
}

// flag reads MISP's booleans: true/false, "1"/"0", 1/0, "true"/"false"; absent is false.
func (v jsonScalar) flag(path string) (bool, error) {
	if !v.set && v.bad == nil {
		return false, nil
	}
	switch strings.ToLower(v.text) {
	case "true", "1":
		return true, nil
	case "false", "0", "":
		return false, nil
	}
	if v.bad != nil {
		return false, fmt.Errorf("%s: want a boolean, got %s", path, quoteJSON(v.bad))
	}
	return false, fmt.Errorf("%s: want a boolean, got %q", path, v.text)
}

func quoteJSON(raw json.RawMessage) string {
	const max = 60
	s := string(raw)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// MISP parses a MISP JSON file and calls yield with each event's report in file order. It
// stops at the first error, which names the file and the JSON path (or line and column for
// JSON that does not decode).
func MISP(name string, data []byte, yield func(*report.Report) error) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a byte-order mark some exporters write
	var list []mispDocument
	var doc mispDocument
	var err error
	if first := firstByte(data); first == '[' {
		err = json.Unmarshal(data, &list)
	} else {
		err = json.Unmarshal(data, &doc)
	}
	if err != nil {
		return jsonError(name, data, err)
	}
	if list != nil {
		return eachEvent(name, "", list, yield)
	}
	switch {
	case doc.Response != nil:
		return eachEvent(name, "response", doc.Response, yield)
	case doc.Event != nil:
		return yieldEvent(name, "Event", doc.Event, yield)
	case doc.Info.set || doc.Attribute != nil || doc.Object != nil:
		return yieldEvent(name, "", &doc.mispEvent, yield)
	}
	return inputError(report.Pos{File: name, Line: 1}, "not a MISP event: no \"Event\", \"response\" or \"info\" key")
}

func eachEvent(name, path string, docs []mispDocument, yield func(*report.Report) error) error {
	for i := range docs {
		p := fmt.Sprintf("%s[%d]", path, i)
		ev := docs[i].Event
		if ev != nil {
			p += ".Event"
		} else {
			ev = &docs[i].mispEvent
		}
		if err := yieldEvent(name, p, ev, yield); err != nil {
			return err
		}
		docs[i] = mispDocument{} // let the decoded event go before the next one is converted
	}
	return nil
}

func yieldEvent(name, path string, ev *mispEvent, yield func(*report.Report) error) error {
	r, err := eventReport(name, path, ev)
	if err != nil {
		var pe *pathError
		if errors.As(err, &pe) {
			return inputError(report.Pos{File: name, Path: pe.path}, "%s", pe.msg)
		}
		return err
	}
	return yield(r)
}

// pathError is a bad value at a JSON path, before the file name is attached.
type pathError struct{ path, msg string }

func (e *pathError) Error() string { return e.path + ": " + e.msg }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func eventReport(name, path string, ev *mispEvent) (*report.Report, error) {
	c := converter{name: name}
	r := &report.Report{Source: name, Format: report.FormatMISP}
	r.ID = c.str(ev.UUID, join(path, "uuid"))
	r.Title = strings.TrimSpace(c.str(ev.Info, join(path, "info")))
	r.Date = c.eventDate(ev, path)
	r.Changed = c.changedDate(ev.Timestamp, join(path, "timestamp"))
	r.ThreatLevel = c.threatLevel(ev.ThreatLevelID, join(path, "threat_level_id"))
	var tags []string
	for i, t := range ev.Tag {
		if tag := c.str(t.Name, fmt.Sprintf("%s[%d].name", join(path, "Tag"), i)); tag != "" {
			tags = append(tags, tag)
		}
	}
	for i, g := range ev.Galaxy {
		for j, cl := range g.GalaxyCluster {
			p := fmt.Sprintf("%s[%d].GalaxyCluster[%d]", join(path, "Galaxy"), i, j)
			tag := c.str(cl.TagName, p+".tag_name")
			if tag == "" { // older exports name the cluster without its tag
				tag = fmt.Sprintf("misp-galaxy:%s=%q", c.str(g.Type, fmt.Sprintf("%s[%d].type", join(path, "Galaxy"), i)), c.str(cl.Value, p+".value"))
			}
			if !slices.Contains(tags, tag) { // exports list a cluster in Tag and in Galaxy
				tags = append(tags, tag)
			}
		}
	}
	r.Context = tagContext(tags, report.Pos{File: name, Path: join(path, "Tag")})
	for i := range ev.Attribute {
		r.Attributes = append(r.Attributes, c.attribute(&ev.Attribute[i], fmt.Sprintf("%s[%d]", join(path, "Attribute"), i)))
	}
	for i := range ev.Object {
		r.Objects = append(r.Objects, c.object(&ev.Object[i], fmt.Sprintf("%s[%d]", join(path, "Object"), i)))
	}
	if c.err != nil {
		return nil, c.err
	}
	if r.Title == "" {
		return nil, &pathError{join(path, "info"), "the event has no info (its title)"}
	}
	return r, nil
}

// converter turns decoded JSON into the model, keeping the first bad value it meets.
type converter struct {
	name string
	err  error
}

func (c *converter) fail(path, format string, args ...any) {
	if c.err == nil {
		c.err = &pathError{path, fmt.Sprintf(format, args...)}
	}
}

func (c *converter) str(v jsonScalar, path string) string {
	s, err := v.str(path)
	if err != nil && c.err == nil {
		c.err = &pathError{path, strings.TrimPrefix(err.Error(), path+": ")}
	}
	return s
}

func (c *converter) flag(v jsonScalar, path string) bool {
	b, err := v.flag(path)
	if err != nil && c.err == nil {
		c.err = &pathError{path, strings.TrimPrefix(err.Error(), path+": ")}
	}
	return b
}

// eventDate is the event's date, or the day of its timestamp when an export leaves the date
// out: both come from the event, never from the clock.
func (c *converter) eventDate(ev *mispEvent, path string) string {
	if d := strings.TrimSpace(c.str(ev.Date, join(path, "date"))); d != "" {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			c.fail(join(path, "date"), "%q: want YYYY-MM-DD", d)
		}
		return d
	}
	for _, ts := range []struct {
		v   jsonScalar
		key string
	}{{ev.Timestamp, "timestamp"}, {ev.PublishTimestamp, "publish_timestamp"}} {
		s := c.str(ts.v, join(path, ts.key))
		sec, err := MISPTimestamp(s)
		if err != nil {
			c.fail(join(path, ts.key), "%q: %v", s, err)
			return ""
		}
		if sec == 0 {
			continue
		}
		return time.Unix(sec, 0).UTC().Format(time.DateOnly)
	}
	c.fail(join(path, "date"), "the event has no date (nor a timestamp)")
	return ""
}

// MISPTimestamp reads a MISP timestamp as its JSON gives it, quoted or not: seconds since 1970,
// up to the end of year 9999. "" is 0, as is an event that does not say.
func MISPTimestamp(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec < 0 || sec > 253402300799 {
		return 0, fmt.Errorf("want seconds since 1970")
	}
	return sec, nil
}

// changedDate is the day of the event's last edit, or "" when it does not say.
func (c *converter) changedDate(v jsonScalar, path string) string {
	sec, err := MISPTimestamp(strings.TrimSpace(c.str(v, path)))
	if err != nil || sec == 0 {
		return "" // eventDate reports a malformed timestamp where it matters
	}
	return time.Unix(sec, 0).UTC().Format(time.DateOnly)
}

func (c *converter) threatLevel(v jsonScalar, path string) report.ThreatLevel {
	s := c.str(v, path)
	if s == "" {
		return report.ThreatLevel{}
	}
	id, err := strconv.Atoi(s)
	if err != nil || threatLevelNames[id] == "" {
		c.fail(path, "%q: want 1 (High) to 4 (Undefined)", s)
		return report.ThreatLevel{}
	}
	return report.ThreatLevel{ID: id, Name: threatLevelNames[id]}
}

func (c *converter) attribute(a *mispAttribute, path string) report.Attribute {
	return report.Attribute{
		Category: c.str(a.Category, path+".category"),
		Type:     strings.TrimSpace(c.str(a.Type, path+".type")),
		Relation: strings.TrimSpace(c.str(a.ObjectRelation, path+".object_relation")),
		Value:    c.str(a.Value, path+".value"),
		Comment:  c.str(a.Comment, path+".comment"),
		ToIDS:    c.flag(a.ToIDS, path+".to_ids"),
		Deleted:  c.flag(a.Deleted, path+".deleted"),
		Seen:     report.Said(c.seen(a.FirstSeen, a.LastSeen, a.Timestamp, path)),
		Pos:      report.Pos{File: c.name, Path: path},
	}
}

// seen reads first_seen, last_seen and timestamp as MISP writes them; their meaning is
// normalise's to judge.
func (c *converter) seen(first, last, changed jsonScalar, path string) report.Seen {
	s := report.Seen{First: strings.TrimSpace(c.str(first, path+".first_seen")), Last: strings.TrimSpace(c.str(last, path+".last_seen"))}
	if ts := strings.TrimSpace(c.str(changed, path+".timestamp")); ts != "" {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || n < 0 {
			c.fail(path+".timestamp", "%q: want seconds since 1970", ts)
		}
		s.Changed = n
	}
	return s
}

func (c *converter) object(o *mispObject, path string) report.Object {
	obj := report.Object{
		Name:        strings.TrimSpace(c.str(o.Name, path+".name")),
		Description: c.str(o.Description, path+".description"),
		Deleted:     c.flag(o.Deleted, path+".deleted"),
		Seen:        report.Said(c.seen(o.FirstSeen, o.LastSeen, o.Timestamp, path)),
		Pos:         report.Pos{File: c.name, Path: path},
	}
	for i := range o.Attribute {
		obj.Attributes = append(obj.Attributes, c.attribute(&o.Attribute[i], fmt.Sprintf("%s.Attribute[%d]", path, i)))
	}
	return obj
}

func firstByte(data []byte) byte {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

// jsonError turns a decoding error into one that names the line and column, and for a value of
// the wrong kind the JSON field it belongs to.
func jsonError(name string, data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		line, col := lineCol(data, syntax.Offset)
		return inputError(report.Pos{File: name, Line: line}, "column %d: not valid JSON: %s", col, syntax.Error())
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset)
		// The decoder names fields by Go path; the embedded bare-event struct is not in the JSON.
		field := strings.ReplaceAll(typ.Field, "mispEvent.", "")
		return inputError(report.Pos{File: name, Line: line, Path: field},
			"column %d: a JSON %s where MISP has %s", col, typ.Value, kindOf(typ.Type.Kind().String()))
	}
	return inputError(report.Pos{File: name}, "not valid JSON: %v", err)
}

func kindOf(k string) string {
	switch k {
	case "slice":
		return "a list"
	case "struct", "ptr":
		return "an object"
	}
	return k
}

func lineCol(data []byte, offset int64) (int, int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	return line, int(offset) - bytes.LastIndexByte(before, '\n')
}

// checkDepth refuses JSON nested deeper than max before it is decoded: MISP events nest about
// six levels, and deep nesting only costs the decoder stack and time.
func checkDepth(name string, data []byte, max int) error {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > max {
				line, col := lineCol(data, int64(i))
				return inputError(report.Pos{File: name, Line: line}, "column %d: JSON nested more than %d levels deep (--max-depth)", col, max)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}
