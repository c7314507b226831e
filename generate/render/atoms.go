package render

import "strings"

// libyara finds a text string through one 4-byte "atom" of it, chosen by a heuristic that
// ranks digits and punctuation above letters, and the scan of every byte of every file slows
// with how often the atoms' first bytes occur. For the seed report's data path,
// \<name>ns4\<NAME>.exe, it picks "ns4\", which starts with one of the commonest letters;
// steered to start its atom at the backslash of its file name, the string costs scanners a
// fraction of that (docs/scan-cost.md). libyara 4.2 builds atoms from literal runs only, so
// writing a character as a one-character class ([4]) takes it out of every candidate atom
// without changing what matches.

// steeredPath returns a path tail (\dir\file.exe) as the body of a YARA regular expression
// that matches exactly the same text, written so that libyara's atom starts at a backslash.
// ok is false when the literal is better left as it is: its atom already starts at a
// backslash (no digits or punctuation outrank it), or no backslash is followed by three
// distinct letters, or it holds characters this writer does not escape.
func steeredPath(tail string) (regex string, ok bool) {
	if !strings.HasPrefix(tail, `\`) || !plainPath(tail) || !strings.ContainsFunc(tail, isPunctOrDigit) || !hasBackslashAtom(tail) {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(tail); i++ {
		c := tail[i]
		beforeBackslash := i > 0 && i+1 < len(tail) && tail[i+1] == '\\'
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case isPunctOrDigit(rune(c)) || beforeBackslash:
			b.WriteString("[" + classChar(c) + "]")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// plainPath says whether every character of p is one steeredPath knows how to write.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !isLetter(c) && !strings.ContainsRune(`\0123456789._- $~%`, rune(c)) {
			return false
		}
	}
	return true
}

// hasBackslashAtom says whether a backslash is followed by three distinct letters (different
// from each other as bytes, as libyara counts them): the atom steeredPath leaves the best.
func hasBackslashAtom(p string) bool {
	for i := 0; i+3 < len(p); i++ {
		a, b, c := p[i+1], p[i+2], p[i+3]
		if p[i] == '\\' && isLetter(a) && isLetter(b) && isLetter(c) && a != b && b != c && a != c {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isPunctOrDigit(r rune) bool { return r < 0x80 && r != '\\' && !isLetter(byte(r)) }

// classChar writes c inside a character class; '-' is the only character of plainPath's set
// with a meaning there.
func classChar(c byte) string {
	if c == '-' {
		return `\-`
	}
	return string(c)
}
