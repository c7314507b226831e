package render

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A family is factored only when its expression matches exactly the listed domains.
func TestFactorDomains(t *testing.T) {
	var family []string
	for _, p := range []string{"", "us-"} {
		for _, s := range []string{"1.evil.net", "2.evil.net", "10.evil.net"} {
			family = append(family, p+"c2node"+s)
		}
	}
	lonely := []string{"other-domain.org", "c2node9.elsewhere.com"} // the second shares the core but breaks the product
	all := append(slices.Clone(family), lonely...)
	slices.Sort(all)
	families, rest := factorDomains(all)
	if len(families) != 1 || !slices.Equal(rest, []string{"c2node9.elsewhere.com", "other-domain.org"}) {
		t.Fatalf("families %+v rest %v", families, rest)
	}
	re := familyRegexp(families[0])
	for _, d := range family {
		if !re.MatchString(d) {
			t.Errorf("%s not matched by %s", d, re)
		}
	}
	for _, d := range []string{"c2node11.evil.net", "us-c2node9.elsewhere.com", "xc2node1.evil.net", "c2node1.evil.network", "us-c2node.evil.net"} {
		if re.MatchString(d) {
			t.Errorf("%s matched by %s", d, re)
		}
	}
	// No leading group: YARA-X searches every alternative after one (see Regexes).
	for _, r := range families[0].Regexes() {
		if strings.HasPrefix(r, "(") {
			t.Errorf("%s begins with a group", r)
		}
	}
	// Large sets factor only into families libyara accepts, each matching exactly its members.
	var wide []string
	for i := range 200 {
		wide = append(wide, "c2node"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+".evil.net")
	}
	slices.Sort(wide)
	wide = slices.Compact(wide)
	families, rest = factorDomains(wide)
	covered := len(rest)
	for _, f := range families {
		covered += len(f.Members)
		if !f.fits() {
			t.Errorf("family too complex for libyara: %s", f.Regexes())
		}
		re := familyRegexp(f)
		for _, d := range wide {
			if re.MatchString(d) != slices.Contains(f.Members, d) {
				t.Errorf("%s and %s disagree on %s", re, f.Members, d)
			}
		}
	}
	if covered != len(wide) {
		t.Errorf("%d of %d domains kept", covered, len(wide))
	}
}

// familyRegexp matches what any of the family's expressions matches, in full.
func familyRegexp(f domainFamily) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + strings.Join(f.Regexes(), "|") + `)$`)
}

// The feed layout is the fast one apart from where samples go: families are factored in both,
// and only the readable layout lists every domain.
func TestFamiliesInEveryLayoutButReadable(t *testing.T) {
	var domains []string
	for _, p := range []string{"", "us-"} {
		for _, s := range []string{"1", "2", "3"} {
			domains = append(domains, p+"c2node"+s+".evil.net")
		}
	}
	slices.Sort(domains)
	// One expression per prefix.
	for layout, want := range map[Layout]int{LayoutFast: 2, LayoutFeed: 2, LayoutReadable: 0} {
		if got := len(c2Rules(domains, nil, nil, layout, newC2Modifiers(false, CaseAny))[0].Families); got != want {
			t.Errorf("%s layout: %d family expressions, want %d", layout, got, want)
		}
	}
}

// coreHolders expands only the runs of shared grams; factoring with it must choose exactly the
// families that every substring would give. everySubstring is the plain definition.
func TestCoreHoldersPruningChangesNothing(t *testing.T) {
	everySubstring := func(domains []string) map[string][]string {
		holders := map[string][]string{}
		for _, d := range domains {
			if !plainDomain(d) {
				continue
			}
			seen := map[string]bool{}
			for _, label := range strings.Split(d, ".") {
				for i := 0; i < len(label); i++ {
					for j := i + minCore; j <= len(label); j++ {
						if c := label[i:j]; !seen[c] {
							seen[c] = true
							holders[c] = append(holders[c], d)
						}
					}
				}
			}
		}
		return holders
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"update", "cdn", "secure", "login", "mail", "api", "static", "check", "drop", "top", "files"}
	tlds := []string{"com", "net", "org", "info", "ru"}
	for round := range 200 {
		var domains []string
		for range 4 + rng.IntN(60) {
			name := words[rng.IntN(len(words))] + words[rng.IntN(len(words))]
			if rng.IntN(3) == 0 {
				name = fmt.Sprintf("%s%d", name, rng.IntN(9))
			}
			domains = append(domains, name+"."+tlds[rng.IntN(len(tlds))])
		}
		slices.Sort(domains)
		domains = slices.Compact(domains)
		want, got := everySubstring(domains), coreHolders(domains)
		for c, hs := range got {
			if !slices.Equal(hs, want[c]) {
				t.Fatalf("round %d: core %q held by %v, want %v", round, c, hs, want[c])
			}
		}
		for c, hs := range want {
			if _, kept := got[c]; !kept && len(hs) >= minFamily {
				t.Fatalf("round %d: core %q of %d domains pruned", round, c, len(hs))
			}
		}
	}
}
