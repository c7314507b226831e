package parse

import (
	"regexp"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// MISP states a report's context as tags: tlp:<name>, galaxy clusters as
// misp-galaxy:<galaxy>="<value>", and anything else as a plain label. The MISP formats (JSON,
// its markdown rendering) read them into a report.Context here; normalise never sees a tag.

var galaxyTag = regexp.MustCompile(`^misp-galaxy:([a-z0-9-]+)="(.*)"$`)

// Galaxies whose values name a malware family.
var familyGalaxies = map[string]bool{"malpedia": true, "mitre-malware": true, "mitre-tool": true, "tool": true, "ransomware": true, "rat": true}

// Galaxies whose values name an ATT&CK technique as "<name> - T1234".
var techniqueGalaxies = map[string]bool{"mitre-attack-pattern": true, "mitre-enterprise-attack-attack-pattern": true}

// tagContext sorts MISP tags, stated at pos, into a report's context. A galaxy of neither
// families nor techniques says nothing rulegen uses.
func tagContext(tags []string, pos report.Pos) report.Context {
	c := report.Context{Pos: pos}
	for _, tag := range tags {
		if tlp, ok := strings.CutPrefix(strings.ToLower(tag), "tlp:"); ok {
			c.TLP = append(c.TLP, tlp)
			continue
		}
		m := galaxyTag.FindStringSubmatch(tag)
		switch {
		case m == nil:
			c.Labels = append(c.Labels, tag)
		case familyGalaxies[m[1]]:
			c.Families = append(c.Families, strings.TrimSpace(m[2]))
		case techniqueGalaxies[m[1]]:
			c.Techniques = append(c.Techniques, report.StatedTechnique{Ref: m[2], Stated: tag})
		}
	}
	return c
}
