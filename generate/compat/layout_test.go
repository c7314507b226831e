package compat_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/synthfeed"
	"github.com/rulegen/rulegen/generate/yara"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An event with thousands of domains generates in both layouts: libyara warns on a rule with
// too many strings, so they are split over rules of at most YaraMaxStrings domains; every
// domain matches, in ASCII and UTF-16 and in any case, and only as a whole word.
func TestManyDomainsSplitOverRules(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	in := filepath.Join(t.TempDir(), "many.json")
	if err := synthfeed.WriteEvent(in, synthfeed.KindDomains, 2000, 1); err != nil {
		t.Fatal(err)
	}
	domains := regexp.MustCompile(`"value": "([^"]+)"`).FindAllStringSubmatch(readFile(t, in), -1)
	if len(domains) != 2000 {
		t.Fatalf("%d domains in the event", len(domains))
	}
	for _, layout := range []render.Layout{render.LayoutFast, render.LayoutReadable} {
		// 2,000 domains are a blocklist by default; 2,000 as the limit keeps full matching.
		for _, maxFull := range []int{0, 2000} {
			t.Run(fmt.Sprintf("%s/max-full-%d", layout, maxFull), func(t *testing.T) {
				opts := pipeline.Options{Render: render.Options{Layout: layout}}
				opts.Normalize.MaxFullC2 = maxFull
				rules, src := compileEvent(t, in, opts)
				var c2 []string
				for _, n := range rules.RuleNames() {
					if strings.Contains(n, "_C2") {
						c2 = append(c2, n)
					}
				}
				if len(c2) != 5 {
					t.Fatalf("C2 rules %v", c2)
				}
				full := maxFull == 2000
				var scanned [][]byte
				for i, m := range domains {
					d := m[1]
					// As listed, in upper-case UTF-16, in upper-case ASCII: a blocklist matches
					// only the first.
					text, want := "GET http://"+d+"/x", 1
					switch i % 3 {
					case 1:
						text = utf16le(strings.ToUpper(text))
					case 2:
						text = strings.ToUpper(text)
					}
					if i%3 != 0 && !full {
						want = 0
					}
					if got, err := rules.ScanMem([]byte(text)); err != nil || len(got) != want {
						t.Fatalf("%q matched %v (%v), want %d rule", text, got, err, want)
					}
					if got, _ := rules.ScanMem([]byte("GET http://x" + d + "/x")); len(got) != 0 {
						t.Fatalf("x%s matched %v", d, got)
					}
					if i%10 == 0 {
						scanned = append(scanned, []byte(text), []byte("GET http://x"+d+"/x"))
					}
				}
				enginesAgree(t, []yara.Source{{Name: in, Text: src}}, scanned)
				if n := strings.Count(src, "$domain"); layout == render.LayoutReadable && n != 2000 {
					t.Errorf("%d domain strings in the readable layout", n)
				}
				if got := strings.Contains(src, "// Blocklist: 2000 values"); got == full {
					t.Errorf("blocklist comment present: %v, want %v", got, !full)
				}
			})
		}
	}
}

// compileEvent generates one event's YARA with opts and compiles it.
func compileEvent(t *testing.T, in string, opts pipeline.Options) (*yara.Rules, string) {
	t.Helper()
	opts.Render.Author = "t"
	_, files, err := pipeline.Collect(context.Background(), []string{in}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") {
			src.Write(f.Body)
		}
	}
	rules, err := yara.Compile(yara.Source{Name: in, Text: src.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rules.Destroy)
	return rules, src.String()
}

func utf16le(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
		b.WriteByte(0)
	}
	return b.String()
}

