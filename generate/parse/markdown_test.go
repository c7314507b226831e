package parse_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

func TestMarkdownSeedReport(t *testing.T) {
	path := filepath.Join(golden.RepoRoot(t), "testdata", "reports", "remcos-rat-2020-03-03.md")
	r, err := parse.File(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Title != "Remcos RAT 02-28-20" || r.Date != "2020-03-03" || r.ThreatLevel != (report.ThreatLevel{ID: 3, Name: "Low"}) {
		t.Errorf("identity: %q %q %+v", r.Title, r.Date, r.ThreatLevel)
	}
	c := r.Context
	if !slices.Equal(c.Families, []string{"Remcos"}) || !slices.Equal(c.Labels, []string{"MalSpam", "Remcos RAT"}) || !slices.Equal(c.TLP, []string{"white"}) ||
		len(c.Techniques) != 8 || c.Techniques[0] != (report.StatedTechnique{Ref: "Spearphishing Attachment - T1193", Stated: `misp-galaxy:mitre-attack-pattern="Spearphishing Attachment - T1193"`}) || c.Pos.Line != 7 {
		t.Errorf("context: %+v", c)
	}
	types := map[string]int{}
	for _, a := range r.Attributes {
		types[a.Type]++
	}
	if types["domain"] != 20 || types["ip-dst|port"] != 2 || types["regkey|value"] != 1 || types["link"] != 1 {
		t.Errorf("attribute types: %v", types)
	}
	if len(r.Objects) != 3 || r.Objects[1].Name != "file" || len(r.Objects[1].Attributes) != 6 {
		t.Fatalf("objects: %+v", r.Objects)
	}
	sample := r.Objects[1].Attributes[0]
	if sample.Type != "malware-sample" || sample.Category != "Payload delivery" || sample.Value != "324.doc|94a6b123b494cf3990d872d047b0071d" {
		t.Errorf("object attribute: %+v", sample)
	}
	if sample.Pos.Line != 52 || sample.Pos.File != path {
		t.Errorf("position %v, want %s:52", sample.Pos, path)
	}
}

func TestMarkdownTagsKeepQuotedCommas(t *testing.T) {
	src := "# Threat Report: 2024-05-01: T\n## Key Intelligence\n* Tags: a, misp-galaxy:x=\"one, two\", tlp:amber\n"
	r, err := parse.Bytes("t.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Context; !slices.Equal(c.Labels, []string{"a"}) || !slices.Equal(c.TLP, []string{"amber"}) || len(c.Families)+len(c.Techniques) != 0 || r.Date != "2024-05-01" {
		t.Errorf("context %+v date %q", c, r.Date)
	}
}

// TestInvalidInputs pairs each bad input in testdata/invalid with its exact error message,
// kept in a .err golden file beside it.
func TestInvalidInputs(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.md"))
	jsonInputs, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.json"))
	inputs = append(inputs, jsonInputs...)
	if len(inputs) == 0 {
		t.Fatal("no invalid inputs")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			err := parse.ReadFile(in, parse.Options{}, func(*report.Report) error { return nil })
			if err == nil {
				t.Fatal("parsed without error")
			}
			if !errors.Is(err, parse.ErrInput) {
				t.Errorf("error %v is not ErrInput", err)
			}
			golden.Assert(t, strings.TrimSuffix(in, filepath.Ext(in))+".err", []byte(err.Error()+"\n"))
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := parse.File(filepath.Join(t.TempDir(), "nope.md"))
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, parse.ErrInput) {
		t.Errorf("got %v", err)
	}
}

func FuzzMarkdown(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.md"))
	seeds = append(seeds, filepath.Join("..", "..", "testdata", "reports", "remcos-rat-2020-03-03.md"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parse.Bytes("fuzz.md", data)
		if (r == nil) == (err == nil) {
			t.Fatalf("want a report or an error, got %v and %v", r, err)
		}
	})
}
