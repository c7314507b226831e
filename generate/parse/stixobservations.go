package parse

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/parse/stixpattern"
	"github.com/rulegen/rulegen/generate/report"
)

// How STIX observations become MISP attributes and objects. A pattern is read into its
// disjunctive normal form: each conjunction of equalities on one object (a file's hash AND
// its size, an address AND its port) becomes one attribute or object; OR and separate
// observations make separate ones. What a rule cannot express (regular expressions, LIKE,
// ranges, negations, qualifiers, FOLLOWEDBY) becomes an attribute that normalize skips with
// the reason.

// maxConjunctions bounds the expansion of an AND: (a OR b) AND (c OR d) AND … doubles with
// every term. A plain OR or IN grows only with the pattern's length, and is not bounded.
const maxConjunctions = 1024

// conjunction is the equalities one observed object must show, or why it cannot be a rule.
type conjunction struct {
	tests    []stixpattern.Comparison
	unusable string // the reason
	value    string // what the reason is about: a comparison or the pattern
}

// observation is what an indicator or observed data says around its observables.
type observation struct {
	labels []string
	seen   report.Seen
	toIDS  bool
}

// indicator reads one indicator: its pattern, or why there is none to read.
func (s *stixReader) indicator(r *report.Report, o *stixObject) {
	pos := report.Pos{File: s.file, Path: o.path + ".pattern"}
	// An indicator is meant for detection unless MISP-STIX's label says its attribute was not.
	obs := observation{labels: o.Labels, toIDS: mispFlag(o.Labels, "to_ids", true),
		seen: report.Seen{First: o.ValidFrom, Changed: stixUnix(cmp.Or(o.Modified, o.Created)), Until: o.ValidUntil}}
	unusable := func(value, reason string) {
		r.Attributes = append(r.Attributes, report.Attribute{Type: "stix-pattern", Value: value, Unusable: reason, ToIDS: obs.toIDS, Seen: report.Said(obs.seen), Pos: pos})
	}
	mispType := mispLabel(o.Labels, "type")
	switch pt := strings.ToLower(o.PatternType); {
	case o.Revoked:
		unusable(o.Pattern, "revoked by its producer")
		return
	case pt == "yara" || pt == "sigma": // an analyst's own rule, passed through as MISP's would be
		r.Attributes = append(r.Attributes, report.Attribute{Type: pt, Value: unbracketed(o.Pattern), ToIDS: obs.toIDS, Seen: report.Said(obs.seen), Pos: pos})
		return
	case pt != "" && pt != "stix":
		unusable(o.Pattern, fmt.Sprintf("pattern_type %q: rulegen reads STIX patterns, YARA and Sigma", o.PatternType))
		return
	}
	p, err := stixpattern.Parse(o.Pattern)
	if err != nil {
		unusable(o.Pattern, "STIX pattern: "+err.Error())
		return
	}
	conjs := conjunctions(p.Observations, o.Pattern)
	for _, c := range conjs {
		if c.unusable != "" {
			unusable(c.value, c.unusable)
			continue
		}
		var facts []fact
		for _, t := range c.tests {
			facts = append(facts, fact{prop: t.Path.Property(), value: t.Values[0].Value})
		}
		if v, ok := mispExported(mispType, facts); ok && len(conjs) == 1 && mispType != "" {
			r.Attributes = append(r.Attributes, report.Attribute{Type: mispType, Value: v, ToIDS: obs.toIDS, Seen: report.Said(obs.seen), Pos: pos,
				Category: mispLabel(o.Labels, "category")})
			continue
		}
		typ := c.tests[0].Path.Type
		if other := slices.IndexFunc(c.tests, func(t stixpattern.Comparison) bool { return t.Path.Type != typ }); other >= 0 {
			unusable(conjunctionText(c.tests), fmt.Sprintf("AND over %s and %s in one observation: one object has one type", typ, c.tests[other].Path.Type))
			continue
		}
		s.add(r, typ, facts, obs, pos)
	}
}