// Large sample sets are laid out over rules with disjoint size ranges and a size tree inside;
// every sample still matches its rule, and only its own content does.
func TestManySamplesLaidOutBySize(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	var objects []string
	var contents [][]byte
	for i := range 600 {
		body := []byte(strings.Repeat(fmt.Sprintf("sample %d;", i), 1+i%37))
		contents = append(contents, body)
		sum := sha256.Sum256(body)
		objects = append(objects, fmt.Sprintf(`{"name": "file", "Attribute": [
			{"object_relation": "sha256", "type": "sha256", "value": "%x", "to_ids": true},
			{"object_relation": "size-in-bytes", "type": "size-in-bytes", "value": "%d", "to_ids": false}]}`, sum, len(body)))
	}
	var unsized []string
	var unsizedContents [][]byte
	for i := range 300 {
		body := []byte(fmt.Sprintf("unsized sample %d", i))
		unsizedContents = append(unsizedContents, body)
		sum := sha256.Sum256(body)
		unsized = append(unsized, fmt.Sprintf(`{"type": "sha256", "value": "%x", "to_ids": true}`, sum))
	}
	in := golden.WriteFile(t, filepath.Join(t.TempDir(), "many.json"), `{"Event": {"uuid": "1410750b-ab52-54af-89f7-8dde0f320384", "info": "Many samples", "date": "2024-01-01",
		"Attribute": [`+strings.Join(unsized, ",")+`], "Object": [`+strings.Join(objects, ",")+`]}}`)
	for _, layout := range []render.Layout{render.LayoutFast, render.LayoutReadable} {
		t.Run(string(layout), func(t *testing.T) {
			rules, src := compileEvent(t, in, pipeline.Options{Render: render.Options{Layout: layout}})
			var scanned [][]byte
			for i, body := range contents {
				scanned = append(scanned, body, append([]byte("X"), body[1:]...))
				if i < len(unsizedContents) {
					scanned = append(scanned, unsizedContents[i])
				}
			}
			enginesAgree(t, []yara.Source{{Name: in, Text: src}}, scanned)
			matchedBy := map[string]int{}
			for i, body := range contents {
				got, err := rules.ScanMem(body)
				if err != nil || len(got) != 1 {
					t.Fatalf("sample %d (%d bytes) matched %v (%v)", i, len(body), got, err)
				}
				matchedBy[got[0]]++
				other := append([]byte("X"), body[1:]...) // same size, other content
				if got, _ := rules.ScanMem(other); len(got) != 0 {
					t.Errorf("a look-alike of sample %d matched %v", i, got)
				}
			}
			for i, body := range unsizedContents {
				if got, err := rules.ScanMem(body); err != nil || len(got) != 1 {
					t.Fatalf("unsized sample %d matched %v (%v)", i, got, err)
				} else {
					matchedBy[got[0]]++
				}
			}
			if layout == render.LayoutReadable {
				// Flat lists, as reported, each rule full but the last.
				counts := slices.Sorted(maps.Values(matchedBy))
				if len(matchedBy) < 2 || counts[0] == counts[len(counts)-1] || counts[1] != counts[len(counts)-1] || strings.Contains(src, "startswith") || strings.Contains(src, "filesize >= ") {
					t.Errorf("readable layout: samples matched by %v", matchedBy)
				}
				return
			}
			// Fast: the sized samples over rules of at most HashesPerRule (YARA-X's limit), the
			// 300 without a size in digest-prefix trees of their own.
			unsizedBy := map[string]bool{}
			for _, body := range unsizedContents {
				got, _ := rules.ScanMem(body)
				unsizedBy[got[0]] = true
			}
			sizedRules := 0
			for name, n := range matchedBy {
				if n > render.HashesPerRule {
					t.Errorf("%s matched %d samples, more than %d", name, n, render.HashesPerRule)
				}
				if !unsizedBy[name] {
					sizedRules++
				}
			}
			if want := (len(contents) + render.HashesPerRule - 1) / render.HashesPerRule; sizedRules < want || len(unsizedBy) != (len(unsizedContents)+render.HashesPerRule-1)/render.HashesPerRule {
				t.Errorf("samples matched by %v: want the sized over %d rules or more, the unsized apart", matchedBy, want)
			}
			if !strings.Contains(src, "startswith") {
				t.Error("no digest tree for the samples without a size")
			}
			if !strings.Contains(src, "filesize >= ") || !strings.Contains(src, "(filesize < ") {
				t.Errorf("no size ranges or tree:\n%.2000s", src)
			}
		})
	}
}

