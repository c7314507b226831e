package pipeline_test

import (
	"context"
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/sigma"
	"github.com/rulegen/rulegen/generate/yara"
)

// hostileValues are what reports written by adversaries' infrastructure can hold: each is put
// into every field of an event that reaches an output.
var hostileValues = map[string]string{
	"yara-breakout":    `"} condition: true }`,
	"comment-close":    `*/ rule Evil { condition: true } /*`,
	"yara-string":      `$a = "x" wide`,
	"quotes":           `it's "quoted"`,
	"backslashes":      `C:\\evil\ \" \x41 \`,
	"newlines":         "line one\nline two\r\n- item: x",
	"nul-and-controls": "a\x00b\x01c\x1b[31md\x7f",
	"yaml-specials":    `- key: value # comment | & ! * ? { } [ ] % @ ' `,
	"sigma-wildcards":  `*c2*?\*\\`,
	"unicode-title":    "Троян Ёж 🐍 \u202e\u0000 ｒｕｌｅ",
	"long":             strings.Repeat("AbC/", 2000),
}

func hostileEvent(t *testing.T, h string) []byte {
	t.Helper()
	attr := func(typ, value string) map[string]any {
		return map[string]any{"type": typ, "value": value, "to_ids": true, "comment": h, "category": h}
	}
	ev := map[string]any{"Event": map[string]any{
		"uuid": "0b9d12ac-cfd8-5ac3-b8d1-f260898d5c3f", "info": "Hostile " + h, "date": "2024-01-01",
		"Tag": []map[string]string{{"name": h}, {"name": `misp-galaxy:malpedia="` + h + `"`}, {"name": `misp-galaxy:mitre-attack-pattern="` + h + ` - T1060"`}},
		"Attribute": []map[string]any{
			attr("domain", "c2-hostile.net"),
			attr("mutex", `Global\Mx_`+h),
			attr("url", "http://c2-hostile.net/p/"+h),
			attr("filename", "drop"+h+".exe"),
			attr("regkey|value", `HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Name`+h+`|%APPDATA%\dir\`+h+`.exe`),
			attr("link", "https://example.org/"+h),
			attr(h, h),
		},
	}}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A hostile value in any field of an event cannot break a rule or change its logic: every rule
// compiles and validates, and the rules still match only what the report indicates.
func TestHostileValuesCannotChangeRules(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	for name, h := range hostileValues {
		t.Run(name, func(t *testing.T) {
			var sources []yara.Source
			var sigmaRules []sigma.Rule
			_, err := pipeline.Bytes("hostile.json", hostileEvent(t, h), pipeline.Options{Render: render.Options{Author: h}}, func(o *pipeline.Outcome) error {
				for _, f := range o.Files {
					switch {
					case strings.HasSuffix(f.Path, ".yar"):
						sources = append(sources, yara.Source{Name: f.Path, Text: string(f.Body)})
					case strings.HasSuffix(f.Path, ".yml"):
						r, err := sigma.Load(strings.TrimSuffix(f.Path, ".yml"), f.Body)
						if err != nil {
							t.Fatal(err)
						}
						sigmaRules = append(sigmaRules, r)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			rules, err := yara.Compile(sources...)
			if err != nil {
				t.Fatal(err)
			}
			defer rules.Destroy()
			c2 := ""
			for _, n := range rules.RuleNames() {
				if strings.HasSuffix(n, "_C2") {
					c2 = n
				}
			}
			for _, tc := range []struct {
				buf  string
				want []string
			}{
				{"", nil},
				{h, nil},
				{`"} condition: true }` + "\n" + h + "\nrule Evil { condition: true }", nil},
				{"beacon to c2-hostile.net every minute", []string{c2}},
			} {
				got, err := rules.ScanMem([]byte(tc.buf))
				if err != nil || !slices.Equal(got, tc.want) {
					t.Errorf("YARA on %.40q: %v (%v), want %v", tc.buf, got, err, tc.want)
				}
			}
			dns := ""
			for _, r := range sigmaRules {
				if strings.HasPrefix(path.Base(r.Name), "dns_query_win_malware_c2_") {
					dns = r.Name
				}
			}
			ev := sigma.NewEvaluator(sigmaRules)
			for _, tc := range []struct {
				event map[string]any
				want  []string
			}{
				{map[string]any{"EventID": 22, "QueryName": "c2-hostile.net"}, []string{dns}},
				{map[string]any{"EventID": 22, "QueryName": h}, nil},
				{map[string]any{"EventID": 1, "Image": h, "CommandLine": h, "TargetObject": h, "Details": h}, nil},
			} {
				got, err := ev.Matches(context.Background(), tc.event)
				if err != nil || !slices.Equal(got, tc.want) {
					t.Errorf("Sigma on %v: %v (%v), want %v", tc.event, got, err, tc.want)
				}
			}
		})
	}
}
