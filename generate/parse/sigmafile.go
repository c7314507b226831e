package parse

import (
	"regexp"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/safefs"
	"github.com/rulegen/rulegen/generate/report"
)

// Sigma files (.yml, .yaml) a publisher ships beside its indicators are passed through as MISP
// sigma attributes are: each rule of the file (YAML documents apart, `---`) is one attribute,
// which the pipeline validates, quarantines, names into the report's folder and dates. A YAML
// file that holds no Sigma rule (a CI workflow, a compose file) states nothing.

var (
	// sigmaKeys are the top-level keys every Sigma detection rule has.
	sigmaDetection = regexp.MustCompile(`(?m)^detection:`)
	sigmaLogsource = regexp.MustCompile(`(?m)^logsource:`)
	// documentBreak starts a YAML document.
	documentBreak = regexp.MustCompile(`(?m)^---[ \t]*\r?\n`)
	// sigmaDate is a rule's date or modified entry.
	sigmaDate = regexp.MustCompile(`(?m)^(?:date|modified):\s*['"]?(\d{4})[-/](\d{2})[-/](\d{2})`)
)

// IsSigma says whether YAML holds a Sigma detection rule: a document with detection and
// logsource at its top.
func IsSigma(data []byte) bool {
	s := string(data)
	return sigmaDetection.MatchString(s) && sigmaLogsource.MatchString(s)
}

// maxSniffedSigma is the most of a YAML file read to tell whether it is a Sigma rule.
const maxSniffedSigma = 4 << 20

// IsSigmaFile says whether the regular file path is a YAML file holding a Sigma rule: a
// publication folder's Sigma rules make it a publication, as YARA rules do.
func IsSigmaFile(path string) bool {
	if FormatOfName(path) != FormatSigma {
		return false
	}
	data, err := safefs.ReadFile(path, maxSniffedSigma)
	return err == nil && IsSigma(data)
}

func readSigma(name string, data []byte) (*part, error) {
	c := newCollector(name, FormatSigma)
	text := strings.ReplaceAll(strings.TrimPrefix(string(data), "\ufeff"), "\r\n", "\n")
	p := &part{r: c.r}
	line := 1
	for _, doc := range documentBreak.Split(text, -1) {
		if IsSigma([]byte(doc)) {
			c.r.Attributes = append(c.r.Attributes, report.Attribute{Type: "sigma", Value: doc, ToIDS: true, Pos: report.Pos{File: name, Line: line}})
			for _, m := range sigmaDate.FindAllStringSubmatch(doc, -1) {
				p.mentioned = append(p.mentioned, m[1]+"-"+m[2]+"-"+m[3])
			}
		}
		line += strings.Count(doc, "\n") + 1
	}
	return p, nil
}
