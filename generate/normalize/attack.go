package normalize

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/rulegen/rulegen/generate/report"
)

//go:embed attackdata/attack-techniques.tsv
var techniquesTSV []byte

//go:embed attackdata/attack-revoked.tsv
var revokedTSV []byte

type attackTables struct {
	current map[string]report.Technique
	revoked map[string]string // old id -> current id; "" when deprecated without replacement
}

var loadAttack = sync.OnceValue(func() attackTables {
	t := attackTables{current: map[string]report.Technique{}, revoked: map[string]string{}}
	for _, f := range tsvRows(techniquesTSV) {
		t.current[f[0]] = report.Technique{ID: f[0], Name: f[1], Tactics: splitList(f[2])}
	}
	for _, f := range tsvRows(revokedTSV) {
		t.revoked[f[0]] = f[3]
	}
	return t
})

// tsvRows returns the data rows of an embedded table; the tables are ours, so a malformed row
// is a build defect caught by the tests, not an input error.
func tsvRows(data []byte) [][]string {
	var rows [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Scan() // header
	for sc.Scan() {
		if f := strings.Split(sc.Text(), "\t"); len(f) >= 4 {
			rows = append(rows, f)
		}
	}
	return rows
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

var techniqueID = regexp.MustCompile(`\b(T\d{4}(?:\.\d{3})?)\s*$`)

// Technique maps an ATT&CK id, current or revoked, to the current technique. Revocation chains
// are followed; an id with no current replacement is an error naming it.
func Technique(id string) (report.Technique, error) {
	t := loadAttack()
	id = strings.ToUpper(strings.TrimSpace(id))
	replaced := ""
	for range 8 { // chains are short; the bound guards against a cycle in the data
		if cur, ok := t.current[id]; ok {
			cur.ReplacedID = replaced
			return cur, nil
		}
		next, ok := t.revoked[id]
		if !ok {
			return report.Technique{}, fmt.Errorf("unknown ATT&CK technique %s", id)
		}
		if next == "" {
			return report.Technique{}, fmt.Errorf("ATT&CK technique %s is deprecated without a replacement", id)
		}
		if strings.Contains(next, ";") {
			return report.Technique{}, fmt.Errorf("ATT&CK technique %s is deprecated; MITRE suggests one of %s, which the report does not choose",
				id, strings.ReplaceAll(next, ";", ", "))
		}
		if replaced == "" {
			replaced = id
		}
		id = next
	}
	return report.Technique{}, fmt.Errorf("ATT&CK technique %s: revocation chain too long", id)
}
