package render

import (
	"strings"
	"testing"
)

// Analysts' rules are renamed into the report's namespace: references follow, a member or a
// string reference of the same name does not, text in strings, regexes, hex strings and
// comments is left alone, a helper repeated word for word is written once, one of the same
// name but other text is numbered, imports are merged, and rulegen's meta follows the author's.
func TestPassThrough(t *testing.T) {
	helper := "private rule Helper { strings: $magic = \"Helper\" condition: $magic }"
	sources := []string{
		"import \"elf\"\r\n\r\n" + helper + "\r\n\r\nrule One : tag {\r\n  meta:\r\n    author = \"analyst\"\r\n  strings:\r\n    $Helper = /Helper{2}/\r\n    $h = { 48 65 6C }\r\n  condition:\r\n    Helper and $Helper and $h // Helper again\r\n}\r\n",
		"import \"pe\"\nimport \"elf\"\n" + helper + "\nrule Two { condition: Helper and elf.type == elf.ET_EXEC }\n",
		"private rule Helper { condition: filesize < 10 }\nrule Three { condition: Helper }\n",
	}
	meta := func(original string, _ []string) ([]string, error) {
		return []string{`report_id = "r1"`, "original_name = " + YaraString(original)}, nil
	}
	imports, rules, err := passThrough(sources, "MAL_R", meta)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(imports, ",") != "elf,pe" {
		t.Errorf("imports %v", imports)
	}
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "MAL_R_Helper MAL_R_One MAL_R_Two MAL_R_Helper_2 MAL_R_Three" {
		t.Fatalf("rules %s", got)
	}
	one := rules[1].Text
	for _, want := range []string{
		"rule MAL_R_One : tag {",
		`$Helper = /Helper{2}/`,
		"MAL_R_Helper and $Helper and $h // Helper again",
		"    author = \"analyst\"\n    report_id = \"r1\"\n    original_name = \"One\"\n  strings:",
	} {
		if !strings.Contains(one, want) {
			t.Errorf("no %q in\n%s", want, one)
		}
	}
	if !strings.Contains(rules[2].Text, "MAL_R_Helper and elf.type == elf.ET_EXEC") || !strings.Contains(rules[4].Text, "    condition:\n        MAL_R_Helper_2\n}") {
		t.Errorf("references:\n%s\n%s", rules[2].Text, rules[4].Text)
	}
	// A rule written on one line is laid out as generated rules are.
	if want := "rule MAL_R_Two\n{\n    meta:\n        report_id = \"r1\"\n        original_name = \"Two\"\n    condition:\n        MAL_R_Helper and elf.type == elf.ET_EXEC\n}"; rules[2].Text != want {
		t.Errorf("one-line rule laid out as\n%s\nwant\n%s", rules[2].Text, want)
	}
	// A name that rulegen's own rules could have is kept apart from them.
	if _, own, err := passThrough([]string{"rule C2 { condition: false }\nrule C2_2 { condition: C2 }"}, "MAL_R", meta); err != nil || own[0].Name != "MAL_R_C2_own" || !strings.Contains(own[1].Text, "condition:\n        MAL_R_C2_own\n}") {
		t.Errorf("%+v %v", own, err)
	}
	for _, bad := range []string{"rule x {", "condition: true }", "rule y { strings: $a = \"unterminated condition: $a }"} {
		if _, _, err := passThrough([]string{bad}, "MAL_R", meta); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
