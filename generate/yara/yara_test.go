//go:build cgo

package yara_test

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/pysigma"
	"github.com/rulegen/rulegen/generate/internal/yarax"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/yara"
)

func committedRules(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(golden.RepoRoot(t), "rules", "yara", "*.yar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rules/yara/*.yar (%v): run make rules", err)
	}
	return files
}

// TestCommittedRulesCompileClean compiles every committed file alone and all of them together
// (which also catches a rule name used in two files), with zero errors and zero warnings.
func TestCommittedRulesCompileClean(t *testing.T) {
	files := committedRules(t)
	for _, f := range files {
		if _, err := yara.CompileFiles(f); err != nil {
			t.Errorf("%s:\n%v", f, err)
		}
	}
	if _, err := yara.CompileFiles(files...); err != nil {
		t.Errorf("all rules together:\n%v", err)
	}
}

// TestRenderGoldensCompileClean compiles the render package's golden files, which exercise
// every template branch and a title written to break out of comments and strings.
func TestRenderGoldensCompileClean(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(golden.RepoRoot(t), "generate", "render", "testdata", "golden", "*", "yara", "*.yar"))
	if len(files) == 0 {
		t.Fatal("no render goldens")
	}
	for _, f := range files {
		rules, err := yara.CompileFiles(f)
		if err != nil {
			t.Errorf("%s:\n%v", f, err)
			continue
		}
		// The title tried to inject "condition: true": no rule may match an empty buffer.
		if hits, _ := rules.ScanMem(nil); len(hits) > 0 {
			t.Errorf("%s: %v match an empty buffer", f, hits)
		}
	}
}

// The fixture manifest (testdata/fixtures/manifest.yaml) is checked by generate/verify's
// TestCommittedRulesPassTheGate, through the code `rulegen test` runs.

// TestBenignCorpusMatchesNothing scans the repository's own code and the Go toolchain: rules
// that fire there would fire on every developer's machine.
func TestBenignCorpusMatchesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("scans GOROOT")
	}
	rules, err := yara.CompileFiles(committedRules(t)...)
	if err != nil {
		t.Fatal(err)
	}
	root := golden.RepoRoot(t)
	// testdata/, rules/ and tests hold the indicators on purpose; bin/ holds a build.
	skipRepo := func(p string) bool {
		switch filepath.Base(p) {
		case "testdata", ".git", "bin":
			return true
		}
		return p == filepath.Join(root, "rules") || strings.HasSuffix(p, "_test.go")
	}
	for _, corpus := range []struct {
		root string
		skip func(string) bool
	}{{root, skipRepo}, {goroot(t), nil}} {
		hits, scanned, err := rules.ScanTree(corpus.root, corpus.skip)
		if err != nil {
			t.Fatal(err)
		}
		if scanned < 10 {
			t.Fatalf("%s: only %d files scanned", corpus.root, scanned)
		}
		for _, h := range hits {
			t.Errorf("benign file %s matched %v", h.Path, h.Rules)
		}
		t.Logf("%s: %d files, %d matches", corpus.root, scanned, len(hits))
	}
}

func goroot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestEscapedStringsMatchTheirBytes renders every byte value through YaraString and proves that
// the compiled string matches exactly those bytes and compiles without warnings.
func TestEscapedStringsMatchTheirBytes(t *testing.T) {
	var all []byte
	for b := range 256 {
		all = append(all, byte(b))
	}
	values := []string{string(all), `C:\Users\x" condition: true }`, "line\nbreak\r\n\t", "\xff\xfe invalid utf-8", "ünïcödé"}
	for i, v := range values {
		src := "rule t {\n strings:\n  $a = " + render.YaraString(v) + "\n condition:\n  $a\n}\n"
		rules, err := yara.Compile(yara.Source{Name: "escape", Text: src})
		if err != nil {
			t.Fatalf("value %d: %v\n%s", i, err, src)
		}
		hit, _ := rules.ScanMem([]byte("prefix" + v + "suffix"))
		miss, _ := rules.ScanMem([]byte("prefix" + v[:len(v)-1] + "suffix"))
		if len(hit) != 1 || len(miss) != 0 {
			t.Errorf("value %d %q: hit %v, miss %v", i, v, hit, miss)
		}
	}
}

