package yara

import (
	"iter"
	"regexp"
	"strings"
	"unsafe"

	"github.com/rulegen/rulegen/generate/internal/yarasrc"
)

// pieceBytes is the size past which Check hands a source to libyara in pieces. libyara's
// compiler interns every string literal in a hash table of a fixed 10,007 buckets, so a
// source of a million literals (a bulk hash list's rules) compiles in time that grows with
// the square of its size; pieces of a few megabytes in compilers retired after a few dozen
// megabytes keep the chains short and the time linear (docs/benchmarks.md).
const pieceBytes = 2 << 20

// piece is a run of whole rules of a source that libyara can check alone: the source's
// imports on its first line, then the rules as the source writes them, starting at line
// firstLine of the source, so that libyara's line numbers need only an offset. Its text is
// good until the next piece is asked for.
type piece struct {
	text      string
	firstLine int
}

// sourceRule is where one rule of a source ends, and the earliest rule its body names.
type sourceRule struct {
	name     string
	end      int // offset after its closing brace
	earliest int // index of the earliest rule it uses; its own index when none
}

var (
	importKeyword = regexp.MustCompile(`(?:^|\s)import\s*$`)
	ruleName      = regexp.MustCompile(`(?:^|[^A-Za-z0-9_])rule\s+([A-Za-z_][A-Za-z0-9_]*)`)
)

// pieces cuts src into pieces of about limit bytes, between rules, never between a rule and
// one it uses. A source it cannot read (libyara will say why) is one piece. Each piece is
// made as it is asked for, in one buffer that the next piece overwrites: a source may be
// hundreds of megabytes, and libyara copies what it is given.
func pieces(src string, limit int) iter.Seq[piece] {
	return func(yield func(piece) bool) {
		if len(src) <= limit {
			yield(piece{text: src, firstLine: 1})
			return
		}
		imports, rules, ok := scanRules(src)
		if !ok || len(rules) < 2 {
			yield(piece{text: src, firstLine: 1})
			return
		}
		// A cut before rule k is safe when no rule from k on uses a rule before k.
		safe := make([]bool, len(rules))
		low := len(rules)
		for k := len(rules) - 1; k >= 0; k-- {
			low = min(low, rules[k].earliest)
			safe[k] = low >= k
		}
		header := strings.Join(imports, " ") + " "
		var buf []byte
		withHeader := func(body string) string {
			buf = append(append(buf[:0], header...), body...)
			return unsafe.String(unsafe.SliceData(buf), len(buf))
		}
		from, line := 0, 1
		for k := 1; k < len(rules); k++ {
			cut := rules[k-1].end
			if !safe[k] || cut-from < limit {
				continue
			}
			if !yield(piece{text: withHeader(src[from:cut]), firstLine: line}) {
				return
			}
			line += strings.Count(src[from:cut], "\n")
			from = cut
		}
		if from == 0 {
			yield(piece{text: src, firstLine: 1})
			return
		}
		yield(piece{text: withHeader(src[from:]), firstLine: line})
	}
}

// scanRules reads src's import statements and its rules' ends, names and uses of each
// other, in one pass over its tokens.
func scanRules(src string) (imports []string, rules []sourceRule, ok bool) {
	index := map[string]int{}
	depth := 0
	pendingImport := false
	cur := -1 // the rule being read, once its name is seen
	err := yarasrc.Spans(src, func(start, end int, code bool) {
		text := src[start:end]
		if !code {
			if pendingImport && strings.HasPrefix(text, `"`) {
				imports = append(imports, "import "+text)
			}
			pendingImport = false
			return
		}
		for i := 0; i < len(text); {
			if depth == 0 {
				if m := ruleName.FindStringSubmatchIndex(text[i:]); m != nil && !strings.Contains(text[i:i+m[0]], "{") {
					name := text[i+m[2] : i+m[3]]
					cur = len(rules)
					index[name] = cur
					rules = append(rules, sourceRule{name: name, earliest: cur})
					i += m[1]
					continue
				}
			}
			brace := strings.IndexAny(text[i:], "{}")
			if brace < 0 {
				if depth > 0 && cur >= 0 {
					noteUses(text[i:], index, &rules[cur])
				} else if depth == 0 {
					pendingImport = importKeyword.MatchString(text[i:])
				}
				return
			}
			if depth > 0 && cur >= 0 {
				noteUses(text[i:i+brace], index, &rules[cur])
			}
			if text[i+brace] == '{' {
				depth++
			} else if depth--; depth == 0 && cur >= 0 {
				rules[cur].end = start + i + brace + 1
				cur = -1
			}
			i += brace + 1
		}
	})
	if err != nil || depth != 0 || cur >= 0 {
		return nil, nil, false
	}
	for _, r := range rules {
		if r.end == 0 {
			return nil, nil, false
		}
	}
	return imports, rules, true
}

// noteUses lowers r.earliest to the earliest rule that code names.
func noteUses(code string, index map[string]int, r *sourceRule) {
	for start, end := range yarasrc.EachIdentifier(code) {
		if k, ok := index[code[start:end]]; ok && k < r.earliest {
			r.earliest = k
		}
	}
}
