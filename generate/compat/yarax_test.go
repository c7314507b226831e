//go:build cgo

package compat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/internal/yarax"
	"github.com/rulegen/rulegen/generate/pipeline"
	"github.com/rulegen/rulegen/generate/render"
	"github.com/rulegen/rulegen/generate/synthfeed"
	"github.com/rulegen/rulegen/generate/yara"
)

// The rulesets the scan benchmark measures, and more layouts of them, compile in YARA-X and in
// yara-python's libyara 4.5 with no error and no warning. A hash rule of 8,192 samples once
// overflowed YARA-X's limit on a WebAssembly function (render.HashesPerRule), which aborted its
// compiler.
func TestYARAXCompilesEveryRuleset(t *testing.T) {
	rulesets := []struct {
		name          string
		kind          string
		count, events int
		layout        render.Layout
		bulkC2        int // --yara-bulk-c2; 0 leaves the default
	}{
		{"hashes-100k", synthfeed.KindHashes, 100000, 1, render.LayoutFast, 0},
		{"hashes-10k-readable", synthfeed.KindHashes, 10000, 1, render.LayoutReadable, 0},
		{"nosize-10k", synthfeed.KindHashesNoSize, 10000, 1, render.LayoutFast, 0},
		{"nosize-10k-readable", synthfeed.KindHashesNoSize, 10000, 1, render.LayoutReadable, 0},
		{"domains-10k", synthfeed.KindDomains, 10000, 1, render.LayoutFast, 0},
		{"domains-10k-readable", synthfeed.KindDomains, 10000, 1, render.LayoutReadable, 0},
		{"feed-domains-1k", synthfeed.KindDomains, 10000, 1000, render.LayoutFast, 0},
		{"feed-domains-1k-bulk", synthfeed.KindDomains, 10000, 1000, render.LayoutFast, -1},
		{"feed-hashes-1k", synthfeed.KindHashes, 10000, 1000, render.LayoutFast, 0},
		{"feed-hashes-10k", synthfeed.KindHashes, 100000, 10000, render.LayoutFast, 0},
		{"feed-hashes-10k-shared", synthfeed.KindHashes, 100000, 10000, render.LayoutFeed, 0},
	}
	for _, rs := range rulesets {
		t.Run(rs.name, func(t *testing.T) {
			t.Parallel() // YARA-X takes a minute or two on each set of 100,000 samples
			if testing.Short() && rs.count > 10000 {
				t.Skip("100,000 indicators")
			}
			opts := pipeline.Options{Render: render.Options{Author: "t", Layout: rs.layout}}
			opts.Normalize.MaxFullC2 = rs.bulkC2
			dir := writeRuleset(t, syntheticEvents(t, rs.kind, rs.count, rs.events), opts)
			start := time.Now()
			res, err := yarax.Check(golden.RepoRoot(t), dir)
			t.Logf("YARA-X compiled %s in %v", rs.name, time.Since(start).Round(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if !res.Clean() || res.Files == 0 {
				t.Fatalf("%d files:\n%.3000s", res.Files, res.String())
			}
			yaraAccepted(t, golden.RepoRoot(t), dir, rs.layout) // and in libyara 4.5, yara-python's
		})
	}
}

func syntheticEvents(t *testing.T, kind string, count, events int) string {
	t.Helper()
	dir := t.TempDir()
	if err := synthfeed.WriteEvents(dir, kind, count, events, 1); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeRuleset generates the YARA of the inputs and writes it to a directory of its own.
func writeRuleset(t *testing.T, input string, opts pipeline.Options) string {
	t.Helper()
	inputs, err := pipeline.Inputs([]string{input})
	if err != nil {
		t.Fatal(err)
	}
	_, files, err := pipeline.Collect(context.Background(), inputs, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") {
			golden.WriteFile(t, filepath.Join(dir, filepath.FromSlash(f.Path)), string(f.Body))
		}
	}
	return dir
}

// enginesAgree scans every buffer with the sources compiled by libyara and by YARA-X and fails
// unless each buffer matches the same rules in both.
func enginesAgree(t *testing.T, sources []yara.Source, bufs [][]byte) {
	t.Helper()
	rules, err := yara.Compile(sources...)
	if err != nil {
		t.Fatal(err)
	}
	defer rules.Destroy()
	dir := t.TempDir()
	var files []string
	for i, s := range sources {
		files = append(files, golden.WriteFile(t, filepath.Join(dir, "rules", fmt.Sprintf("%04d.yar", i)), s.Text))
	}
	inYARAX, err := yarax.ScanBuffers(golden.RepoRoot(t), dir, files, bufs)
	if err != nil {
		t.Fatal(err)
	}
	disagree := 0
	for i, buf := range bufs {
		inLibyara, err := rules.ScanMem(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(inLibyara, inYARAX[i]) && !(len(inLibyara) == 0 && len(inYARAX[i]) == 0) {
			if disagree++; disagree <= 5 {
				t.Errorf("%.60q matched %v in libyara, %v in YARA-X", buf, inLibyara, inYARAX[i])
			}
		}
	}
	if disagree > 5 {
		t.Errorf("%d of %d buffers matched differently", disagree, len(bufs))
	}
}

// A value whose string another string of the C2 rule covers is not written, and the rule's meta
// names it; every listed value is still detected, as ASCII, UTF-16 and in upper case, by the
// same rule in both engines, and a look-alike that only contains a value is not.
func TestCoveredStringsStillDetected(t *testing.T) {
	values := map[string]string{
		"circl.lu": "domain", "www.circl.lu": "domain", "www.hostname.circl.lu": "domain",
		"evilcircl.lu":              "domain", // circl.lu is inside it, but not as a whole word: kept
		"https://www.circl.lu/team": "url", "smb://24.9.51.94/EDGEUPDATE/": "url",
		"smb://24.9.51.94/EDGEUPDATE/update/": "url", "http://59.6.8.25/x/": "url", "59.6.8.25": "ip-dst",
	}
	var attrs []string
	for v, typ := range values {
		attrs = append(attrs, fmt.Sprintf(`{"type": %q, "value": %q, "to_ids": true}`, typ, v))
	}
	slices.Sort(attrs)
	in := golden.WriteFile(t, filepath.Join(t.TempDir(), "covered.json"), `{"Event": {"uuid": "5abb8534-0000-4000-8000-000000000001",
		"info": "Covered strings", "date": "2024-01-01", "Attribute": [`+strings.Join(attrs, ",")+`]}}`)
	rules, src := compileEvent(t, in, pipeline.Options{})
	for _, want := range []string{
		`covered = "www.circl.lu (matched by circl.lu)"`,
		`covered = "www.hostname.circl.lu (matched by circl.lu)"`,
		`covered = "https://www.circl.lu/team (matched by circl.lu)"`,
		`covered = "smb://24.9.51.94/EDGEUPDATE/update/ (matched by smb://24.9.51.94/EDGEUPDATE/)"`,
		`covered = "http://59.6.8.25/x/ (matched by 59.6.8.25)"`,
		`"evilcircl.lu" ascii wide nocase fullword`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("no %s in\n%s", want, src)
		}
	}
	if n := strings.Count(src, "\n        $"); n != 4 {
		t.Errorf("%d strings, want 4 (circl.lu, evilcircl.lu, 59.6.8.25, smb://24.9.51.94/EDGEUPDATE/)", n)
	}
	var texts [][]byte
	for v := range values {
		for _, text := range []string{"GET " + v + " ", utf16le("<" + v + ">"), strings.ToUpper("'" + v + "'")} {
			texts = append(texts, []byte(text))
			if got, err := rules.ScanMem([]byte(text)); err != nil || len(got) != 1 {
				t.Errorf("%q matched %v (%v)", text, got, err)
			}
		}
	}
	texts = append(texts, []byte("xcircl.lu1 evilcircl.lux 159.6.8.25"))
	if got, _ := rules.ScanMem(texts[len(texts)-1]); len(got) != 0 {
		t.Errorf("look-alikes matched %v", got)
	}
	enginesAgree(t, []yara.Source{{Name: in, Text: src}}, texts)
}

// An analyst's rule in a report is passed through into its YARA file, renamed, and matches in
// both engines; one that libyara does not compile is skipped with libyara's message, and the
// report keeps its other rules.
func TestPassedThroughRules(t *testing.T) {
	good := "import \"pe\"\nprivate rule IsSmall { condition: filesize < 100 }\n" +
		"rule Marker { meta: author = \"analyst\" strings: $m = \"passthrough-marker-7\" condition: IsSmall and $m }"
	bad := "rule Broken { condition: no_such_identifier }"
	empty := "// a comment and no rule\nimport \"pe\"\n"
	event := map[string]any{"Event": map[string]any{"uuid": "7a0c4a3e-0000-4000-8000-000000000001", "info": "Passed rules", "date": "2024-01-01",
		"Attribute": []map[string]any{
			{"type": "domain", "value": "passed-c2.evil-example.net", "to_ids": true},
			{"type": "yara", "value": good, "to_ids": true},
			{"type": "yara", "value": bad, "to_ids": true},
			{"type": "yara", "value": empty, "to_ids": true},
		}}}
	data, _ := json.Marshal(event)
	in := golden.WriteFile(t, filepath.Join(t.TempDir(), "event.json"), string(data))
	outcomes, files, err := pipeline.Collect(context.Background(), []string{in}, pipeline.Options{Render: render.Options{Author: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	skipped := outcomes[0].Tally.Skipped
	if len(skipped) != 2 || !strings.Contains(skipped[0].Reason, "YARA rule does not compile") || !strings.Contains(skipped[0].Reason, "no_such_identifier") ||
		skipped[1].Reason != "YARA source without a rule" {
		t.Fatalf("skipped %+v", skipped)
	}
	var src string
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".yar") {
			src = string(f.Body)
		}
	}
	for _, want := range []string{"rule MAL_Passed_rules_7a0c4a3e_Marker", "MAL_Passed_rules_7a0c4a3e_IsSmall and $m", `original_name = "Marker"`, `import "pe"`, "_C2"} {
		if !strings.Contains(src, want) {
			t.Errorf("no %q in\n%s", want, src)
		}
	}
	bufs := [][]byte{[]byte("x passthrough-marker-7 x"), []byte("passthrough-marker-7" + strings.Repeat(" ", 200)), []byte("nothing")}
	enginesAgree(t, []yara.Source{{Name: "passed.yar", Text: src}}, bufs)
	rules, err := yara.Compile(yara.Source{Name: "passed.yar", Text: src})
	if err != nil {
		t.Fatal(err)
	}
	defer rules.Destroy()
	if got, _ := rules.ScanMem(bufs[0]); len(got) != 1 || !strings.HasSuffix(got[0], "_Marker") {
		t.Errorf("the marker matched %v", got)
	}
	if got, _ := rules.ScanMem(bufs[1]); len(got) != 0 {
		t.Errorf("a large file matched %v", got)
	}
}
