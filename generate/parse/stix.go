package parse

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/report"
)

// STIX 2.0 and 2.1 bundles, as OpenCTI, MISP-STIX and vendors such as Talos export them:
//
//	{"type": "bundle", "objects": [...]}
//
// Each report (or grouping, MISP's export of an unpublished event) is a report, its
// object_refs its members; a bundle without one is one report of all its objects. Indicators'
// patterns become attributes and objects of the MISP types normalize reads (pattern.go);
// observed data and the cyber-observables it references become them too, as observations
// rather than indicators (not flagged for detection); malware, attack patterns and TLP
// markings become the tags a MISP event would carry.

type stixBundle struct {
	Type    string            `json:"type"`
	ID      string            `json:"id"`
	Objects []json.RawMessage `json:"objects"`
}

type stixObject struct {
	Type          string   `json:"type"`
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Created       string   `json:"created"`
	Modified      string   `json:"modified"`
	Published     string   `json:"published"`
	Pattern       string   `json:"pattern"`
	PatternType   string   `json:"pattern_type"`
	ValidFrom     string   `json:"valid_from"`
	ValidUntil    string   `json:"valid_until"`
	Revoked       bool     `json:"revoked"`
	Labels        []string `json:"labels"`
	IsFamily      *bool    `json:"is_family"` // STIX 2.1 malware; 2.0 has only families
	ObjectRefs    []string `json:"object_refs"`
	MarkingRefs   []string `json:"object_marking_refs"`
	FirstObserved string   `json:"first_observed"`
	LastObserved  string   `json:"last_observed"`
	// Observed data of STIX 2.0 holds its observables inline, keyed "0", "1", …
	Observables        map[string]json.RawMessage `json:"objects"`
	ExternalReferences []struct {
		SourceName string `json:"source_name"`
		URL        string `json:"url"`
		ExternalID string `json:"external_id"`
	} `json:"external_references"`
	RelationshipType string `json:"relationship_type"`
	SourceRef        string `json:"source_ref"`
	TargetRef        string `json:"target_ref"`
	DefinitionType   string `json:"definition_type"`
	Definition       struct {
		TLP string `json:"tlp"`
	} `json:"definition"`
	// MISP-STIX writes an attribute STIX has no object for as x-misp-attribute.
	MISPType     string `json:"x_misp_type"`
	MISPValue    string `json:"x_misp_value"`
	MISPCategory string `json:"x_misp_category"`
	Extensions   map[string]struct {
		TLP2 string `json:"tlp_2_0"`
	} `json:"extensions"`

	raw  json.RawMessage
	path string // objects[i]
}

// IsSTIXBundle says whether JSON data is a STIX bundle: its top-level "type" is "bundle". It
// stops at the first key of a MISP document, so that sniffing costs MISP feeds nothing.
func IsSTIXBundle(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		switch key {
		case "Event", "response":
			return false
		case "type":
			v, err := dec.Token()
			return err == nil && v == "bundle"
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// STIX reads a STIX bundle and calls yield with each report it holds, in file order.
func STIX(name string, data []byte, yield func(*report.Report) error) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var b stixBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return jsonError(name, data, err)
	}
	if b.Type != "bundle" {
		return inputError(report.Pos{File: name, Path: "type"}, "%q: not a STIX bundle", b.Type)
	}
	s := &stixReader{file: name, byID: map[string]*stixObject{}}
	for i, raw := range b.Objects {
		o := &stixObject{raw: raw, path: fmt.Sprintf("objects[%d]", i)}
		if err := json.Unmarshal(raw, o); err != nil {
			return inputError(report.Pos{File: name, Path: o.path}, "%v", err)
		}
		if o.Type == "" || o.ID == "" {
			return inputError(report.Pos{File: name, Path: o.path}, "a STIX object without a type or an id")
		}
		if prev, ok := s.byID[o.ID]; ok { // versions of one object: the newest counts
			if stixUnix(o.Modified) >= stixUnix(prev.Modified) {
				*prev = *o
			}
			continue
		}
		s.objects = append(s.objects, o)
		s.byID[o.ID] = o
	}
	reports := 0
	for _, o := range s.objects {
		if o.Type == "report" || o.Type == "grouping" {
			reports++
			if err := yield(s.report(o, o.ObjectRefs)); err != nil {
				return err
			}
		}
	}
	if reports > 0 {
		return nil
	}
	return s.wholeBundle(b, yield)
}