// conjunctions reads an observation expression into conjunctions.
func conjunctions(e stixpattern.Expr, pattern string) []conjunction {
	switch e := e.(type) {
	case stixpattern.Observation:
		out := testConjunctions(e.Test)
		for i := range out {
			if out[i].unusable != "" && out[i].value == "" {
				out[i].value = pattern // about the whole expression, not one comparison
			}
		}
		return out
	case stixpattern.Qualified:
		return []conjunction{{unusable: "qualifier " + e.Qualifier + ": a rule sees one file or event, not observations over time", value: pattern}}
	case stixpattern.Join:
		if e.Op == "FOLLOWEDBY" {
			return []conjunction{{unusable: "FOLLOWEDBY: a rule sees one file or event, not a sequence", value: pattern}}
		}
		var out []conjunction // separate observations, with AND or OR, are separate indicators
		for _, t := range e.Terms {
			out = append(out, conjunctions(t, pattern)...)
		}
		return out
	}
	return nil
}

// testConjunctions is a comparison expression in disjunctive normal form.
func testConjunctions(t stixpattern.Test) []conjunction {
	switch t := t.(type) {
	case stixpattern.Comparison:
		if reason := comparisonUnusable(t); reason != "" {
			return []conjunction{{unusable: reason, value: t.String()}}
		}
		var out []conjunction // IN is an OR of equalities
		for _, v := range t.Values {
			eq := t
			eq.Op, eq.Values = "=", []stixpattern.Literal{v}
			out = append(out, conjunction{tests: []stixpattern.Comparison{eq}})
		}
		return out
	case stixpattern.Exists:
		return []conjunction{{unusable: "EXISTS: that a property is present is no indicator", value: "EXISTS " + t.Path.String()}}
	case stixpattern.TestJoin:
		if t.Op == "OR" {
			var out []conjunction
			for _, term := range t.Terms {
				out = append(out, testConjunctions(term)...)
			}
			return out
		}
		out := []conjunction{{}}
		for _, term := range t.Terms {
			next := testConjunctions(term)
			if len(out)*len(next) > maxConjunctions {
				return []conjunction{{unusable: fmt.Sprintf("an AND of ORs with more than %d combinations", maxConjunctions)}}
			}
			out = product(out, next)
		}
		return out
	}
	return nil
}

// product joins every conjunction of a with every one of b; an unusable part makes the whole
// unusable.
func product(a, b []conjunction) []conjunction {
	var out []conjunction
	for _, x := range a {
		for _, y := range b {
			switch {
			case x.unusable != "":
				out = append(out, x)
			case y.unusable != "":
				out = append(out, y)
			default:
				out = append(out, conjunction{tests: append(slices.Clone(x.tests), y.tests...)})
			}
		}
	}
	return out
}

// comparisonUnusable says why a comparison cannot be part of a rule.
func comparisonUnusable(c stixpattern.Comparison) string {
	switch {
	case c.Not || c.Op == "!=":
		return "a negation: a rule for what something is not fires on everything else"
	case c.Op == "MATCHES":
		return "a regular expression (MATCHES): rulegen writes rules for values, not for a producer's expressions"
	case c.Op == "LIKE":
		return "a LIKE wildcard: rulegen writes rules for values"
	case c.Op == "ISSUBSET" || c.Op == "ISSUPERSET":
		return "a network range: rulegen writes rules for addresses"
	case c.Op != "=" && c.Op != "IN":
		return "a range (" + c.Op + "): rulegen writes rules for values"
	}
	for _, v := range c.Values {
		if v.Kind != stixpattern.String && v.Kind != stixpattern.Int {
			return "a binary, hex, boolean or time constant: rulegen writes rules for text and numbers"
		}
	}
	return ""
}

func conjunctionText(tests []stixpattern.Comparison) string {
	parts := make([]string, len(tests))
	for i, t := range tests {
		parts[i] = t.String()
	}
	return strings.Join(parts, " AND ")
}

// fact is one property of an observed object and its value, the property written as a
// pattern path without the type (hashes.'SHA-256', values[*].name).
type fact struct{ prop, value string }

// observedData reads observed data's observables: inline (STIX 2.0) or by reference (2.1).
func (s *stixReader) observedData(r *report.Report, o *stixObject) {
	obs := observation{labels: o.Labels, toIDS: mispFlag(o.Labels, "to_ids", false),
		seen: report.Seen{First: o.FirstObserved, Last: o.LastObserved, Changed: stixUnix(cmp.Or(o.Modified, o.Created))}}
	for _, k := range slices.Sorted(maps.Keys(o.Observables)) {
		s.observable(r, o.Observables[k], fmt.Sprintf("%s.objects.%s", o.path, k), obs, o.Observables)
	}
	for i, id := range o.ObjectRefs {
		if m := s.byID[id]; m != nil && observableTypes[m.Type] {
			s.observable(r, m.raw, fmt.Sprintf("%s.object_refs[%d]", o.path, i), obs, nil)
		}
	}
}

