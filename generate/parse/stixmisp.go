package parse

import (
	"strings"
)

// MISP-STIX labels what it exports with the MISP attribute's type (misp:type="…"). An
// indicator so labelled is read back as that attribute, as MISP's own import reads it: the
// export loses what STIX has no place for. An ip-src is the attacker's address, where
// network-traffic's src_ref is a connection's own side; a link is a reference, not a URL to
// detect; sha512/256 leaves under the key SHA-256; a regkey's last part is a value name. The
// exporter also writes % as \% in every value, and wraps YARA and Sigma rules in brackets.

// mispPairs are the MISP types whose value joins two properties with "|", in order.
// "hashes.*" is any hash of the file.
var mispPairs = map[string][2]string{
	"ip-dst|port":    {"dst_ref.value", "dst_port"},
	"ip-src|port":    {"src_ref.value", "src_port"},
	"domain|ip":      {"value", "resolves_to_refs[*].value"},
	"hostname|port":  {"value", "dst_port"},
	"regkey|value":   {"key", "values.data"},
	"malware-sample": {"name", "hashes.*"},
}

// mispValueOf are the MISP types exported with more than their value: the property that
// holds it.
var mispValueOf = map[string]string{"attachment": "name"}

// mispExported rebuilds the value of a MISP attribute of type mispType from the facts of its
// export, or says that they do not have its shape.
func mispExported(mispType string, facts []fact) (string, bool) {
	var kept []fact
	for _, f := range facts {
		// What kind of address it is, and a sample's own bytes: said by the type already.
		if !strings.HasSuffix(f.prop, "_ref.type") && !strings.HasPrefix(f.prop, "content_ref.") {
			kept = append(kept, fact{prop: valuesIndex.ReplaceAllString(f.prop, "values."), value: unescapePercent(f.value)})
		}
	}
	pair, isPair := mispPairs[mispType]
	if strings.HasPrefix(mispType, "filename|") {
		pair, isPair = [2]string{"name", "hashes.*"}, true
	}
	switch {
	case isPair && len(kept) == 2 && matches(kept[0].prop, pair[0]) && matches(kept[1].prop, pair[1]):
		return kept[0].value + "|" + kept[1].value, true
	case isPair:
		return "", false
	case mispValueOf[mispType] != "":
		for _, f := range kept {
			if f.prop == mispValueOf[mispType] {
				return f.value, true
			}
		}
		return "", false
	case len(kept) == 1:
		return kept[0].value, true
	}
	return "", false
}

func matches(prop, want string) bool {
	if prefix, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(prop, prefix)
	}
	return prop == want
}

// unescapePercent undoes MISP-STIX's \% (its export writes %DATA% as \%DATA\%).
func unescapePercent(s string) string { return strings.ReplaceAll(s, `\%`, "%") }

// unbracketed takes a YARA or Sigma rule out of the brackets MISP-STIX puts around it (no
// YARA source and no Sigma rule, a YAML mapping, starts with one).
func unbracketed(pattern string) string {
	if inner, ok := strings.CutPrefix(strings.TrimSpace(pattern), "["); ok {
		if inner, ok = strings.CutSuffix(inner, "]"); ok {
			return inner
		}
	}
	return pattern
}
