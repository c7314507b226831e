//go:build cgo

package quarantine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/quarantine"
	"github.com/rulegen/rulegen/generate/sigma"
	"github.com/rulegen/rulegen/generate/yara"
)

// Each hostile rule is refused with its reason, and the safe rule beside it is kept and still
// detects what it did: only the unsafe rule goes, never the source.
func TestYARARefusesUnsafeRules(t *testing.T) {
	const safe = `rule safe { strings: $a = "kite-marker-0451" condition: $a }`
	cases := []struct {
		name, src, reason string
	}{
		{"global", `global rule g { condition: filesize < 0 }`, "a global rule"},
		{"global private", `global private rule g { condition: false }`, "a global rule"},
		{"always", `rule always { condition: true }`, "matches an empty file"},
		{"filesize", `rule big { condition: filesize > 10 }`, "matches random bytes"},
		{"console", "import \"console\"\nrule printer { strings: $a = \"x\" condition: $a and console.log(\"hit\") }", "uses the console module, which prints on every scan"},
		{"magic", "import \"magic\"\nrule m { condition: magic.type() contains \"PE32\" }", "uses the magic module, which YARA-X lacks"},
		{"executables", `rule mz { condition: uint16(0) == 0x5A4D }`, "matches an ordinary file of the benign set (gcc-386-mingw-exec.exe)"},
		{"elf", `rule elf { condition: uint32(0) == 0x464C457F }`, "matches an ordinary file of the benign set (gcc-amd64-linux-exec.elf)"},
		{"html", `rule web { strings: $a = "<html" nocase condition: $a }`, "matches an ordinary file of the benign set (index.html)"},
		{"whole-file loop", `rule slow { strings: $a = "kite" condition: $a and for any i in (0..filesize) : (uint8(i) == 0x4b) }`, "loops over every byte of the file"},
		{"dependent", "import \"console\"\nrule base { strings: $b = \"zz-kite\" condition: $b and console.log(\"x\") }\nrule user { strings: $a = \"kite\" condition: base and $a }", "uses rule base, refused: uses the console module"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kept, refused, err := quarantine.YARA(c.src + "\n" + safe)
			if err != nil {
				t.Fatal(err)
			}
			if len(refused) == 0 || !strings.Contains(refused[len(refused)-1].Reason, c.reason) {
				t.Fatalf("refused %+v, want a reason with %q", refused, c.reason)
			}
			for _, r := range refused {
				if r.Rule == "safe" {
					t.Fatalf("the safe rule was refused: %+v", r)
				}
			}
			rules, err := yara.Compile(yara.Source{Name: c.name, Text: kept})
			if err != nil {
				t.Fatalf("kept source does not compile: %v\n%s", err, kept)
			}
			defer rules.Destroy()
			if got := rules.RuleNames(); strings.Join(got, " ") != "safe" {
				t.Errorf("kept %v, want [safe]", got)
			}
			if got, _ := rules.ScanMem([]byte("...kite-marker-0451...")); len(got) != 1 {
				t.Errorf("the kept rule no longer detects its marker: %v", got)
			}
		})
	}
}

// Sources whose every rule is safe pass whole, imports and private helpers included; a
// source of 10,000 rules is judged rule by rule in one compilation.
func TestYARAKeepsSafeSources(t *testing.T) {
	src := "import \"pe\"\nprivate rule is_pe { condition: uint16(0) == 0x5A4D }\nrule loader { strings: $a = \"GlassKite-loader-v2\" condition: is_pe and $a and pe.number_of_sections > 2 }"
	kept, refused, err := quarantine.YARA(src)
	if err != nil || len(refused) != 0 || !strings.Contains(kept, `import "pe"`) || !strings.Contains(kept, "private rule is_pe") {
		t.Fatalf("kept %q, refused %+v (%v)", kept, refused, err)
	}
	var many strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&many, "rule r%d { strings: $a = \"marker-%05d-kite\" condition: $a }\n", i, i)
	}
	many.WriteString("rule everything { condition: true }\n")
	kept, refused, err = quarantine.YARA(many.String())
	if err != nil || len(refused) != 1 || refused[0].Rule != "everything" || strings.Count(kept, "\nrule r") != 10000 {
		t.Fatalf("10,000 rules: %d kept, refused %+v (%v)", strings.Count(kept, "\nrule r"), refused, err)
	}
}

