package yara

import (
	"fmt"
	"strings"
	"testing"
)

// A source past pieceBytes is checked in pieces: each piece holds the source's imports and
// whole rules, a rule stays with the rules it uses, and the pieces together are the source.
func TestPiecesKeepRulesWholeAndTogether(t *testing.T) {
	var b strings.Builder
	b.WriteString("import \"hash\"\n/* rule InAComment { */\n")
	for i := range 40 {
		fmt.Fprintf(&b, "rule R%d : tag { meta: s = \"}{ rule X\" condition: hash.md5(0, filesize) == \"%032d\" }\n", i, i)
	}
	b.WriteString("rule UsesR3 { condition: R3 and R39 }\nrule Last { condition: filesize == 1 }\n")
	src := b.String()
	var joined strings.Builder
	n, line := 0, 1
	for p := range pieces(src, 200) {
		n++
		if p.firstLine != line {
			t.Fatalf("piece %d starts at line %d, want %d", n, p.firstLine, line)
		}
		body, ok := strings.CutPrefix(p.text, `import "hash" `)
		if !ok {
			t.Fatalf("piece %d lacks the source's imports: %.60q", n, p.text)
		}
		if strings.Contains(body, "UsesR3") && !strings.Contains(body, "rule R3 ") {
			t.Errorf("UsesR3 was cut from R3, which it uses")
		}
		joined.WriteString(body)
		line += strings.Count(body, "\n")
	}
	if n < 2 || joined.String() != src {
		t.Errorf("%d pieces; joined they are the source: %v", n, joined.String() == src)
	}
	// UsesR3 uses R3: no cut between R3 and it, so R4..R39 and UsesR3 share R3's piece.
	for p := range pieces(src, 200) {
		if strings.Contains(p.text, "rule R3 ") && !strings.Contains(p.text, "UsesR3") {
			t.Errorf("R3's piece does not hold its user")
		}
	}
}

// What a source cannot be read for (an unclosed rule, a stray word) is left to libyara whole.
func TestPiecesLeaveUnreadableSourcesWhole(t *testing.T) {
	for _, src := range []string{
		strings.Repeat("rule A { condition: true }\n", 20) + "rule B { condition: true \n",
		strings.Repeat("rule A { condition: true }\n", 20) + "/* unterminated",
	} {
		n := 0
		for p := range pieces(src, 50) {
			n++
			if p.text != src || p.firstLine != 1 {
				t.Errorf("an unreadable source was cut")
			}
		}
		if n != 1 {
			t.Errorf("%d pieces of an unreadable source", n)
		}
	}
}