// --yara-layout feed puts every report's samples in shared hash rules: each sample matches them
// and nothing else does, the meta names each sample's reports (both, for a sample two reports
// list), the reports' own YARA has no hash rule, and the output does not depend on input order.
func TestFeedLayoutSharesHashRules(t *testing.T) {
	if !yara.Available {
		t.Skip("no cgo")
	}
	dir := t.TempDir()
	var bodies [][]byte
	var inputs []string
	reportOf := map[string][]string{} // sha256 → report ids
	shared := []byte("a sample two reports list")
	for e := range 30 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", e)
		var objects []string
		samples := [][]byte{}
		for i := range 10 {
			samples = append(samples, []byte(strings.Repeat(fmt.Sprintf("event %d sample %d;", e, i), 1+(e*10+i)%41)))
		}
		if e < 2 {
			samples = append(samples, shared)
		}
		for _, body := range samples {
			sum := fmt.Sprintf("%x", sha256.Sum256(body))
			reportOf[sum] = append(reportOf[sum], id)
			objects = append(objects, fmt.Sprintf(`{"name": "file", "Attribute": [
				{"object_relation": "sha256", "type": "sha256", "value": "%s", "to_ids": true},
				{"object_relation": "size-in-bytes", "type": "size-in-bytes", "value": "%d", "to_ids": false}]}`, sum, len(body)))
		}
		bodies = append(bodies, samples...)
		inputs = append(inputs, golden.WriteFile(t, filepath.Join(dir, fmt.Sprintf("event%d.json", e)), fmt.Sprintf(`{"Event": {"uuid": %q,
			"info": "Feed event %d", "date": "2024-01-%02d", "Tag": [{"name": "tlp:%s"}], "Attribute": [
			{"type": "domain", "value": "c2-feed-%d.net", "to_ids": true}], "Object": [%s]}}`, id, e, 1+e%28, []string{"clear", "green"}[e%2], e, strings.Join(objects, ","))))
	}
	// A TLP:RED event's sample stays out of the shared rules, as its own rules stay unwritten.
	red := []byte("a sample of a TLP:RED report")
	inputs = append(inputs, golden.WriteFile(t, filepath.Join(dir, "red.json"), fmt.Sprintf(`{"Event": {"uuid": "00000000-0000-4000-8000-999999999999",
		"info": "Red", "date": "2024-03-01", "Tag": [{"name": "tlp:red"}], "Object": [{"name": "file", "Attribute": [
		{"object_relation": "sha256", "type": "sha256", "value": "%x", "to_ids": true},
		{"object_relation": "size-in-bytes", "type": "size-in-bytes", "value": "%d", "to_ids": false}]}]}}`, sha256.Sum256(red), len(red))))
	opts := pipeline.Options{Render: render.Options{Author: "t", Layout: render.LayoutFeed}}
	_, files, err := pipeline.Collect(context.Background(), inputs, opts)
	if err != nil {
		t.Fatal(err)
	}
	var sources []yara.Source
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".yar") {
			continue
		}
		if f.Path != render.FeedPath && strings.Contains(string(f.Body), "hash.") {
			t.Errorf("%s has hash rules of its own", f.Path)
		}
		sources = append(sources, yara.Source{Name: f.Path, Text: string(f.Body)})
	}
	rules, err := yara.Compile(sources...)
	if err != nil {
		t.Fatal(err)
	}
	defer rules.Destroy()
	for i, body := range bodies {
		got, err := rules.ScanMem(body)
		if err != nil || len(got) != 1 || !strings.HasPrefix(got[0], "RULEGEN_Feed_Hashes") {
			t.Fatalf("sample %d matched %v (%v)", i, got, err)
		}
		if got, _ := rules.ScanMem(append([]byte("X"), body[1:]...)); len(got) != 0 {
			t.Errorf("a look-alike of sample %d matched %v", i, got)
		}
	}
	if got, _ := rules.ScanMem(red); len(got) != 0 {
		t.Errorf("the TLP:RED report's sample matched %v", got)
	}
	scanned := [][]byte{red}
	for _, body := range bodies {
		scanned = append(scanned, body, append([]byte("X"), body[1:]...))
	}
	enginesAgree(t, sources, scanned)
	attributed := map[string]bool{}
	for _, m := range rules.Metas() {
		if m.Key == "sample" {
			attributed[m.Value.(string)] = true
		}
	}
	for sum, ids := range reportOf {
		if want := sum + " " + strings.Join(ids, " "); !attributed[want] {
			t.Errorf("no meta sample = %q", want)
		}
	}
	if len(attributed) != len(reportOf) {
		t.Errorf("%d sample metas for %d samples", len(attributed), len(reportOf))
	}
	slices.Reverse(inputs)
	_, again, err := pipeline.Collect(context.Background(), inputs, opts)
	if err != nil || !slices.EqualFunc(files, again, func(a, b render.File) bool { return a.Path == b.Path && string(a.Body) == string(b.Body) }) {
		t.Errorf("the feed layout depends on input order (%v)", err)
	}
}
