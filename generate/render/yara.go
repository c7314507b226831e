package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// yaraView is what YARA templates receive: the report plus the lists each rule needs, already
// chosen, sorted and deduplicated. Templates escape values with yaraString as they write them.
type yaraView struct {
	Report       *report.Normalized
	Author       string
	References   []string      // the report's links, or where the rule came from (see References)
	RuleBase     string        // unique rule-name stem; rules are <RuleBase>_<Kind>
	TechniqueIDs []string      // current ATT&CK ids
	Samples      []report.File // files with a hash
	Hashes       []hashRule    // the samples laid out in hash rules (see hashes.go)
	Domains      []string      // domains and hostnames
	IPs          []string      // unique addresses, ports dropped: YARA sees text, not flows
	URLs         []string
	C2           []c2Rule    // Domains, IPs and URLs split into rules libyara scans without warning
	C2Modifiers  c2Modifiers // how C2 strings are matched: in full, or as a blocklist's
	Persistence  []report.RegistryValue
	DroppedPaths []string        // dropped-file path tails not already in a registry value's data
	Persist      persistenceRule // the strings and condition of the persistence rule
	SteerAtoms   bool            // path strings written for a cheap libyara atom (yaraPath); not when readable
	Mutexes      []string
	// MutexesExpire is when the last mutex name expires; "" never.
	MutexesExpire string
	// Imphashes are the samples' import-table hashes, for pe.imphash(); ImphashesExpire as above.
	Imphashes       []string
	ImphashesExpire string
	// Passed are the analysts' own rules of the report, renamed into its namespace (see
	// passThrough); Imports are the modules the file imports, theirs included.
	Passed  []passedRule
	Imports []string
}

// c2Modifiers are the string modifiers of C2 rules. A campaign's values are looked for in
// ASCII and UTF-16, in any case, whole words only (a listed example.com must not match inside
// badexample.com); a blocklist's (Report.BulkC2) as listed, in ASCII, which at thousands of
// values costs scanners a fraction of the full form (docs/scan-cost.md).
type c2Modifiers struct {
	Blocklist            bool // say so in the rule
	Domain, Address, URL string
}

func newC2Modifiers(bulk bool, c Case) c2Modifiers {
	switch {
	case bulk:
		return c2Modifiers{Blocklist: true, Domain: "ascii fullword", Address: "ascii fullword", URL: "ascii"}
	case c == CaseListed:
		return c2Modifiers{Domain: "ascii wide fullword", Address: "ascii wide fullword", URL: "ascii wide"}
	}
	return c2Modifiers{Domain: "ascii wide nocase fullword", Address: "ascii wide fullword", URL: "ascii wide nocase"}
}

// textModifiers are the modifiers of registry and path strings.
func textModifiers(c Case) string {
	if c == CaseListed {
		return "ascii wide"
	}
	return "ascii wide nocase"
}

// persistenceRule is what the persistence rule looks for: its strings, and the terms its
// condition ORs, each one enough to say the malware is there.
type persistenceRule struct {
	Strings []ruleString
	Terms   []string
	Expires string // when the last of its values expires; "" never
}

// ruleString is one YARA string before escaping: the template quotes Value (or, for a path,
// writes it with yaraPath) and appends the modifiers.
type ruleString struct {
	ID        string // without the $
	Value     string
	Path      bool
	Modifiers string
}