func TestCompileErrorNamesFileLineAndWarnings(t *testing.T) {
	_, err := yara.Compile(yara.Source{Name: "ok.yar", Text: "rule a { condition: true }"},
		yara.Source{Name: "bad.yar", Text: "rule b {\n condition:\n  nosuchthing\n}\n"})
	var ce *yara.CompileError
	if !errors.As(err, &ce) || len(ce.Errors) != 1 || ce.Errors[0].File != "bad.yar" || ce.Errors[0].Line != 3 {
		t.Fatalf("got %#v", err)
	}
	if !strings.Contains(err.Error(), "bad.yar:3:") {
		t.Errorf("message %q does not name bad.yar:3", err)
	}
	// A rule name used twice across files fails: rules load together in one namespace.
	_, err = yara.Compile(yara.Source{Name: "a.yar", Text: "rule dup { condition: true }"}, yara.Source{Name: "b.yar", Text: "rule dup { condition: true }"})
	if err == nil || !strings.Contains(err.Error(), "b.yar:1:") || !strings.Contains(err.Error(), "dup") {
		t.Errorf("duplicate rule name: got %v", err)
	}
	// Warnings fail too: generated rules must compile clean.
	_, err = yara.Compile(yara.Source{Name: "slow.yar", Text: "rule slow {\n strings:\n  $a = { 00 ?? }\n condition:\n  $a\n}\n"})
	if !errors.As(err, &ce) || len(ce.Warnings) == 0 || !strings.Contains(err.Error(), "warning: slow.yar:") {
		t.Errorf("want a warning naming slow.yar, got %v", err)
	}
}

// Check is the generate-time proof: libyara's parser accepts every source, and the names it
// returns are the rules declared.
func TestCheck(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	names, err := yara.Check(
		yara.Source{Name: "a.yar", Text: "import \"hash\"\nrule A_1 { condition: filesize == 1 }\nprivate rule B { strings: $a = \"abcd\" condition: $a }\n"},
		yara.Source{Name: "b.yar", Text: "// rule NotARule in a comment\nglobal rule C { condition: true }\n"},
	)
	if err != nil || strings.Join(names, ",") != "A_1,B,C" {
		t.Fatalf("names %v, %v", names, err)
	}
	for _, bad := range []struct{ src, want string }{
		{"rule D { condition: true }\nrule D { condition: true }\n", "duplicated identifier"},
		{"rule E { strings: $a = \"x\" condition: $a }\n", "may slow down scanning"},
		{"rule F { condition: nosuch }\n", "undefined identifier"},
	} {
		_, err := yara.Check(yara.Source{Name: "bad.yar", Text: bad.src})
		var ce *yara.CompileError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "bad.yar") {
			t.Errorf("%q: got %v, want %q naming bad.yar", bad.src, err, bad.want)
		}
	}
}

// Check reuses its compilers, each check in a namespace of its own: checks see nothing of
// each other (a rule name used by an earlier check is no duplicate, an earlier global rule
// does not leak in), within a check a name used twice still fails, and a check after a failed
// one is judged afresh — hundreds of times over, past every compiler's retirement.
func TestCheckReusesCompilersInIsolation(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	for i := range 300 {
		switch i % 3 {
		case 0:
			names, err := yara.Check(yara.Source{Name: "same.yar", Text: "global rule G { condition: filesize > 10 }\nrule Same { strings: $a = \"abcdef\" condition: $a }\n"})
			if err != nil || strings.Join(names, ",") != "G,Same" {
				t.Fatalf("check %d: %v, %v", i, names, err)
			}
		case 1:
			_, err := yara.Check(yara.Source{Name: "dup.yar", Text: "rule Same { condition: true }\nrule Same { condition: true }\n"})
			if err == nil || !strings.Contains(err.Error(), "duplicated identifier") {
				t.Fatalf("check %d: a name twice in one check: %v", i, err)
			}
		case 2:
			_, err := yara.Check(yara.Source{Name: "uses-g.yar", Text: "rule H { condition: G }\n"})
			if err == nil || !strings.Contains(err.Error(), "undefined identifier") {
				t.Fatalf("check %d: an earlier check's rule is visible: %v", i, err)
			}
		}
	}
}

