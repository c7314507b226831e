package normalize

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

var galaxyTag = regexp.MustCompile(`^misp-galaxy:([a-z0-9-]+)="(.*)"$`)

// Galaxies whose values name a malware family.
var familyGalaxies = map[string]bool{"malpedia": true, "mitre-malware": true, "mitre-tool": true, "tool": true, "ransomware": true, "rat": true}

// Galaxies whose values name an ATT&CK technique as "<name> - T1234".
var techniqueGalaxies = map[string]bool{"mitre-attack-pattern": true, "mitre-enterprise-attack-attack-pattern": true}

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

func classifyTags(r *report.Report) {
	seenTech := map[string]bool{}
	for _, tag := range r.Tags {
		if tlp, ok := strings.CutPrefix(strings.ToLower(tag), "tlp:"); ok {
			if name, known := tlpNames[tlp]; known && (r.TLP == "" || tlpRank[name] > tlpRank[r.TLP]) {
				r.TLP = name // several TLP tags: the most restrictive wins
			}
			continue
		}
		m := galaxyTag.FindStringSubmatch(tag)
		switch {
		case m == nil:
			r.Labels = append(r.Labels, tag)
		case familyGalaxies[m[1]]:
			r.Families = append(r.Families, strings.TrimSpace(m[2]))
		case techniqueGalaxies[m[1]]:
			addTechnique(r, tag, m[2], seenTech)
		}
	}
	r.Families = sortedUnique(r.Families)
	r.Labels = sortedUnique(r.Labels)
	slices.SortFunc(r.Techniques, func(a, b report.Technique) int { return strings.Compare(a.ID, b.ID) })
}

func addTechnique(r *report.Report, tag, value string, seen map[string]bool) {
	tagPos := r.TagsPos
	id := techniqueID.FindStringSubmatch(value)
	if id == nil {
		r.Skipped = append(r.Skipped, report.Skipped{Value: tag, Kind: "tag", Reason: "ATT&CK galaxy value without a technique id", Source: tagPos})
		return
	}
	t, err := Technique(id[1])
	if err != nil {
		r.Skipped = append(r.Skipped, report.Skipped{Value: tag, Kind: "tag", Reason: err.Error(), Source: tagPos})
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
