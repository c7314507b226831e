package yarasrc_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/yarasrc"
)

// A source is cut into its rules by YARA's lexical structure: a rule header, a brace or a
// section keyword inside a comment, a string, a regular expression or a hex string is text.
func TestSplitReadsRulesNotText(t *testing.T) {
	src := `import "pe"
// rule Commented { condition: true }
/* rule Blocked
{ condition: true } */
private rule Helper : tag {
    meta:
        note = "rule Quoted { condition: }"
    strings:
        $re = /rule \{x\}/
        $hex = { 72 75 6C 65 }
    condition:
        $re or $hex
}
global private rule Both { condition: Helper }
rule
Split
{
	condition: pe.is_pe
}
`
	imports, rules, err := yarasrc.Split(src)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	if !slices.Equal(imports, []string{"pe"}) || !slices.Equal(names, []string{"Helper", "Both", "Split"}) {
		t.Fatalf("imports %v, rules %v", imports, names)
	}
	if !strings.HasPrefix(rules[0].Text, "private rule Helper : tag {") || !strings.HasSuffix(rules[0].Text, "$re or $hex\n}") {
		t.Errorf("Helper's text:\n%s", rules[0].Text)
	}
	if got := yarasrc.Names(src); !slices.Equal(got, names) {
		t.Errorf("Names %v", got)
	}
	for _, bad := range []string{"rule x {", "condition: true }", `rule y { strings: $a = "unterminated condition: $a }`, "/* open", ""} {
		if _, _, err := yarasrc.Split(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
		if yarasrc.Names(bad) != nil {
			t.Errorf("%q: names", bad)
		}
	}
}

// What a rule detects starts at its strings: or condition: keyword, wherever its layout puts
// it; the words in its meta values do not count.
func TestDetectionStart(t *testing.T) {
	for _, tc := range []struct{ rule, from string }{
		{"rule A\n{\n    meta:\n        x = \"strings: condition:\"\n    strings:\n        $a = \"a\"\n    condition:\n        $a\n}", "strings:\n        $a"},
		{"rule B {\n\tmeta:\n\t\tdate = \"2024-01-01\"\n\tcondition:\n\t\ttrue\n}", "condition:\n\t\ttrue"},
		{"rule C { condition: true }", "condition: true }"},
		{"rule D { meta: a = 1 strings : $s = \"x\" condition: $s }", "strings : $s"},
	} {
		at, err := yarasrc.DetectionStart(tc.rule)
		if err != nil || !strings.HasPrefix(tc.rule[at:], tc.from) {
			t.Errorf("%q: at %d (%v): %q", tc.rule, at, err, tc.rule[at:])
		}
	}
	if _, err := yarasrc.DetectionStart("rule E { meta: a = \"condition: x\" }"); err == nil {
		t.Error("a rule without a condition: no error")
	}
}