// wholeBundle makes one report of a bundle that has none: named after its file, dated by
// its newest object, so that the same bundle always makes the same report.
func (s *stixReader) wholeBundle(b stixBundle, yield func(*report.Report) error) error {
	pseudo := &stixObject{ID: b.ID, path: ""}
	var all []string
	for _, o := range s.objects {
		all = append(all, o.ID)
		pseudo.Created = max(pseudo.Created, o.Created, o.Modified)
	}
	if pseudo.Created == "" {
		return inputError(report.Pos{File: s.file}, "a STIX bundle without a report object and without dates: nothing to date its rules by")
	}
	base := s.file[strings.LastIndexAny(s.file, `/\`)+1:]
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".json"), ".stix") // a pulled collection's <id>.stix.json
	pseudo.Name = strings.TrimSpace(strings.NewReplacer("_", " ", "-", " ").Replace(base))
	return yield(s.report(pseudo, all))
}

type stixReader struct {
	file    string
	objects []*stixObject
	byID    map[string]*stixObject
}

// report reads one report object and the members it refers to.
func (s *stixReader) report(o *stixObject, refs []string) *report.Report {
	r := &report.Report{Source: s.file, Format: report.FormatSTIX, Title: o.Name, Date: day(cmp.Or(o.Published, o.Created)),
		Changed: day(o.Modified)}
	if _, id, ok := strings.Cut(o.ID, "--"); ok && report.IsUUID(id) {
		r.ID = id
	}
	members := s.members(refs)
	for _, ref := range o.ExternalReferences {
		if ref.URL != "" {
			r.Attributes = append(r.Attributes, report.Attribute{Type: "link", Value: ref.URL, Pos: report.Pos{File: s.file, Path: o.path + ".external_references"}})
		}
	}
	r.Context = s.context(o, members)
	observed := map[string]bool{} // observables read through their observed data are not read again
	for _, m := range members {
		if m.Type == "observed-data" {
			for _, id := range m.ObjectRefs {
				observed[id] = true
			}
		}
	}
	for _, m := range members {
		switch {
		case m.Type == "indicator":
			s.indicator(r, m)
		case m.Type == "observed-data":
			s.observedData(r, m)
		case m.Type == "x-misp-attribute":
			r.Attributes = append(r.Attributes, report.Attribute{Type: m.MISPType, Value: m.MISPValue, Category: m.MISPCategory,
				ToIDS: mispFlag(m.Labels, "to_ids", false), Pos: report.Pos{File: s.file, Path: m.path}})
		case observableTypes[m.Type] && !observed[m.ID]:
			s.observable(r, m.raw, m.path, observation{labels: m.Labels}, nil)
		}
	}
	return r
}

// members lists the objects refs name, in bundle order; a ref to an object the bundle does
// not hold is left out (a report may cite what another bundle carries).
func (s *stixReader) members(refs []string) []*stixObject {
	set := map[string]bool{}
	for _, id := range refs {
		set[id] = true
	}
	var out []*stixObject
	for _, o := range s.objects {
		if set[o.ID] {
			out = append(out, o)
		}
	}
	return out
}

// context is what the report's context says: its TLP, its labels (MISP-STIX writes an event's
// tags as labels: they are read as MISP tags), the malware its indicators indicate and the
// ATT&CK techniques used.
func (s *stixReader) context(o *stixObject, members []*stixObject) report.Context {
	var labels []string
	for _, l := range o.Labels {
		if !strings.HasPrefix(l, "misp:") { // MISP-STIX's bookkeeping (misp:tool="…")
			labels = append(labels, l)
		}
	}
	c := tagContext(labels, report.Pos{File: s.file, Path: o.path})
	markings := slices.Clone(o.MarkingRefs)
	for _, m := range members {
		markings = append(markings, m.MarkingRefs...)
	}
	for _, id := range markings {
		if tlp := s.tlp(id); tlp != "" {
			c.TLP = append(c.TLP, tlp)
		}
	}
	for _, obj := range s.around(members) {
		switch obj.Type {
		case "malware":
			if obj.IsFamily != nil && !*obj.IsFamily {
				continue // an instance, such as "PIVY Variant (<md5>)": not a family name
			}
			c.Families = append(c.Families, strings.TrimSpace(obj.Name))
		case "attack-pattern":
			if id := attackID(obj); id != "" {
				ref := strings.TrimSuffix(obj.Name, " - "+id) + " - " + id
				// Skip lists name it as MISP tags it, as they name a MISP event's.
				c.Techniques = append(c.Techniques, report.StatedTechnique{Ref: ref, Stated: `misp-galaxy:mitre-attack-pattern="` + ref + `"`})
			}
		}
	}
	c.TLP, c.Families, c.Techniques = slices.Compact(c.TLP), slices.Compact(c.Families), slices.Compact(c.Techniques)
	return c
}

// around is the malware and attack patterns around the members: among them, or reached from
// them by "indicates" and "uses" relationships, two steps at most (an indicator indicates
// malware, which uses an attack pattern).
func (s *stixReader) around(members []*stixObject) []*stixObject {
	reached := map[string]bool{}
	for _, m := range members {
		reached[m.ID] = true
	}
	for range 2 {
		for _, rel := range s.objects {
			if rel.Type == "relationship" && (rel.RelationshipType == "indicates" || rel.RelationshipType == "uses") && reached[rel.SourceRef] {
				reached[rel.TargetRef] = true
			}
		}
	}
	var out []*stixObject
	for _, o := range s.objects {
		if reached[o.ID] && (o.Type == "malware" || o.Type == "attack-pattern") {
			out = append(out, o)
		}
	}
	return out
}

// attackID is an attack pattern's ATT&CK id: its mitre-attack external id, or the
// " - T1234" MISP appends to the name.
func attackID(o *stixObject) string {
	for _, ref := range o.ExternalReferences {
		if ref.SourceName == "mitre-attack" && ref.ExternalID != "" {
			return ref.ExternalID
		}
	}
	if i := strings.LastIndex(o.Name, " - T"); i >= 0 {
		return o.Name[i+3:]
	}
	return ""
}

// TLP marking definitions every STIX producer refers to by id (TLP 1.0 in STIX 2.0 and 2.1;
// TLP 2.0 from the OASIS extension).
var tlpMarkings = map[string]string{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "white",
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
	"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
	"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
	"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
	"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
	"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}

// tlp is the TLP a marking definition states: a well-known one, or one the bundle defines.
func (s *stixReader) tlp(id string) string {
	if tlp, ok := tlpMarkings[id]; ok {
		return tlp
	}
	m := s.byID[id]
	if m == nil {
		return ""
	}
	if m.DefinitionType == "tlp" && m.Definition.TLP != "" {
		return strings.ToLower(m.Definition.TLP)
	}
	for _, ext := range m.Extensions {
		if ext.TLP2 != "" {
			return strings.ToLower(ext.TLP2)
		}
	}
	return ""
}

// STIXTime reads a STIX timestamp (2024-08-01T10:03:26.123Z, RFC 3339 in UTC); ok is false
// when ts is none.
func STIXTime(ts string) (t time.Time, ok bool) {
	t, err := time.Parse(time.RFC3339Nano, ts)
	return t, err == nil
}

// day is the date of a STIX timestamp, "" when there is none.
func day(ts string) string {
	if t, ok := STIXTime(ts); ok {
		return t.UTC().Format(time.DateOnly)
	}
	return ts // normalize names the value it cannot read as a date
}

// stixUnix is a STIX timestamp in Unix seconds, 0 when it is none.
func stixUnix(ts string) int64 {
	if t, ok := STIXTime(ts); ok {
		return t.Unix()
	}
	return 0
}
