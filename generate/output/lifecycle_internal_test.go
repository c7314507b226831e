package output

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

// A YARA rule is modified when its strings or condition change, not its meta.
func TestDateYARA(t *testing.T) {
	rule := func(meta, str string) string {
		return "rule A\n{\n    meta:\n        date = \"2024-05-02\"\n" + meta + "    strings:\n        $a = \"" + str + "\"\n    condition:\n        $a\n}\n"
	}
	old := rule("        modified = \"2024-06-01\"\n", "x")
	if got := string(dateYARA([]byte(old), []byte(rule("        tlp = \"TLP:CLEAR\"\n", "x")), "2024-09-01")); !strings.Contains(got, `modified = "2024-06-01"`) {
		t.Errorf("meta only:\n%s", got)
	}
	if got := string(dateYARA([]byte(old), []byte(rule("", "y")), "2024-09-01")); !strings.Contains(got, "date = \"2024-05-02\"\n        modified = \"2024-09-01\"\n") {
		t.Errorf("strings changed:\n%s", got)
	}
}
