package render

import (
	"fmt"
	"maps"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"github.com/rulegen/rulegen/generate/report"
)

// nonHermetic are sprig functions whose result depends on the clock, the environment, the network
// or chance. Rules must be the same bytes on every run, so templates never see them.
var nonHermetic = []string{
	"env", "expandenv", "getHostByName", "now", "ago", "date", "dateInZone", "date_in_zone", "htmlDate", "htmlDateInZone",
	"randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes", "randInt", "uuidv4", "shuffle",
	"genPrivateKey", "genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
	"genSignedCert", "genSignedCertWithKey", "buildCustomCert", "encryptAES", "bcrypt", "htpasswd",
}

// FuncMap is sprig minus its non-hermetic functions plus rulegen's escaping helpers:
//
//	yaraString  quotes a value as a YARA text string or meta value ("..." with \" \\ \xNN escapes)
//	yaraIdent   turns any text into a YARA identifier ([A-Za-z_][A-Za-z0-9_]*, at most 128 chars)
//	comment     flattens a value for a one-line comment (no newlines, no comment terminators)
//	sigmaString quotes a value for a Sigma detection (wildcards and backslashes escaped, YAML-quoted)
//	sigmaText   quotes free text (title, description) as a YAML scalar
//	stableID    UUIDv5 of its arguments: the same on every run
//	prefixAll   puts a prefix before every string of a list: .Domains | prefixAll "."
//	keyContext  the last two components of a registry key: \CurrentVersion\RunOnce
//	yaraPath    a path tail as a YARA string; with true first, steered to a cheap atom (atoms.go)
func FuncMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	for _, name := range nonHermetic {
		delete(f, name)
	}
	maps.Copy(f, template.FuncMap{
		"yaraString":  YaraString,
		"yaraIdent":   YaraIdent,
		"comment":     Comment,
		"sigmaString": SigmaString,
		"sigmaText":   SigmaText,
		"stableID":    report.StableID,
		"prefixAll":   prefixAll,
		"keyContext":  KeyContext,
		"yaraPath":    YaraPath,
	})
	return f
}

// YaraPath writes a path tail as a YARA string: when steer is set and steeredPath can, as a
// regular expression whose libyara atom starts at a backslash; otherwise quoted.
func YaraPath(steer bool, tail string) string {
	if steer {
		if re, ok := steeredPath(tail); ok {
			return "/" + re + "/"
		}
	}
	return YaraString(tail)
}

// YaraString quotes s as a YARA text string. Only \" \\ and \xNN are emitted: every byte outside
// printable ASCII is hex-escaped, which YARA accepts in strings and meta alike and which cannot
// end the string early.
func YaraString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// YARA keywords (docs/writingrules.rst and libyara/lexer.l, 4.5): an identifier may not be one.
var yaraKeywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`all and any ascii at base64 base64wide condition contains defined endswith
		entrypoint false filesize for fullword global icontains iendswith iequals import in include int16
		int16be int32 int32be int8 int8be istartswith matches meta nocase none not of or private rule
		startswith strings them true uint16 uint16be uint32 uint32be uint8 uint8be wide xor`) {
		yaraKeywords[k] = true
	}
}

const maxIdentifier = 128

// YaraIdent maps text to a valid YARA identifier: runs of other characters become one "_", a
// leading digit or a keyword gets a "_" prefix, and the result is cut to 128 characters.
func YaraIdent(s string) string {
	var b strings.Builder
	underscore := false
	for _, r := range s {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !ok {
			if !underscore && b.Len() > 0 {
				b.WriteByte('_')
			}
			underscore = true
			continue
		}
		b.WriteRune(r)
		underscore = r == '_'
	}
	id := strings.TrimRight(b.String(), "_")
	if id == "" || id[0] >= '0' && id[0] <= '9' || yaraKeywords[id] {
		id = "_" + id
	}
	if len(id) > maxIdentifier {
		id = strings.TrimRight(id[:maxIdentifier], "_")
	}
	return id
}

// Comment makes s safe inside a // or /* */ comment, or a YAML # comment: control characters
// become spaces and comment delimiters are broken up.
func Comment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return ' '
		}
		return r
	}, s)
	return commentDelimiters.Replace(s)
}

var commentDelimiters = strings.NewReplacer("*/", "* /", "/*", "/ *")

func prefixAll(prefix string, values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = prefix + v
	}
	return out
}

// KeyContext is what YARA looks for to place a value name in its registry key: the key's last
// two components with their backslashes, \CurrentVersion\RunOnce of
// \Software\Microsoft\Windows\CurrentVersion\RunOnce. libyara's atoms for the whole path are
// common in benign files, the tail's far less (docs/scan-cost.md); the value name or data path
// it accompanies is what makes the match specific. A tail under minKeyContext bytes says too
// little (\Services\x), and the whole path is used.
func KeyContext(key string) string {
	trimmed := strings.Trim(key, `\`)
	parts := strings.Split(trimmed, `\`)
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	if tail := `\` + strings.Join(parts, `\`); len(tail) >= minKeyContext {
		return tail
	}
	return trimmed
}

const minKeyContext = 16
