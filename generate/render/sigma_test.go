package render_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/render"
)

// Each Sigma rule of the seed report claims only the report's techniques whose tactics its log
// source observes, and every tactic of each technique it claims. The seed lists T1036 and
// T1070.006, T1202 (stealth), T1059 (execution), T1547.001 (persistence, privilege-escalation),
// T1566.001 (initial-access), T1571 (command-and-control) and T1685 (defense-impairment).
func TestSigmaTagsPerRule(t *testing.T) {
	r := load(t, filepath.Join(golden.RepoRoot(t), "testdata", "reports", "remcos-rat-2020-03-03.md"))
	files := renderOne(t, r)
	want := map[string][]string{
		"dns_query":          {"attack.command-and-control", "attack.t1571"},
		"network_connection": {"attack.command-and-control", "attack.t1571"},
		"dns":                {"attack.command-and-control", "attack.t1571"},
		"firewall":           {"attack.command-and-control", "attack.t1571"},
		"proxy":              {"attack.command-and-control", "attack.t1571"},
		"registry_set":       {"attack.persistence", "attack.privilege-escalation", "attack.t1547.001"},
		"process_creation":   {"attack.execution", "attack.stealth", "attack.t1036", "attack.t1059", "attack.t1070.006", "attack.t1202"},
		"file_event":         {"attack.persistence", "attack.privilege-escalation", "attack.stealth", "attack.t1036", "attack.t1070.006", "attack.t1202", "attack.t1547.001"},
	}
	seen := 0
	for _, f := range files {
		if !strings.HasPrefix(f.Path, "sigma/") {
			continue
		}
		var rule struct {
			Tags      []string
			Logsource struct{ Category string }
		}
		if err := yaml.Unmarshal(f.Body, &rule); err != nil {
			t.Fatal(err)
		}
		var attack []string
		for _, tag := range rule.Tags {
			if strings.HasPrefix(tag, "attack.") {
				attack = append(attack, tag)
			}
		}
		if !slices.Equal(attack, want[rule.Logsource.Category]) {
			t.Errorf("%s: %v, want %v", f.Path, attack, want[rule.Logsource.Category])
		}
		// Every tagged technique's tactics are tagged too.
		for _, tag := range attack {
			if tech, err := normalize.Technique(strings.TrimPrefix(tag, "attack.")); err == nil {
				for _, tactic := range tech.Tactics {
					if !slices.Contains(attack, "attack."+tactic) {
						t.Errorf("%s: %s without its tactic %s", f.Path, tag, tactic)
					}
				}
			}
		}
		seen++
	}
	if seen != len(want) {
		t.Errorf("%d Sigma rules, want %d", seen, len(want))
	}
	// Every category a template writes has a row in the table.
	for category := range want {
		if render.ObservedTactics(category) == nil {
			t.Errorf("no tactics for %s", category)
		}
	}
}

// TitleCase writes titles as SigmaHQ's title check wants them, on the bundled reports' own
// titles: lower-case words capitalised, small words and names as written (domains, paths,
// file names) left alone, words holding a capital kept.
func TestTitleCase(t *testing.T) {
	for title, want := range map[string]string{
		"Ebury is alive but unseen":                                                     "Ebury Is Alive But Unseen",
		"OSINT - Sednit update: How Fancy Bear Spent the Year":                          "OSINT - Sednit Update: How Fancy Bear Spent the Year",
		"MoustachedBouncer: Espionage against foreign diplomats in Belarus":             "MoustachedBouncer: Espionage Against Foreign Diplomats in Belarus",
		"the rise of TeleBots: analyzing disruptive KillDisk attacks":                   "The Rise of TeleBots: Analyzing Disruptive KillDisk Attacks",
		"c2 at evil-example.net via /gate.php and run.exe, 2nd wave (ünïcödé) «quoted»": "C2 at evil-example.net via /gate.php and run.exe, 2nd Wave (Ünïcödé) «Quoted»",
	} {
		got := render.TitleCase(title)
		if got != want {
			t.Errorf("TitleCase(%q) = %q, want %q", title, got, want)
		}
		if again := render.TitleCase(got); again != got {
			t.Errorf("TitleCase is not idempotent: %q, then %q", got, again)
		}
	}
}

// FuzzTitleCase: whatever the title, TitleCase leaves no word SigmaHQ's check flags but one
// with no capital form (ß), keeps every word with a capital and every other character as it
// was, and is idempotent.
func FuzzTitleCase(f *testing.F) {
	for _, seed := range []string{"ebury is alive but unseen", "a  b\tc", "ßtraße ª ⓐⓑ ǆungla", "(apt28) [x] -y", "évian façade ĳssel"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, title string) {
		got := render.TitleCase(title)
		words, gotWords := strings.Split(title, " "), strings.Split(got, " ")
		if len(words) != len(gotWords) {
			t.Fatalf("%q became %q", title, got)
		}
		for i, w := range gotWords {
			if render.MiscasedTitleWord(w) && render.HasCapitalForm(w) {
				t.Errorf("%q: word %q is still in lower case", got, w)
			}
			if w != words[i] && (!render.MiscasedTitleWord(words[i]) && i > 0 || !capitalised(words[i], w)) {
				t.Errorf("word %q became %q", words[i], w)
			}
		}
		if again := render.TitleCase(got); again != got {
			t.Errorf("not idempotent: %q, then %q", got, again)
		}
	})
}

// capitalised says whether to is from with one character turned into its capital form.
func capitalised(from, to string) bool {
	a, b := []rune(from), []rune(to)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return b[i] == unicode.ToTitle(a[i]) && string(a[i+1:]) == string(b[i+1:])
		}
	}
	return false
}

// SigmaFileName makes names SigmaHQ's tools accept, unique per slug even where a long slug is
// cut: by the slug's short id, or by a digest of a slug without one.
func TestSigmaFileName(t *testing.T) {
	long := strings.Repeat("operation_long_title_", 4)
	names := map[string]string{}
	for _, slug := range []string{
		"remcos_rat_02_28_20",
		"moustachedbouncer_espionage_against_foreign_diplomats_in_bel_ea593018",
		"moustachedbouncer_espionage_against_foreign_diplomats_in_bel_0badf00d",
		long + "first", long + "second",
	} {
		for _, kind := range []string{"proc_creation_macos_malware_dropped", "net_dns_malware_c2", "passed_12"} {
			name := render.SigmaFileName(kind, slug)
			if !render.SigmaFileNameOK(name) || !strings.HasPrefix(name, kind+"_") {
				t.Errorf("%s, %s: %q", kind, slug, name)
			}
			if prev, dup := names[name]; dup {
				t.Errorf("%q names %s and %s", name, prev, slug)
			}
			names[name] = slug
			if strings.HasSuffix(slug, "_ea593018") && !strings.HasSuffix(name, "_ea593018.yml") {
				t.Errorf("%q lost the slug's short id", name)
			}
		}
	}
	if got := render.SigmaFileName("net_dns_malware_c2", "remcos_rat_02_28_20"); got != "net_dns_malware_c2_remcos_rat_02_28_20.yml" {
		t.Errorf("a short slug is kept whole: %q", got)
	}
}
