package render

import (
	"cmp"
	"slices"
	"strings"
)

// Domains of one family often differ only around a shared name (c2-1.evil.net … c2-10.evil.net,
// us-c2-1.evil.net …). As separate strings each brings its own atoms to libyara's scan; one
// regular expression whose fixed middle is the shared name gives a single, selective atom for
// the whole family. rulegen factors a family only when the expression matches exactly the
// listed domains: every listed prefix with every listed suffix, nothing more.

const (
	minCore      = 5   // the shared name must make a selective atom
	minFamily    = 4   // fewer domains are not worth a less readable rule
	maxAlternate = 16  // prefixes or suffixes in one group: libyara refuses complex expressions
	maxRegex     = 300 // characters of one expression, for the same reason
)

// domainFamily is a set of domains written as prefixes × core × suffixes.
type domainFamily struct {
	Prefixes, Suffixes []string
	Core               string
	Members            []string
}

// Regexes are the family as YARA regular expression bodies, one per prefix: c2-(1|10|2)\.evil\.net
// and us-c2-(1|10|2)\.evil\.net. What all suffixes end with is written once, outside the
// group: over /usr/lib the seed's family costs libyara a third as much as
// droptop(1\.com|10\.com|...), whose alternatives each bring atoms of their own. The prefixes
// are not a group: YARA-X takes an optional or alternated leading group as a reason to search
// for atoms of every alternative after it, and the seed's family written
// (usa)?droptop(1|10|...)\.com cost YARA-X 13.6 times its baseline, against 1.04 times as two
// expressions, while libyara scans both forms alike (docs/scan-cost.md).
func (f domainFamily) Regexes() []string {
	tail := commonSuffix(f.Suffixes)
	var posts []string
	for _, s := range f.Suffixes {
		posts = append(posts, s[:len(s)-len(tail)])
	}
	var out []string
	for _, p := range f.Prefixes {
		out = append(out, regexLiteral(p+f.Core)+alternation(posts)+regexLiteral(tail))
	}
	return out
}

// fits says whether libyara accepts every expression of the family.
func (f domainFamily) fits() bool {
	if len(f.Prefixes) > maxAlternate || len(f.Suffixes) > maxAlternate {
		return false
	}
	for _, re := range f.Regexes() {
		if len(re) > maxRegex {
			return false
		}
	}
	return true
}

