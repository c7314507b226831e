//go:build cgo

package yara_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/yara"
)

// A path steered to a cheap atom (render.YaraPath) must match exactly what the quoted path
// matches, with the same modifiers: in any case, in ASCII and UTF-16, and nothing that differs
// by one character.
func TestSteeredPathsMatchLikeLiterals(t *testing.T) {
	type pathCase struct {
		path    string
		steered bool
	}
	cases := []pathCase{
		{`\Lrredsskoens4\TERRICOLE.exe`, true}, // the seed report's data path
		{`\seagate.exe`, true},                 // stix-indicators-test-event (real MISP event)
		{`\WinUpdater\svc.exe`, true},
		{`\Microsoft\WinUpd\wupd.dll`, true},
		{`\my-app_v2\Run~1 $x%.tmp`, true},
		{`\Temp\a-b`, true},
		{`\Roaming\Updater`, false},                    // letters only: libyara's atom starts at a backslash already
		{`\a\b.c`, false},                              // no backslash before three letters
		{`\Program Files (x86)\app.exe`, false},        // parentheses: left as written
		{"\\Users\\Public\\d\u00e9j\u00e0.exe", false}, // not ASCII
	}
	// And paths of every character steeredPath writes, in a fixed pseudo-random sequence of
	// components, half of which begin with three distinct letters: for these only the agreement
	// of both forms is checked.
	fixed := len(cases)
	const letters, others = "abcXYZq", "019._- $~%"
	rng := rand.New(rand.NewPCG(8, 8))
	pick := func(from string) byte { return from[rng.IntN(len(from))] }
	for range 200 {
		var p []byte
		for range 1 + rng.IntN(3) {
			p = append(p, '\\')
			if rng.IntN(2) == 0 {
				start := rng.IntN(len(letters) - 2)
				p = append(p, letters[start:start+3]...)
			}
			for range 1 + rng.IntN(6) {
				p = append(p, pick(letters+others))
			}
		}
		path := string(p)
		cases = append(cases, pathCase{path, render.YaraPath(true, path) != render.YaraPath(false, path)})
	}
	steered := 0 // of the random paths
	for i, tc := range cases {
		lit, st := render.YaraPath(false, tc.path), render.YaraPath(true, tc.path)
		if isSteered := st != lit; isSteered != tc.steered || tc.steered && !strings.HasPrefix(st, "/") {
			t.Errorf("%s: written %s, literal %s; want steered %v", tc.path, st, lit, tc.steered)
			continue
		}
		src := fmt.Sprintf("rule lit { strings: $a = %s ascii wide nocase condition: $a }\nrule steered { strings: $a = %s ascii wide nocase condition: $a }\n", lit, st)
		// Random paths may be short enough for libyara to warn that they slow scanning.
		rules, _, err := yara.CompileLenient(yara.Source{Name: tc.path, Text: src})
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.path, err, src)
		}
		defer rules.Destroy()
		matches := 0
		for _, probe := range probes(tc.path) {
			got, err := rules.ScanMem([]byte(probe))
			if err != nil {
				t.Fatal(err)
			}
			switch len(got) {
			case 2:
				matches++
			case 1:
				t.Errorf("%s: only %v matched %q (steered as %s)", tc.path, got, probe, st)
			}
		}
		if tc.steered && i >= fixed {
			steered++
		}
		// Upper-casing é changes its bytes, which nocase does not cover: 4 spellings match.
		if want := map[bool]int{true: 6, false: 4}[isASCII(tc.path)]; i < fixed && matches != want {
			t.Errorf("%s: %d probes matched both, want the %d spellings of the path", tc.path, matches, want)
		}
	}
	t.Logf("%d of %d random paths steered", steered, len(cases)-fixed)
	if steered < 50 {
		t.Errorf("only %d of the random paths were steered", steered)
	}
}

// probes are the path in six spellings (as written, upper and lower case, each also wide)
// and, for every position, the path with that character replaced or dropped.
func probes(path string) []string {
	var out []string
	for _, p := range []string{path, strings.ToUpper(path), strings.ToLower(path)} {
		out = append(out, "run "+p+" now", wide(p))
	}
	for i := range len(path) {
		// Every character the paths are made of, and a few more: a class that matched more
		// than its character would show here.
		for _, repl := range append(strings.Split(`abcXYZqm019._- $~%#\`, ""), "") {
			if !strings.EqualFold(path[i:i+1], repl) {
				out = append(out, "run "+path[:i]+repl+path[i+1:]+" now")
			}
		}
	}
	return out
}

// wide interleaves zero bytes as YARA's wide modifier does: byte by byte.
func wide(s string) string {
	var b strings.Builder
	for i := range len(s) {
		b.WriteByte(s[i])
		b.WriteByte(0)
	}
	return b.String()
}

func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 })
}
