package export

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/report"
)

// A bulk hash list (a publication of 300,000 samples) makes one Sigma process rule with a value
// per hash: no SIEM runs that query, nor the hundreds of rules its parts would be. Past the
// target's storeAbove, a Windows process rule's hashes go where the platform keeps indicators
// (an index, a lookup, a watchlist) and one rule looks the process's hashes up there; what the
// rule detects besides its hashes stays a query pySigma converts.

// storedHash is a hash a process rule detects, as the indicator store keeps it.
type storedHash struct {
	Algorithm string // sha256, sha1, md5
	Value     string // lower-case hex
}

// hashAlgorithms are the Sysmon Hashes field's algorithms a store takes, with their hex length.
var hashAlgorithms = map[string]int{"SHA256": 64, "SHA1": 40, "MD5": 32}

// hashMarks are how a hash value starts in a rulegen process rule's YAML, for counting them
// without parsing.
var hashMarks = [][]byte{[]byte("- 'SHA256="), []byte("- 'SHA1="), []byte("- 'MD5=")}

// countHashes counts the hash values a Sigma rule's text lists, cheaply.
func countHashes(text []byte) int {
	n := 0
	for _, m := range hashMarks {
		n += bytes.Count(text, m)
	}
	return n
}

// storeHashes takes a Windows process_creation rule's Hashes|contains selections (every value
// ALGORITHM=HEX of an algorithm a store takes) out of it: the hashes, sorted and each once, and
// the rule without them (nil when nothing else is left). ok is false for any other rule.
func storeHashes(text []byte) (hashes []storedHash, rest []byte, ok bool) {
	var doc yaml.Node
	if yaml.Unmarshal(text, &doc) != nil || len(doc.Content) != 1 {
		return nil, nil, false
	}
	root := doc.Content[0]
	logsource, detection := mapValue(root, "logsource"), mapValue(root, "detection")
	if logsource == nil || detection == nil || scalar(logsource, "category") != "process_creation" || scalar(logsource, "product") != "windows" {
		return nil, nil, false
	}
	cond := mapValue(detection, "condition")
	if cond == nil || cond.Kind != yaml.ScalarNode {
		return nil, nil, false
	}
	chosen, alternatives := alternativesOf(cond.Value)
	if !alternatives {
		return nil, nil, false
	}
	var kept []*yaml.Node
	others := 0 // selections the condition takes that are left
	for i := 0; i+1 < len(detection.Content); i += 2 {
		name, sel := detection.Content[i], detection.Content[i+1]
		if name.Value == "condition" || !chosen(name.Value) { // a selection the condition leaves out detects nothing
			kept = append(kept, name, sel)
			continue
		}
		values, left := hashSelection(sel)
		hashes = append(hashes, values...)
		if left != nil {
			kept = append(kept, name, left)
			others++
		}
	}
	if len(hashes) == 0 {
		return nil, nil, false
	}
	slices.SortFunc(hashes, func(a, b storedHash) int { return strings.Compare(a.Algorithm+a.Value, b.Algorithm+b.Value) })
	hashes = slices.Compact(hashes)
	if others == 0 {
		return hashes, nil, true
	}
	original := detection.Content
	detection.Content = kept
	defer func() { detection.Content = original }()
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(4)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, false
	}
	enc.Close()
	return hashes, b.Bytes(), true
}

// hashSelection takes the hashes a store keeps out of a selection of Hashes|contains values
// (ALGORITHM=HEX): the hashes, and the selection with what is left (an imphash), nil when
// nothing is; any other selection is left whole.
func hashSelection(sel *yaml.Node) ([]storedHash, *yaml.Node) {
	if sel.Kind != yaml.MappingNode || len(sel.Content) != 2 || sel.Content[0].Value != "Hashes|contains" {
		return nil, sel
	}
	list := sel.Content[1]
	if list.Kind == yaml.ScalarNode {
		list = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{list}}
	}
	var out []storedHash
	var left []*yaml.Node
	for _, v := range list.Content {
		algo, hex, found := strings.Cut(v.Value, "=")
		length, known := hashAlgorithms[strings.ToUpper(algo)]
		if v.Kind != yaml.ScalarNode || !found || !known || len(hex) != length || !report.IsHex(hex) {
			left = append(left, v) // an imphash, or a value a lookup cannot compare whole
			continue
		}
		out = append(out, storedHash{Algorithm: strings.ToLower(algo), Value: strings.ToLower(hex)})
	}
	if len(left) == 0 {
		return out, nil
	}
	rest := *sel
	leftList := *list
	leftList.Content = left
	rest.Content = []*yaml.Node{sel.Content[0], &leftList}
	return out, &rest
}

func scalar(m *yaml.Node, key string) string {
	if v := mapValue(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// lookupID is the id of the rule that looks a Sigma rule's stored hashes up.
func lookupID(sigmaID string) string { return sigmaID + "-hashes" }

// storeAlgorithms are the algorithms a rule's stored hashes are of, in a fixed order.
func storeAlgorithms(hashes []storedHash) []string {
	var algos []string
	for _, a := range []string{"sha256", "sha1", "md5"} {
		if slices.ContainsFunc(hashes, func(h storedHash) bool { return h.Algorithm == a }) {
			algos = append(algos, a)
		}
	}
	return algos
}

// storeSummary says what a lookup rule looks up, for its description.
func storeSummary(hashes []storedHash, where string) string {
	return fmt.Sprintf(" Its %d hashes are in %s, which this rule looks the process's hashes up in.", len(hashes), where)
}
