// Package quarantine holds rules that others wrote (a publication's YARA and Sigma files, a
// MISP event's yara and sigma attributes, a STIX bundle's indicators in those languages) to
// what a rules repository can safely load: such a rule is untrusted input. A YARA rule that is
// global silences every rule compiled beside it; one that matches an empty file, random bytes
// or an ordinary file fires on everything; one that imports console prints on every scan; a
// Sigma rule that fires on every event selects nothing. Each such rule is refused with the
// reason, and the rest of its source is kept.
package quarantine

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/rulegen/rulegen/generate/internal/yarasrc"
	"github.com/rulegen/rulegen/generate/yara"
)

// Refusal is a rule kept out of the rules repository, and why. A rule that matches anything
// but that other rules of its source use is kept as a private rule (Private): it no longer
// fires on its own, and the rules built on it still work.
type Refusal struct {
	Rule    string // the rule's name as its source writes it (YARA), or its title (Sigma)
	Reason  string
	Private bool
}

// refusedModules are the YARA modules a passed-through rule may not use, and why: console
// writes to the scanner's output on every scan; YARA-X (1.22), which scanners move to, has no
// magic module, so a rule using it breaks the whole repository there. (A module libyara lacks
// fails the rule's compile check before this.)
var refusedModules = map[string]string{
	"console": "uses the console module, which prints on every scan",
	"magic":   "uses the magic module, which YARA-X lacks",
}

// wholeFileLoop is a for loop whose range runs to filesize: its cost grows with every byte of
// every file scanned, and no engine warns about it.
var wholeFileLoop = regexp.MustCompile(`\.\.\s*\(?\s*filesize\b`)

// YARA keeps the rules of an analyst's YARA source that are safe to load beside others and
// refuses the rest, with the reasons. src compiles alone with libyara (the caller checked); kept
// is the source without the refused rules (its imports, then its rules), "" when none is left.
// A rule that uses a refused rule is refused too: it would not compile without it; but a rule
// refused only for what it matches (a helper such as `uint16(0) == 0x5A4D`) that kept rules use
// is made private instead (see Refusal).
func YARA(src string) (kept string, refused []Refusal, err error) {
	imports, rules, err := yarasrc.Split(src)
	if err != nil {
		return "", nil, err
	}
	uses := make([][]string, len(rules))
	reasons := make([]string, len(rules))
	for i, r := range rules {
		if uses[i], err = yarasrc.Identifiers(r.Text); err != nil {
			return "", nil, fmt.Errorf("YARA rule %s: %w", r.Name, err)
		}
		reasons[i] = staticReason(r, uses[i])
	}
	closeOver(rules, uses, reasons)
	matched, err := scanBenign(imports, rules, reasons)
	if err != nil {
		return "", nil, err
	}
	private := helpers(rules, uses, reasons, matched)
	closeOver(rules, uses, reasons)
	var text strings.Builder
	text.WriteString(keptImports(imports))
	n := 0
	for i, r := range rules {
		switch {
		case reasons[i] != "":
			refused = append(refused, Refusal{Rule: r.Name, Reason: reasons[i]})
			continue
		case private[i] != "":
			refused = append(refused, Refusal{Rule: r.Name, Reason: private[i], Private: true})
			r.Text = "private " + strings.TrimLeft(r.Text, " \t\r\n")
		}
		text.WriteString("\n" + r.Text + "\n")
		n++
	}
	if n == 0 {
		return "", refused, nil
	}
	return text.String(), refused, nil
}

// staticReason is why a rule is refused by what it says, before it is compiled: "" when not.
func staticReason(r yarasrc.Rule, uses []string) string {
	if slices.Contains(yarasrc.Modifiers(r.Text), "global") {
		return "a global rule: every rule compiled beside it would match only where it does"
	}
	for _, id := range uses {
		if reason := refusedModules[id]; reason != "" {
			return reason
		}
	}
	if code, err := codeOf(r.Text); err == nil && wholeFileLoop.MatchString(code) {
		return "loops over every byte of the file (a range up to filesize): slow on large files"
	}
	return ""
}

