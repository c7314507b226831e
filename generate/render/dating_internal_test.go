package render

import (
	"strings"
	"testing"
)

const sigmaBefore = `title: 'X - C2 Domain DNS Query'
id: 3ba4124b-4192-5462-ae19-ab4e515f1285
status: experimental
date: 2024-05-02
modified: 2024-06-01
tags:
    - attack.command-and-control
logsource:
    product: windows
    category: dns_query
detection:
    selection_domain:
        QueryName:
            - 'a.net'
            - 'b.net'
    condition: 1 of selection_*
level: high
`

// A Sigma rule is modified when its title, logsource, detection or level change (SigmaHQ),
// not when its tags or the order of its values do; an earlier modified date carries over.
func TestDateSigma(t *testing.T) {
	renderedAs := func(from, to string) string {
		return strings.Replace(strings.Replace(sigmaBefore, "modified: 2024-06-01\n", "", 1), from, to, 1)
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unchanged", renderedAs("", ""), "modified: 2024-06-01"},
		{"tags", renderedAs("attack.command-and-control", "attack.t1071"), "modified: 2024-06-01"},
		{"order", renderedAs("- 'a.net'\n            - 'b.net'", "- 'b.net'\n            - 'a.net'"), "modified: 2024-06-01"},
		{"detection", renderedAs("'b.net'", "'c.net'"), "modified: 2024-09-01"},
		{"level", renderedAs("level: high", "level: medium"), "modified: 2024-09-01"},
		{"title", renderedAs("X - C2", "Y - C2"), "modified: 2024-09-01"},
	} {
		got := string(dateSigma([]byte(sigmaBefore), []byte(tc.body), "2024-09-01"))
		if !strings.Contains(got, "date: 2024-05-02\n"+tc.want+"\n") || strings.Count(got, "modified:") != 1 {
			t.Errorf("%s:\n%s", tc.name, got)
		}
	}
}

// A YARA rule is modified when its strings or condition change, not its meta, however its
// template lays it out; an analyst's rule passed through keeps its own dates.
func TestDateYARA(t *testing.T) {
	for _, layout := range []struct{ name, open, indent string }{
		{"bundled", "\n{\n", "    "},
		{"tabs, brace on the rule's line", " {\n", "\t"},
		{"two spaces", "\n{\n", "  "},
	} {
		in := func(depth int, line string) string { return strings.Repeat(layout.indent, depth) + line + "\n" }
		rule := func(name, meta, str string) string {
			return "rule " + name + layout.open + in(1, "meta:") + in(2, `date = "2024-05-02"`) + meta +
				in(1, "strings:") + in(2, `$a = "`+str+`"`) + in(1, "condition:") + in(2, "$a") + "}\n"
		}
		modified := func(day string) string { return in(2, `modified = "`+day+`"`) }
		analysts := "rule Own" + layout.open + in(1, "meta:") + in(2, `date = "2020-01-01"`) + in(2, `modified = "2021-01-01"`) +
			in(2, `original_name = "Own"`) + in(1, "condition:") + in(2, "true") + "}\n"
		old := "import \"hash\"\n\n" + rule("A", modified("2024-06-01"), "x") + "\n" + rule("B", "", "x") + "\n" + analysts
		metaOnly := "import \"hash\"\n\n" + rule("A", in(2, `tlp = "TLP:CLEAR"`), "x") + "\n" + rule("B", "", "x") + "\n" + analysts
		if got := string(dateYARA([]byte(old), []byte(metaOnly), "2024-09-01")); !strings.Contains(got, rule("A", modified("2024-06-01")+in(2, `tlp = "TLP:CLEAR"`), "x")) ||
			!strings.Contains(got, rule("B", "", "x")) || !strings.HasSuffix(got, analysts) {
			t.Errorf("%s, meta only:\n%s", layout.name, got)
		}
		changed := "import \"hash\"\n\n" + rule("A", "", "y") + "\n" + rule("B", "", "y") + "\n" + strings.Replace(analysts, "true", "false", 1)
		want := "import \"hash\"\n\n" + rule("A", modified("2024-09-01"), "y") + "\n" + rule("B", modified("2024-09-01"), "y") + "\n" + strings.Replace(analysts, "true", "false", 1)
		if got := string(dateYARA([]byte(old), []byte(changed), "2024-09-01")); got != want {
			t.Errorf("%s, strings changed:\n%s\nwant:\n%s", layout.name, got, want)
		}
		if got := WithoutModified([]byte(rule("A", modified("2024-06-01"), "x"))); string(got) != rule("A", "", "x") {
			t.Errorf("%s, without modified:\n%s", layout.name, got)
		}
	}
}
