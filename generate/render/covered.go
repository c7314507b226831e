package render

import (
	"cmp"
	"slices"
	"strings"
)

// A C2 rule matches when any of its strings does, so a string that can only match where
// another string of the rule matches too adds nothing but scan cost: with fullword, example.org
// matches wherever www.example.org or https://www.example.org/team does, and the URL
// smb://192.0.2.1/share/ wherever smb://192.0.2.1/share/update/ does. Such strings
// are not written; the rule's meta names each, with the string that covers it.

// textString is a literal YARA string: its text and its modifiers.
type textString struct {
	Value                         string
	ascii, wide, nocase, fullword bool
	lower                         string // Value in lower case
}

func newTextString(value, modifiers string) textString {
	mods := strings.Fields(modifiers)
	s := textString{Value: value, lower: strings.ToLower(value)}
	s.wide = slices.Contains(mods, "wide")
	s.ascii = slices.Contains(mods, "ascii") || !s.wide // neither means ASCII only
	s.nocase = slices.Contains(mods, "nocase")
	s.fullword = slices.Contains(mods, "fullword")
	return s
}

// covers says whether a matches wherever b does: b's encodings are a's too, a's text is in b's
// in every letter case b matches, and, if a is fullword, at an occurrence delimited within b
// (or at b's edge when b is fullword itself).
func covers(a, b textString) bool {
	if b.ascii && !a.ascii || b.wide && !a.wide {
		return false
	}
	if b.nocase && !a.nocase && hasLetter(a.Value) {
		return false
	}
	text, part := b.Value, a.Value
	if a.nocase {
		text, part = b.lower, a.lower
	}
	for from := 0; ; {
		i := strings.Index(text[from:], part)
		if i < 0 {
			return false
		}
		i += from
		if !a.fullword || delimited(text, i, i+len(part), b.fullword) {
			return true
		}
		from = i + 1
	}
}

// delimited says whether text[start:end] is a whole word: a non-alphanumeric character, or
// text's edge when text is matched as a whole word itself, on each side.
func delimited(text string, start, end int, textIsWord bool) bool {
	before := start > 0 && !isAlnum(text[start-1]) || start == 0 && textIsWord
	after := end < len(text) && !isAlnum(text[end]) || end == len(text) && textIsWord
	return before && after
}

func isAlnum(c byte) bool { return isLetter(c) || '0' <= c && c <= '9' }

func hasLetter(s string) bool {
	for i := range len(s) {
		if isLetter(s[i]) {
			return true
		}
	}
	return false
}

const maxCoverCheck = 5000

// coveredString is a value left out of a rule, and the value whose string matches it.
type coveredString struct {
	Value, By string
}

// dropCovered splits strings into those to write, in their order, and those another of them
// covers. Shorter strings are tried as covers first: a string covers only longer or equal ones.
// The search compares every pair: past maxCoverCheck strings (a blocklist, written as listed)
// it is not made.
func dropCovered(strs []textString) (kept []textString, covered []coveredString) {
	if len(strs) > maxCoverCheck {
		return strs, nil
	}
	order := make([]int, len(strs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(strs[a].Value), len(strs[b].Value)) })
	var keep []int
	coveredBy := map[int]string{}
	for _, i := range order {
		k := slices.IndexFunc(keep, func(k int) bool { return covers(strs[k], strs[i]) })
		if k >= 0 {
			coveredBy[i] = strs[keep[k]].Value
			continue
		}
		keep = append(keep, i)
	}
	for i, s := range strs {
		if by, ok := coveredBy[i]; ok {
			covered = append(covered, coveredString{Value: s.Value, By: by})
		} else {
			kept = append(kept, s)
		}
	}
	return kept, covered
}
