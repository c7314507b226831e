package normalize

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// tlpNames maps MISP tlp tags to TLPv2 names.
var tlpNames = map[string]string{
	"white": "clear", "clear": "clear", "green": "green", "amber": "amber",
	"amber+strict": "amber+strict", "red": "red",
}

// tlpRank orders TLP levels from least to most restrictive.
var tlpRank = map[string]int{"clear": 0, "green": 1, "amber": 2, "amber+strict": 3, "red": 4}

// ParseTLP reads a TLP name as a flag gives it: "red", "TLP:AMBER+STRICT", "white".
func ParseTLP(s string) (string, error) {
	name, ok := tlpNames[strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "tlp:")]
	if !ok {
		return "", fmt.Errorf("TLP %q: want clear, green, amber, amber+strict or red", s)
	}
	return name, nil
}

// AboveTLP says whether a report's TLP is more restrictive than max; a report without a TLP
// tag is not.
func AboveTLP(tlp, max string) bool {
	return tlp != "" && tlpRank[tlp] > tlpRank[max]
}

// resolveContext settles what the report says of itself: the most restrictive TLP it is
// marked with (unknown markings say nothing), its families, and the ATT&CK techniques it
// references that ATT&CK knows (the others are skipped, with the reason).
func resolveContext(r *report.Normalized) {
	c := r.Context
	for _, tlp := range c.TLP {
		if name, known := tlpNames[tlp]; known && (r.TLP == "" || tlpRank[name] > tlpRank[r.TLP]) {
			r.TLP = name
		}
	}
	r.Families = sortedUnique(slices.Clone(c.Families))
	seen := map[string]bool{}
	for _, st := range c.Techniques {
		addTechnique(r, st, seen)
	}
	slices.SortFunc(r.Techniques, func(a, b report.Technique) int { return strings.Compare(a.ID, b.ID) })
}

func addTechnique(r *report.Normalized, st report.StatedTechnique, seen map[string]bool) {
	id := techniqueID.FindStringSubmatch(st.Ref)
	if id == nil {
		r.Skipped = append(r.Skipped, report.Skipped{Value: st.Stated, Kind: "tag", Reason: "ATT&CK galaxy value without a technique id", Source: r.Context.Pos})
		return
	}
	t, err := Technique(id[1])
	if err != nil {
		r.Skipped = append(r.Skipped, report.Skipped{Value: st.Stated, Kind: "tag", Reason: err.Error(), Source: r.Context.Pos})
		return
	}
	if !seen[t.ID] {
		seen[t.ID] = true
		r.Techniques = append(r.Techniques, t)
	}
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