func commonPrefix(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	p := parts[0]
	for _, s := range parts[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

func commonSuffix(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	p := parts[0]
	for _, s := range parts[1:] {
		for !strings.HasSuffix(s, p) {
			p = p[1:]
		}
	}
	return p
}

func alternation(parts []string) string {
	var alts []string
	optional := false
	for _, p := range parts {
		if p == "" {
			optional = true
			continue
		}
		alts = append(alts, regexLiteral(p))
	}
	switch {
	case len(alts) == 0:
		return ""
	case len(alts) == 1 && !optional && !strings.ContainsAny(alts[0], "|"):
		return alts[0]
	}
	group := "(" + strings.Join(alts, "|") + ")"
	if optional {
		group += "?"
	}
	return group
}

// plainDomain says whether d is made only of the characters regexLiteral handles.
func plainDomain(d string) bool {
	return strings.Trim(d, "abcdefghijklmnopqrstuvwxyz0123456789.-") == ""
}

// regexLiteral escapes a domain fragment ([a-z0-9.-] only) for a YARA regex.
func regexLiteral(s string) string {
	return strings.ReplaceAll(s, ".", `\.`)
}

// factorDomains splits sorted domains into exact families and the domains left as strings.
// Each round takes the dot-free substring (core) shared by the most remaining domains, the
// longest on a tie, that has not been tried, and tries it as a family.
func factorDomains(domains []string) ([]domainFamily, []string) {
	rest := slices.Clone(domains)
	if len(rest) < minFamily || len(rest) > 5000 {
		return nil, rest
	}
	cores := coreHolders(rest) // computed once: rounds only remove domains
	alive := make(map[string]bool, len(rest))
	for _, d := range rest {
		alive[d] = true
	}
	var families []domainFamily
	for len(rest) >= minFamily {
		best, members := bestCore(cores, alive)
		if best == "" {
			break
		}
		delete(cores, best) // tried
		f, ok := exactFamily(best, members)
		if !ok {
			continue
		}
		families = append(families, f)
		for _, m := range f.Members {
			delete(alive, m)
		}
		rest = slices.DeleteFunc(rest, func(d string) bool { return !alive[d] })
	}
	return families, rest
}

// coreHolders maps every dot-free substring of at least minCore characters that could make a
// family to the domains that hold it, in domain order. A core held by minFamily domains has
// each of its minCore-character grams held by as many, so only the runs of such grams in a
// label are expanded: in a list of unrelated domains that is almost nothing.
func coreHolders(domains []string) map[string][]string {
	plain := slices.DeleteFunc(slices.Clone(domains), func(d string) bool { return !plainDomain(d) }) // others are never factored
	shared := gramsShared(plain)
	holders := map[string][]string{}
	for _, d := range plain {
		seen := map[string]bool{}
		for _, label := range strings.Split(d, ".") {
			for i := 0; i+minCore <= len(label); i++ {
				// label[i:j] is a candidate while every gram in it is shared.
				for j := i + minCore; j <= len(label) && shared[label[j-minCore:j]]; j++ {
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

// gramsShared says which minCore-character grams of labels at least minFamily domains hold.
func gramsShared(domains []string) map[string]bool {
	count := map[string]int{}
	for _, d := range domains {
		seen := map[string]bool{}
		for _, label := range strings.Split(d, ".") {
			for i := 0; i+minCore <= len(label); i++ {
				if g := label[i : i+minCore]; !seen[g] {
					seen[g] = true
					count[g]++
				}
			}
		}
	}
	shared := map[string]bool{}
	for g, n := range count {
		if n >= minFamily {
			shared[g] = true
		}
	}
	return shared
}

// bestCore finds the untried core held by the most remaining domains (the longest on a tie,
// then the first in order) and returns those domains.
func bestCore(cores map[string][]string, alive map[string]bool) (string, []string) {
	best, bestN := "", 0
	for c, hs := range cores {
		n := 0
		for _, d := range hs {
			if alive[d] {
				n++
			}
		}
		if n < minFamily {
			continue
		}
		if best == "" || cmp.Or(cmp.Compare(n, bestN), cmp.Compare(len(c), len(best)), strings.Compare(best, c)) > 0 {
			best, bestN = c, n
		}
	}
	if best == "" {
		return "", nil
	}
	var members []string
	for _, d := range cores[best] {
		if alive[d] {
			members = append(members, d)
		}
	}
	return best, members
}

// exactFamily writes members as prefixes × core × suffixes. When the product has holes, the
// members of the rarest prefix or suffix are left out until it has none (they stay strings).
func exactFamily(core string, members []string) (domainFamily, bool) {
	split := func(d string) (string, string) {
		i := strings.Index(d, core)
		return d[:i], d[i+len(core):]
	}
	for len(members) >= minFamily {
		pres, posts := map[string]int{}, map[string]int{}
		for _, d := range members {
			pre, post := split(d)
			pres[pre]++
			posts[post]++
		}
		if len(pres)*len(posts) == len(members) {
			f := domainFamily{Core: core, Members: members}
			for p := range pres {
				f.Prefixes = append(f.Prefixes, p)
			}
			for p := range posts {
				f.Suffixes = append(f.Suffixes, p)
			}
			slices.Sort(f.Prefixes)
			slices.Sort(f.Suffixes)
			return f, f.fits() // members are unique, so a full count means every combination is there
		}
		rare, rarest := "", len(members)+1
		for _, m := range []map[string]int{pres, posts} {
			for part, n := range m {
				if n < rarest || n == rarest && part < rare {
					rare, rarest = part, n
				}
			}
		}
		members = slices.DeleteFunc(slices.Clone(members), func(d string) bool {
			pre, post := split(d)
			return pre == rare && pres[pre] == rarest || post == rare && posts[post] == rarest
		})
	}
	return domainFamily{}, false
}