// A public helper that matches anything (every executable) but that a safe rule uses is kept
// as a private rule: it no longer fires alone, and the rule built on it still detects.
func TestYARAKeepsHelpersPrivate(t *testing.T) {
	src := "rule IsPE { condition: uint16(0) == 0x5A4D }\nrule Dropper { strings: $a = \"kite-dropper-0451\" condition: IsPE and $a }\nrule Unused { condition: uint16(0) == 0x5A4D }"
	kept, refused, err := quarantine.YARA(src)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]quarantine.Refusal{}
	for _, r := range refused {
		byName[r.Rule] = r
	}
	if r := byName["IsPE"]; !r.Private || !strings.Contains(r.Reason, "kept private, for rule Dropper uses it: alone it matches an ordinary file of the benign set") {
		t.Errorf("IsPE: %+v", r)
	}
	if r := byName["Unused"]; r.Private || !strings.Contains(r.Reason, "matches an ordinary file of the benign set") {
		t.Errorf("Unused: %+v", r)
	}
	rules, err := yara.Compile(yara.Source{Name: "kept", Text: kept})
	if err != nil {
		t.Fatalf("%v\n%s", err, kept)
	}
	defer rules.Destroy()
	if got := strings.Join(rules.RuleNames(), " "); got != "Dropper IsPE" {
		t.Errorf("kept %s", got)
	}
	for buf, want := range map[string]string{"MZ...kite-dropper-0451": "Dropper", "MZ...": "", "kite-dropper-0451": ""} {
		if got, _ := rules.ScanMem([]byte(buf)); strings.Join(got, " ") != want {
			t.Errorf("%q matched %v, want %q", buf, got, want)
		}
	}
}

// The benign set holds executables and common file types, and every file of it is what its
// name says (a refusal names the file).
func TestBenignSet(t *testing.T) {
	magic := map[string]string{".exe": "MZ", ".elf": "\x7fELF", ".png": "\x89PNG", ".gif": "GIF8", ".jpeg": "\xff\xd8", ".zip": "PK", ".pdf": "%PDF"}
	seen := map[string]bool{}
	for _, f := range quarantine.BenignFiles() {
		for ext, m := range magic {
			if strings.HasSuffix(f.Name, ext) {
				seen[ext] = true
				if !strings.HasPrefix(string(f.Data), m) {
					t.Errorf("%s does not start with %q", f.Name, m)
				}
			}
		}
	}
	if len(seen) != len(magic) {
		t.Errorf("the benign set has %v, want every kind of %v", seen, magic)
	}
	if n := len(quarantine.BenignEvents()); n < 100 {
		t.Errorf("%d benign events", n)
	}
}

// A Sigma rule that selects nothing is refused; one that looks for a value is not.
func TestSigmaRefusesRulesThatSelectNothing(t *testing.T) {
	rule := func(detection string) string {
		return "title: T\nid: 5a1e3c2b-9d8f-4e7a-b6c5-d4e3f2a1b0c9\nstatus: experimental\ndescription: d\nauthor: a\ndate: 2024-01-01\ntags: []\n" +
			"logsource:\n    product: windows\n    category: process_creation\ndetection:\n" + detection + "falsepositives:\n    - Unknown\nlevel: high\n"
	}
	cases := []struct{ name, detection, reason string }{
		{"selective", "    selection:\n        CommandLine|contains: '--kite-cfg='\n    condition: selection\n", ""},
		{"negated", "    selection:\n        Image|endswith: '\\kite.exe'\n    condition: not selection\n", "no selective condition"},
		{"empty value", "    selection:\n        Image|endswith: ''\n    condition: selection\n", "no selective condition"},
		{"any event of the benign logs", "    selection:\n        EventID:\n            - 1\n            - 5\n            - 7\n            - 9\n            - 10\n            - 11\n            - 12\n            - 13\n            - 22\n            - 104\n            - 1102\n            - 4656\n            - 4658\n            - 4663\n            - 4688\n            - 4689\n            - 4690\n            - 5154\n            - 5156\n            - 5158\n    condition: selection\n", "fires on every one of the"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := sigma.Load(c.name+".yml", []byte(rule(c.detection)))
			if err != nil {
				t.Fatal(err)
			}
			reason, err := quarantine.Sigma(context.Background(), r)
			if err != nil || !strings.Contains(reason, c.reason) || (c.reason == "") != (reason == "") {
				t.Errorf("reason %q (%v), want %q", reason, err, c.reason)
			}
		})
	}
}
