// Package defang undoes the defanging analysts apply to network indicators so that nothing
// clicks or resolves them (hxxp://evil[.]com), for the stages that read indicators: parse
// types the lines of a publication by what they hold, normalize checks every value.
package defang

import (
	"regexp"
	"strings"
)

var marks = strings.NewReplacer("[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".", "[DOT]", ".",
	"[:]", ":", "[://]", "://", "[at]", "@", "[@]", "@", "[AT]", "@")

// defangedScheme is hxxp or hxxps before ://, anywhere in a value: a URL's query may hold a
// second URL (?u=hxxps://...), and a blob: or view-source: URL holds one after its own scheme.
var defangedScheme = regexp.MustCompile(`(?i)(^|[^a-z0-9])hxxp(s?)://`)

// Refang undoes the usual defanging of network indicators wherever it occurs in v: hxxp, [.],
// (.), {.}, [dot], [:], [://], [at], [@].
func Refang(v string) string {
	v = strings.TrimSpace(v)
	// Each mark opens with a bracket; the replacer copies v even when it finds none, and a
	// bulk list refangs a million values.
	if strings.ContainsAny(v, "[({") {
		v = marks.Replace(v)
	}
	if !containsFold(v, "hxxp") {
		return v
	}
	return defangedScheme.ReplaceAllStringFunc(v, func(m string) string {
		i := strings.IndexAny(m, "hH")
		return m[:i] + "http" + m[i+4:]
	})
}

// containsFold says whether s holds word (ASCII) in any case, without a lowered copy of s.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(word)], word) {
			return true
		}
	}
	return false
}