// TestCommittedRulesInYARAX compiles the committed rules and the render goldens in YARA-X, with
// no error and no warning, and scans the fixtures, the bundled reports and events and the
// goldens (text full of the indicators) with the three engines, libyara 4.2 (linked), libyara
// 4.5 (yara-python) and YARA-X: each file matches the same rules in all three.
func TestCommittedRulesInYARAX(t *testing.T) {
	root := golden.RepoRoot(t)
	goldens, _ := filepath.Glob(filepath.Join(root, "generate", "render", "testdata", "golden", "*", "yara", "*.yar"))
	for _, set := range [][]string{committedRules(t), goldens} {
		res, err := yarax.Check(root, set...)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Clean() || res.Files != len(set) {
			t.Errorf("%d of %d files:\n%s", res.Files, len(set), res)
		}
	}
	var targets []string
	for _, pattern := range []string{"testdata/fixtures/*.*", "testdata/reports/*.*", "testdata/reports/misp/*.*", "testdata/events/*.*",
		"generate/render/testdata/*.*", "generate/render/testdata/golden/*/*/*.*", "generate/render/testdata/golden/*/sigma/*/*.*"} {
		files, _ := filepath.Glob(filepath.Join(root, pattern))
		targets = append(targets, files...)
	}
	for i, set := range [][]string{committedRules(t), goldens} {
		libyara, err := yara.CompileFiles(set...)
		if err != nil {
			t.Fatal(err)
		}
		inYARAX, err := yarax.Scan(root, set, targets)
		if err != nil {
			t.Fatal(err)
		}
		inYARAPython, err := pysigma.ScanYARA(root, set, targets)
		if err != nil {
			t.Fatal(err)
		}
		matched := 0
		for _, target := range targets {
			inLibyara, err := libyara.ScanFile(target)
			if err != nil {
				t.Fatal(err)
			}
			if len(inLibyara) > 0 {
				matched++
			}
			if strings.Join(inLibyara, " ") != strings.Join(inYARAX[target], " ") || strings.Join(inLibyara, " ") != strings.Join(inYARAPython[target], " ") {
				t.Errorf("%s matched %v in libyara 4.2, %v in libyara 4.5, %v in YARA-X", target, inLibyara, inYARAPython[target], inYARAX[target])
			}
		}
		if i == 0 && matched < 10 { // the goldens' indicators are invented: few files hold them
			t.Errorf("only %d of %d files matched: the comparison says little", matched, len(targets))
		}
		libyara.Destroy()
	}
}

// A source larger than a piece is checked in pieces, and what libyara says still points at
// the source's own lines: an error in the last rule of a 3 MB source names its line; a name
// declared in two pieces is a duplicate; a rule using one far before it compiles.
func TestCheckInPiecesNamesTheSourceLine(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	var b strings.Builder
	b.WriteString("import \"hash\"\n")
	lines := 1
	for i := 0; b.Len() < 3<<20; i++ {
		fmt.Fprintf(&b, "rule H%d\n{\n    condition:\n        hash.sha256(0, filesize) == \"%064d\"\n}\n", i, i)
		lines += 5
	}
	good := b.String() + "rule UsesFirst { condition: H0 }\n"
	names, err := yara.Check(yara.Source{Name: "big.yar", Text: good})
	if err != nil || len(names) != lines/5+1 {
		t.Fatalf("%d names, %v", len(names), err)
	}
	for _, bad := range []struct{ tail, want string }{
		{"rule Bad { condition: nosuch }\n", fmt.Sprintf("big.yar:%d: rule Bad: undefined identifier", lines+1)},
		{"rule H0 { condition: true }\n", fmt.Sprintf("big.yar:%d: duplicated identifier \"H0\"", lines+1)},
	} {
		_, err := yara.Check(yara.Source{Name: "big.yar", Text: b.String() + bad.tail})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("got %v, want %q", err, bad.want)
		}
	}
	// A name the big source declares, declared again by the next source, is that source's error.
	_, err = yara.Check(yara.Source{Name: "big.yar", Text: good}, yara.Source{Name: "next.yar", Text: "rule A { condition: true }\nrule H7 { condition: true }\n"})
	if err == nil || !strings.Contains(err.Error(), `next.yar:2: duplicated identifier "H7"`) {
		t.Errorf("a name declared in two sources: %v", err)
	}
}