// observable reads one cyber-observable object into facts, as a pattern would test them. A
// *_ref names another key of inline (STIX 2.0's observed data holds its objects so) or an
// object of the bundle.
func (s *stixReader) observable(r *report.Report, raw json.RawMessage, path string, obs observation, inline map[string]json.RawMessage) {
	resolve := func(ref string) json.RawMessage {
		if v, ok := inline[ref]; ok {
			return v
		}
		if o := s.byID[ref]; o != nil {
			return o.raw
		}
		return nil
	}
	var sco map[string]any
	if err := json.Unmarshal(raw, &sco); err != nil {
		return
	}
	typ, _ := sco["type"].(string)
	pos := report.Pos{File: s.file, Path: path}
	for _, facts := range flatten(typ, sco, resolve) {
		s.add(r, typ, facts, obs, pos)
	}
}

// flatten lists an observable's properties as facts; a registry key gives one list per
// value, every other object one list.
func flatten(typ string, sco map[string]any, resolve func(ref string) json.RawMessage) [][]fact {
	var facts []fact
	scalar := func(prop string, v any) {
		switch v := v.(type) {
		case string:
			facts = append(facts, fact{prop, v})
		case float64:
			facts = append(facts, fact{prop, fmt.Sprintf("%.0f", v)})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(sco)) {
		switch v := sco[k]; {
		case k == "hashes":
			hashes, _ := v.(map[string]any)
			for _, alg := range slices.Sorted(maps.Keys(hashes)) {
				scalar("hashes."+(stixpattern.Path{Steps: []stixpattern.Step{{Key: alg}}}).Property(), hashes[alg])
			}
		case strings.HasSuffix(k, "_ref"):
			ref, _ := v.(string)
			var target map[string]any
			if json.Unmarshal(resolve(ref), &target) == nil {
				scalar(k+".value", target["value"])
				scalar(k+".path", target["path"]) // a file's parent directory
				if target["value"] != nil {
					scalar(k+".type", target["type"]) // what kind of address
				}
			}
		case strings.HasSuffix(k, "_refs"):
			refs, _ := v.([]any)
			for _, ref := range refs {
				id, _ := ref.(string)
				var target map[string]any
				if json.Unmarshal(resolve(id), &target) == nil {
					scalar(k+"[*].value", target["value"])
				}
			}
		case k == "values" && typ == "windows-registry-key":
			continue
		case knownProperty(typ, k):
			scalar(k, v)
		}
	}
	values, _ := sco["values"].([]any)
	if typ != "windows-registry-key" || len(values) == 0 {
		return [][]fact{facts}
	}
	var out [][]fact
	for _, v := range values {
		one := slices.Clone(facts)
		entry, _ := v.(map[string]any)
		for _, prop := range []string{"name", "data"} {
			if s, ok := entry[prop].(string); ok {
				one = append(one, fact{"values[*]." + prop, s})
			}
		}
		out = append(out, one)
	}
	return out
}

// valuesIndex is the index of a registry key's values[…], or none (MISP's values.data).
var valuesIndex = regexp.MustCompile(`^values(\[[^\]]*\])?\.`)

func knownProperty(typ, prop string) bool {
	switch typ {
	case "file":
		return prop == "name" || prop == "size"
	case "windows-registry-key":
		return prop == "key"
	case "mutex":
		return prop == "name"
	case "network-traffic":
		return prop == "dst_port" || prop == "src_port"
	}
	return prop == "value"
}

// observableTypes are the cyber-observable types a bundle may hold at its top level (2.1).
var observableTypes = map[string]bool{
	"artifact": true, "autonomous-system": true, "directory": true, "domain-name": true, "email-addr": true,
	"email-message": true, "file": true, "ipv4-addr": true, "ipv6-addr": true, "mac-addr": true, "mutex": true,
	"network-traffic": true, "process": true, "software": true, "url": true, "user-account": true,
	"windows-registry-key": true, "x509-certificate": true,
}

// mispFlag reads MISP-STIX's label misp:NAME="True"/"False"; def when there is none.
func mispFlag(labels []string, name string, def bool) bool {
	if v := mispLabel(labels, name); v != "" {
		return strings.EqualFold(v, "true")
	}
	return def
}

// mispLabel reads MISP-STIX's label misp:NAME="value".
func mispLabel(labels []string, name string) string {
	for _, l := range labels {
		if v, ok := strings.CutPrefix(l, "misp:"+name+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// add turns the facts of one observed object into the attribute or object MISP would hold.
func (s *stixReader) add(r *report.Report, typ string, facts []fact, obs observation, pos report.Pos) {
	attr := func(typ, rel, value string) report.Attribute {
		return report.Attribute{Type: typ, Relation: rel, Value: value, ToIDS: obs.toIDS, Seen: report.Said(obs.seen), Pos: pos,
			Category: mispLabel(obs.labels, "category")}
	}
	attrs, name, reason := translate(typ, facts, attr)
	switch {
	case reason != "":
		r.Attributes = append(r.Attributes, report.Attribute{Type: "stix-pattern", Value: factText(typ, facts), Unusable: reason, ToIDS: obs.toIDS, Seen: report.Said(obs.seen), Pos: pos})
	case len(attrs) == 0:
	case name == "":
		for _, a := range attrs {
			a.Relation = ""
			if a.Type == "url" && a.Category == "External analysis" && !a.ToIDS {
				a.Type = "link" // MISP-STIX's export of a report's own link
			}
			r.Attributes = append(r.Attributes, a)
		}
	default:
		r.Objects = append(r.Objects, report.Object{Name: name, Attributes: attrs, Seen: report.Said(obs.seen), Pos: pos})
	}
}

func factText(typ string, facts []fact) string {
	if len(facts) == 0 {
		return typ
	}
	parts := make([]string, len(facts))
	for i, f := range facts {
		parts[i] = fmt.Sprintf("%s:%s = %q", typ, f.prop, f.value)
	}
	return strings.Join(parts, " AND ")
}

// translate maps the facts of one object of a STIX type to MISP attributes: one attribute
// (name ""), or the attributes of a MISP object called name; reason says why it cannot be.
func translate(typ string, facts []fact, attr func(typ, rel, value string) report.Attribute) (attrs []report.Attribute, name, reason string) {
	unknown := func(f fact) string {
		return fmt.Sprintf("%s:%s: not a property rulegen writes rules for", typ, f.prop)
	}
	facts = slices.DeleteFunc(slices.Clone(facts), func(f fact) bool {
		// MISP-STIX's custom properties repeat parts of the object (a URL's host, a domain's
		// hostname) or describe it (a PE's sections): a rule has the object itself.
		last := f.prop[strings.LastIndexAny(f.prop, ".]")+1:]
		return strings.HasPrefix(last, "x_misp_") || strings.HasPrefix(f.prop, peExtension) && f.prop != peExtension+"imphash"
	})
	switch typ {
	case "file":
		return fileFacts(facts, attr, unknown)
	case "domain-name":
		for _, f := range facts {
			switch f.prop {
			case "value":
				attrs = append(attrs, attr("domain", "domain", f.value))
			case "resolves_to_refs[*].value":
				attrs = append(attrs, attr("ip-dst", "ip", f.value))
			default:
				return nil, "", unknown(f)
			}
		}
		if len(attrs) == 1 {
			return attrs, "", ""
		}
		return attrs, "domain-ip", ""
	case "ipv4-addr", "ipv6-addr", "url", "mutex", "email-addr":
		misp := map[string]string{"ipv4-addr": "ip-dst", "ipv6-addr": "ip-dst", "url": "url", "mutex": "mutex", "email-addr": "email-src"}[typ]
		for _, f := range facts {
			if f.prop != "value" && !(typ == "mutex" && f.prop == "name") {
				return nil, "", unknown(f)
			}
			attrs = append(attrs, attr(misp, "", f.value))
		}
		return attrs, "", ""
	case "network-traffic":
		return networkTraffic(facts, attr, unknown)
	case "windows-registry-key":
		return registryKey(facts, attr, unknown)
	case "email-message":
		return nil, "", "e-mail message: rules for files and endpoint logs do not see mail"
	}
	return nil, "", fmt.Sprintf("STIX object type %s: rulegen writes no rule for it", typ)
}

// fileFacts reads a file's hashes, name, size and directory. A name with one hash is MISP's
// filename|<hash> (whatever the hash, as MISP exports that attribute); more make a file object.
func fileFacts(facts []fact, attr func(typ, rel, value string) report.Attribute, unknown func(fact) string) ([]report.Attribute, string, string) {
	var attrs []report.Attribute
	var name, hash *report.Attribute
	for _, f := range facts {
		switch {
		case strings.HasPrefix(f.prop, "hashes."):
			alg := hashAlgorithm(f.prop)
			attrs = append(attrs, attr(alg, alg, f.value))
			hash = &attrs[len(attrs)-1]
		case f.prop == "name":
			attrs = append(attrs, attr("filename", "filename", f.value))
			name = &attrs[len(attrs)-1]
		case f.prop == "size":
			attrs = append(attrs, attr("size-in-bytes", "size-in-bytes", f.value))
		case f.prop == "parent_directory_ref.path":
			attrs = append(attrs, attr("text", "path", f.value))
		case strings.HasPrefix(f.prop, "content_ref."):
			// the sample's own bytes (MISP's malware-sample): its hashes name it already
		case f.prop == peExtension+"imphash":
			attrs = append(attrs, attr("imphash", "imphash", f.value))
		default:
			return nil, "", unknown(f)
		}
	}
	switch {
	case len(attrs) == 2 && name != nil && hash != nil:
		return []report.Attribute{attr("filename|"+hash.Type, "", name.Value+"|"+hash.Value)}, "", ""
	case len(attrs) == 1 && attrs[0].Relation != "size-in-bytes" && attrs[0].Relation != "path":
		return attrs, "", ""
	}
	return attrs, "file", ""
}

// peExtension is the start of the properties of a file's PE header.
const peExtension = "extensions.'windows-pebinary-ext'."

// hashAlgorithm names a hashes key as MISP's attribute types do: MD5, 'SHA-1', SHA256 and
// sha256 are all md5, sha1, sha256.
func hashAlgorithm(prop string) string {
	alg := strings.Trim(strings.TrimPrefix(prop, "hashes."), "'")
	alg = strings.ToLower(alg)
	if strings.HasPrefix(alg, "sha-") || strings.HasPrefix(alg, "sha3-") {
		alg = strings.Replace(alg, "sha-", "sha", 1)
	}
	return alg
}

func networkTraffic(facts []fact, attr func(typ, rel, value string) report.Attribute, unknown func(fact) string) ([]report.Attribute, string, string) {
	var attrs []report.Attribute
	for _, f := range facts {
		switch f.prop {
		case "dst_ref.value":
			if _, err := netip.ParseAddr(f.value); err == nil || strings.Contains(f.value, "/") {
				attrs = append(attrs, attr("ip-dst", "ip-dst", f.value))
			} else {
				attrs = append(attrs, attr("hostname", "hostname", f.value))
			}
		case "src_ref.value":
			attrs = append(attrs, attr("ip-src", "ip-src", f.value))
		case "dst_port":
			attrs = append(attrs, attr("port", "dst-port", f.value))
		case "src_port":
			attrs = append(attrs, attr("port", "src-port", f.value))
		case "dst_ref.type", "src_ref.type", "protocols[*]":
			// what kind of address, and over what: the address and port say enough
		default:
			return nil, "", unknown(f)
		}
	}
	return attrs, "ip-port", ""
}

// registryKey reads a key with a value's name and data; MISP's exporter writes values.data
// and values.name for values[*], and abbreviated hives, which normalize reads.
func registryKey(facts []fact, attr func(typ, rel, value string) report.Attribute, unknown func(fact) string) ([]report.Attribute, string, string) {
	var attrs []report.Attribute
	key := ""
	for _, f := range facts {
		switch prop := valuesIndex.ReplaceAllString(f.prop, "values."); prop {
		case "key":
			key = f.value
			attrs = append(attrs, attr("regkey", "key", f.value))
		case "values.name":
			attrs = append(attrs, attr("text", "name", f.value))
		case "values.data":
			attrs = append(attrs, attr("text", "data", f.value))
		case "values.data_type":
		default:
			return nil, "", unknown(f)
		}
	}
	if len(attrs) == 1 && key != "" {
		// A key alone: any value set under it counts (normalize reads a trailing backslash so).
		return []report.Attribute{attr("regkey", "", strings.TrimRight(key, `\`)+`\`)}, "", ""
	}
	return attrs, "registry-key", ""
}
