package yarasrc_test

import (
	"math/rand/v2"
	"regexp"
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

// A rule written on one line is laid out as rulegen writes rules, its strings one a line,
// literals untouched (a regex holding "condition:", a string holding "$b ="); a rule already
// laid out is returned as its author wrote it.
func TestLayout(t *testing.T) {
	got, err := yarasrc.Layout(`rule x : tag { meta: author = "a = b" date = "2024-01-01" strings: $a = "x $b = y" ascii $re = /condition: \d+/ $h = { 4D 5A } condition: $a and ($re or $h) }`)
	want := "rule x : tag\n{\n    meta:\n        author = \"a = b\"\n        date = \"2024-01-01\"\n    strings:\n        $a = \"x $b = y\" ascii\n        $re = /condition: \\d+/\n        $h = { 4D 5A }\n    condition:\n        $a and ($re or $h)\n}"
	if err != nil || got != want {
		t.Errorf("got\n%s\n(%v), want\n%s", got, err, want)
	}
	laidOut := "rule y {\n  strings:\n    $a = \"y\"\n  condition:\n    $a\n}"
	if got, err := yarasrc.Layout(laidOut); err != nil || got != laidOut {
		t.Errorf("an author's layout changed:\n%s (%v)", got, err)
	}
	if _, err := yarasrc.Layout("rule z condition: true"); err == nil {
		t.Error("a rule without braces: no error")
	}
}

// The hand scanner finds what the regular expression of an identifier finds, less members and
// string references, on YARA source and on arbitrary bytes.
func TestEachIdentifierAgreesWithTheExpression(t *testing.T) {
	identifier := regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	want := func(code string) [][2]int {
		var out [][2]int
		for _, loc := range identifier.FindAllStringIndex(code, -1) {
			if start := loc[0]; start > 0 && (yarasrc.IsIdentByte(code[start-1]) || strings.ContainsRune(".$#@!", rune(code[start-1]))) {
				continue
			}
			out = append(out, [2]int{loc[0], loc[1]})
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab_Z09.$#@! \n\"{}"
	inputs := []string{"", "rule a_1 { strings: $s = \"x\" condition: $s and #s > 2 and pe.imphash() == \"9a\" and 9abc }", "_x.y@z!w#v$u 1a2b"}
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		var got [][2]int
		for start, end := range yarasrc.EachIdentifier(in) {
			got = append(got, [2]int{start, end})
		}
		if w := want(in); !slices.Equal(got, w) {
			t.Fatalf("%q: %v, the expression %v", in, got, w)
		}
	}
}