// newPersistenceRule decides how registry values and dropped paths are detected. A key path
// such as \CurrentVersion\RunOnce is in countless benign programs, so it only counts together
// with the specific value name or the data path, and then its last two components are enough
// (KeyContext); a vendor key of the malware's own (AnyValue and Specific) counts alone, as its
// whole path; a data path or a dropped path is specific on its own.
func newPersistenceRule(values []report.RegistryValue, dropped []droppedPath, mods string) persistenceRule {
	var p persistenceRule
	var dates []string
	for i, v := range values {
		dates = append(dates, v.Expires)
		id := fmt.Sprintf("reg%d", i)
		var name, data string
		if v.Specific && !v.AnyValue {
			name = p.add(ruleString{ID: id + "_name", Value: v.Name, Modifiers: mods + " fullword"})
		}
		if v.DataTail != "" {
			data = p.add(ruleString{ID: id + "_data", Value: v.DataTail, Path: true, Modifiers: mods})
		}
		keyText := KeyContext(v.KeyTail)
		if v.AnyValue && v.Specific {
			keyText = strings.TrimPrefix(v.KeyTail, `\`)
		}
		key := p.add(ruleString{ID: id + "_key", Value: keyText, Modifiers: mods})
		var term string
		switch {
		case v.AnyValue && v.Specific:
			term = key
		case v.AnyValue:
			term = data + " and " + key
		case v.Specific && v.DataTail != "":
			term = data + " or (" + name + " and " + key + ")"
		case v.Specific:
			term = name + " and " + key
		default:
			term = data + " and " + key
		}
		p.Terms = append(p.Terms, "("+term+")")
	}
	for i, d := range dropped {
		p.Terms = append(p.Terms, p.add(ruleString{ID: fmt.Sprintf("drop%d", i), Value: d.Tail, Path: true, Modifiers: mods}))
		dates = append(dates, d.Expires)
	}
	p.Expires = LastExpiry(dates)
	return p
}

// add adds s to the rule's strings and returns its $name, or the name of an earlier string of
// the same text and modifiers: two values under one key share the key's string (a string
// written twice costs twice and YARA-X warns of it, duplicate_pattern_value).
func (p *persistenceRule) add(s ruleString) string {
	for _, earlier := range p.Strings {
		if earlier.Value == s.Value && earlier.Path == s.Path && earlier.Modifiers == s.Modifiers {
			return "$" + earlier.ID
		}
	}
	p.Strings = append(p.Strings, s)
	return "$" + s.ID
}

func newYaraView(r *report.Normalized, opts Options, ruleBase string) (yaraView, error) {
	v := yaraView{Report: r, Author: opts.Author, References: References(r), RuleBase: ruleBase, Samples: r.Samples(), Persistence: r.Registry}
	for _, t := range r.Techniques {
		v.TechniqueIDs = append(v.TechniqueIDs, t.ID)
	}
	v.Domains = sortedValues(r.Domains, r.Hostnames)
	v.URLs = sortedValues(r.URLs)
	v.Mutexes = sortedValues(r.Mutexes)
	v.MutexesExpire = LastExpiry(expiries(r.Mutexes))
	v.Imphashes = sortedValues(r.Imphashes)
	v.ImphashesExpire = LastExpiry(expiries(r.Imphashes))
	for _, e := range r.Endpoints {
		v.IPs = append(v.IPs, e.IP) // endpoints are sorted by address already
	}
	v.IPs = slices.Compact(v.IPs)
	v.C2Modifiers = newC2Modifiers(r.BulkC2, opts.Case)
	v.C2 = c2Rules(v.Domains, v.IPs, v.URLs, opts.Layout, v.C2Modifiers)
	datesC2(v.C2, r)
	if opts.Layout == LayoutFeed {
		v.Samples = nil // in the shared rules of RenderFeed
	}
	v.Hashes = hashRules(newHashSamples(v.Samples), opts.Layout)
	dropped := droppedPaths(r)
	for _, d := range dropped {
		v.DroppedPaths = append(v.DroppedPaths, d.Tail)
	}
	v.Persist = newPersistenceRule(r.Registry, dropped, textModifiers(opts.Case))
	v.SteerAtoms = opts.Layout != LayoutReadable
	return v, nil
}

// takePassedRules takes the report's own YARA rules into the view, with the meta entries
// passedMeta gives each, and lists the modules the
// file imports: hash for samples, pe for imphashes, and what the passed rules import.
func (v *yaraView) takePassedRules(passedMeta func(v *yaraView, original string, has []string) ([]string, error)) error {
	var imports []string
	if len(v.Samples) > 0 {
		imports = append(imports, "hash")
	}
	if len(v.Imphashes) > 0 {
		imports = append(imports, "pe")
	}
	if len(v.Report.YARARules) > 0 {
		var sources []string
		for _, a := range v.Report.YARARules {
			sources = append(sources, a.Value)
		}
		passedImports, passed, err := passThrough(sources, v.RuleBase, func(original string, has []string) ([]string, error) {
			return passedMeta(v, original, has)
		})
		if err != nil {
			return err
		}
		v.Passed = passed
		imports = append(imports, passedImports...)
	}
	slices.Sort(imports)
	v.Imports = slices.Compact(imports)
	return nil
}

// YaraMaxStrings is the most domains, addresses and URLs one generated rule holds, counting
// each domain of a family. libyara warns that a rule "is slowing down scanning"
// once its strings give too many atoms (between 1,000 and 2,000 `ascii wide nocase` domains),
// and a warning fails generate; larger lists go into further rules: _C2, _C2_2, ...
const YaraMaxStrings = 400

// c2Rule is one C2 rule's share of the strings; Suffix is "" for the first rule, then "_2", ...
type c2Rule struct {
	Suffix             string
	Families           []string // domain families as regular expressions (see domains.go)
	Domains, IPs, URLs []string
	Covered            []string // "value (matched by other)": values another string matches
	members            []string // every domain, address and URL the rule detects
	Expires            string   // when the last of them expires; "" never
}

// datesC2 dates each C2 rule by the expiry of the values it detects.
func datesC2(rules []c2Rule, r *report.Normalized) {
	expires := map[string]string{}
	note := func(value, date string) {
		if old, seen := expires[value]; !seen || old != "" && (date == "" || date > old) {
			expires[value] = date
		}
	}
	for _, l := range [][]report.Indicator{r.Domains, r.Hostnames, r.URLs} {
		for _, i := range l {
			note(i.Value, i.Expires)
		}
	}
	for _, e := range r.Endpoints {
		note(e.IP, e.Expires)
	}
	for i := range rules {
		var dates []string
		for _, m := range rules[i].members {
			dates = append(dates, expires[m])
		}
		rules[i].Expires = LastExpiry(dates)
	}
}

func expiries(list []report.Indicator) []string {
	out := make([]string, len(list))
	for i, ind := range list {
		out[i] = ind.Expires
	}
	return out
}

func c2Rules(domains, ips, urls []string, layout Layout, mods c2Modifiers) []c2Rule {
	var out []c2Rule
	cur := c2Rule{}
	n := 0
	add := func(list *[]string, v string, weight int) {
		if n > 0 && n+weight > YaraMaxStrings {
			out = append(out, cur)
			cur, n = c2Rule{Suffix: fmt.Sprintf("_%d", len(out)+1)}, 0
		}
		*list = append(*list, v)
		n += weight
	}
	rest := domains
	if layout != LayoutReadable { // fast and feed
		var families []domainFamily
		families, rest = factorDomains(domains)
		for _, f := range families {
			if len(f.Suffixes) < 2 { // one expression per domain: plain strings are as good
				rest = append(rest, f.Members...)
				continue
			}
			for _, re := range f.Regexes() {
				add(&cur.Families, re, len(f.Suffixes))
			}
			cur.members = append(cur.members, f.Members...)
		}
	}
	slices.Sort(rest)
	// Domains, addresses and URLs as the strings they become, without those another covers.
	var strs []textString
	kindOf := map[string]int{}
	for kind, values := range [][]string{rest, ips, urls} {
		for _, v := range values {
			strs = append(strs, newTextString(v, []string{mods.Domain, mods.Address, mods.URL}[kind]))
			kindOf[v] = kind
		}
	}
	kept, covered := dropCovered(strs)
	for _, s := range kept {
		add([]*[]string{&cur.Domains, &cur.IPs, &cur.URLs}[kindOf[s.Value]], s.Value, 1)
		cur.members = append(cur.members, s.Value)
	}
	if n > 0 {
		out = append(out, cur)
	}
	noteCovered(out, covered)
	return out
}

// noteCovered lists each covered value in the rule holding the string that matches it, which
// then also detects it.
func noteCovered(rules []c2Rule, covered []coveredString) {
	for _, c := range covered {
		for i := range rules {
			r := &rules[i]
			if slices.Contains(r.Domains, c.By) || slices.Contains(r.IPs, c.By) || slices.Contains(r.URLs, c.By) {
				r.Covered = append(r.Covered, fmt.Sprintf("%s (matched by %s)", c.Value, c.By))
				r.members = append(r.members, c.Value)
				break
			}
		}
	}
}

func sortedValues(lists ...[]report.Indicator) []string {
	var out []string
	for _, l := range lists {
		for _, i := range l {
			out = append(out, i.Value)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// droppedPaths keeps path tails with a directory and a file name (a bare name such as
// "324.doc" is too common to search for) that no registry value already covers.
func droppedPaths(r *report.Normalized) []droppedPath {
	covered := map[string]bool{}
	for _, v := range r.Registry {
		covered[strings.ToLower(v.DataTail)] = true
	}
	var out []droppedPath
	for _, f := range r.Files {
		if f.Role == report.RoleDropped && strings.Count(f.PathTail, `\`) >= 2 && !covered[strings.ToLower(f.PathTail)] {
			out = append(out, droppedPath{f.PathTail, f.Expires})
		}
	}
	slices.SortFunc(out, func(a, b droppedPath) int { return strings.Compare(a.Tail, b.Tail) })
	var merged []droppedPath // a path listed twice lives as long as its longer-lived copy
	for _, d := range out {
		if n := len(merged); n > 0 && merged[n-1].Tail == d.Tail {
			merged[n-1].Expires = LastExpiry([]string{merged[n-1].Expires, d.Expires})
			continue
		}
		merged = append(merged, d)
	}
	return merged
}

// droppedPath is a dropped file's path tail with its expiry.
type droppedPath struct{ Tail, Expires string }