// codeOf is a rule's text without its strings and comments.
func codeOf(text string) (string, error) {
	tokens, err := yarasrc.Tokenize(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, t := range tokens {
		if t.Code {
			b.WriteString(t.Text)
		}
	}
	return b.String(), nil
}

// closeOver refuses every rule that uses a refused rule, until none does.
func closeOver(rules []yarasrc.Rule, uses [][]string, reasons []string) {
	eachUse(rules, uses, reasons, func(i, j int) bool {
		if reasons[j] == "" {
			return false
		}
		reasons[i] = "uses rule " + rules[j].Name + ", refused: " + reasons[j]
		return true
	})
}

// helpers keeps, as private rules, the rules refused only for what they match (matched) that a
// rule not refused uses, and returns why each was made private ("" for the others).
func helpers(rules []yarasrc.Rule, uses [][]string, reasons []string, matched []bool) []string {
	private := make([]string, len(rules))
	eachUse(rules, uses, reasons, func(i, j int) bool {
		if !matched[j] || reasons[j] == "" {
			return false
		}
		private[j] = "kept private, for rule " + rules[i].Name + " uses it: alone it " + reasons[j]
		reasons[j] = ""
		return true
	})
	return private
}

// eachUse calls visit(i, j) for each rule i not refused and each other rule j it uses, over
// and over while visit changes anything (it says so by returning true).
func eachUse(rules []yarasrc.Rule, uses [][]string, reasons []string, visit func(i, j int) bool) {
	index := ruleIndex(rules)
	for changed := true; changed; {
		changed = false
		for i := range rules {
			for _, id := range uses[i] {
				if reasons[i] != "" {
					break
				}
				if j, ok := index[id]; ok && j != i && visit(i, j) {
					changed = true
				}
			}
		}
	}
}

// scanBenign compiles the rules not yet refused and refuses each that matches a sample of the
// benign set: an empty file, random bytes, ordinary files of common types. matched says which
// rules it refused.
func scanBenign(imports []string, rules []yarasrc.Rule, reasons []string) (matched []bool, err error) {
	var src strings.Builder
	src.WriteString(keptImports(imports))
	index := map[string]int{}
	for i, r := range rules {
		if reasons[i] == "" {
			src.WriteString(r.Text + "\n")
			index[r.Name] = i
		}
	}
	matched = make([]bool, len(rules))
	if len(index) == 0 {
		return matched, nil
	}
	compiled, _, err := yara.CompileLenient(yara.Source{Name: "passed-through rules", Text: src.String()})
	if err != nil {
		return nil, fmt.Errorf("passed-through YARA rules, without those refused: %w", err)
	}
	defer compiled.Destroy()
	for _, s := range benignSamples() {
		names, err := compiled.ScanMem(s.data)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if i, ok := index[n]; ok && reasons[i] == "" {
				reasons[i] = "matches " + s.what + ": it would fire on every file"
				matched[i] = true
			}
		}
	}
	return matched, nil
}

// sample is one buffer of the benign set and how a reason names it.
type sample struct {
	what string
	data []byte
}

// benignSamples are the empty file, 64 KiB of random bytes from a fixed seed (the verdict must
// be the same on every run) and the benign files, in that order.
var benignSamples = sync.OnceValue(func() []sample {
	random := make([]byte, 64<<10)
	rng := rand.NewChaCha8([32]byte([]byte("rulegen: random bytes, benign set")[:32]))
	rng.Read(random)
	out := []sample{{"an empty file", []byte{}}, {"random bytes", random}}
	for _, f := range BenignFiles() {
		out = append(out, sample{"an ordinary file of the benign set (" + f.Name + ")", f.Data})
	}
	return out
})

// ruleIndex maps each rule's name to its place in rules.
func ruleIndex(rules []yarasrc.Rule) map[string]int {
	index := make(map[string]int, len(rules))
	for i, r := range rules {
		index[r.Name] = i
	}
	return index
}

// keptImports are the import lines of the modules a passed-through rule may use.
func keptImports(imports []string) string {
	var b strings.Builder
	for _, imp := range imports {
		if refusedModules[imp] == "" {
			fmt.Fprintf(&b, "import %q\n", imp)
		}
	}
	return b.String()
}
