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

func parseAll(t *testing.T, name, src string) []*report.Report {
	t.Helper()
	var out []*report.Report
	if err := parse.Each(name, []byte(src), parse.Options{}, func(r *report.Report) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every form MISP writes an event in gives the same report.
func TestMISPForms(t *testing.T) {
	event := `{"uuid": "5aa2e21b-79d8-4fd7-b15d-34670a016219", "info": "Forms", "date": "2024-01-02", "threat_level_id": "2",
		"Attribute": [{"type": "domain", "value": "c2-a.net", "to_ids": true, "category": "Network activity"}]}`
	for name, src := range map[string]string{
		"event":    `{"Event": ` + event + `}`,
		"response": `{"response": [{"Event": ` + event + `}]}`,
		"list":     `[{"Event": ` + event + `}]`,
		"bare":     event,
		"bom":      "\ufeff" + `{"Event": ` + event + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			rs := parseAll(t, name+".json", src)
			if len(rs) != 1 {
				t.Fatalf("%d reports", len(rs))
			}
			r := rs[0]
			if r.ID != "5aa2e21b-79d8-4fd7-b15d-34670a016219" || r.Title != "Forms" || r.Date != "2024-01-02" ||
				r.ThreatLevel != (report.ThreatLevel{ID: 2, Name: "Medium"}) || r.Format != "misp" {
				t.Errorf("identity %+v", r)
			}
			if len(r.Attributes) != 1 || r.Attributes[0].Value != "c2-a.net" || !r.Attributes[0].ToIDS || r.Attributes[0].Category != "Network activity" {
				t.Errorf("attributes %+v", r.Attributes)
			}
		})
	}
}

// MISP writes scalars as strings or not, depending on version and export path.
func TestMISPScalarsAsStringsOrNot(t *testing.T) {
	rs := parseAll(t, "s.json", `{"Event": {"info": "Scalars", "date": "2024-01-02", "threat_level_id": 1, "Attribute": [
		{"type": "md5", "value": "94a6b123b494cf3990d872d047b0071d", "to_ids": "1"},
		{"type": "md5", "value": "2481f731acf1c77df7ac4b231821dc71", "to_ids": 0},
		{"type": "size-in-bytes", "value": 39424, "to_ids": "true", "deleted": "1"},
		{"type": "domain", "value": "c2-a.net", "to_ids": null, "object_relation": null, "comment": null}
	]}}`)
	a := rs[0].Attributes
	if rs[0].ThreatLevel.Name != "High" || !a[0].ToIDS || a[1].ToIDS || a[2].Value != "39424" || !a[2].ToIDS || !a[2].Deleted || a[3].ToIDS {
		t.Errorf("got %+v %+v", rs[0].ThreatLevel, a)
	}
	if a[3].Pos.Path != "Event.Attribute[3]" || a[3].Pos.File != "s.json" {
		t.Errorf("position %+v", a[3].Pos)
	}
}

func TestMISPTagsGalaxiesObjectsAndDates(t *testing.T) {
	rs := parseAll(t, "g.json", `{"response": [{"Event": {"info": "Galaxies", "timestamp": "1583193600",
		"Tag": [{"name": "tlp:amber"}, {"name": ""}],
		"Galaxy": [{"type": "mitre-attack-pattern", "GalaxyCluster": [
			{"value": "Registry Run Keys / Startup Folder - T1060", "tag_name": "misp-galaxy:mitre-attack-pattern=\"Registry Run Keys / Startup Folder - T1060\""},
			{"value": "Spearphishing Attachment - T1193"}]}],
		"Object": [
			{"name": "file", "deleted": true, "Attribute": [{"type": "md5", "object_relation": "md5", "value": "94a6b123b494cf3990d872d047b0071d", "to_ids": true}]},
			{"name": "domain-ip"}
		]}}]}`)
	r := rs[0]
	if r.Date != "2020-03-03" {
		t.Errorf("date from timestamp: %q", r.Date)
	}
	want := []report.StatedTechnique{
		{Ref: "Registry Run Keys / Startup Folder - T1060", Stated: `misp-galaxy:mitre-attack-pattern="Registry Run Keys / Startup Folder - T1060"`},
		{Ref: "Spearphishing Attachment - T1193", Stated: `misp-galaxy:mitre-attack-pattern="Spearphishing Attachment - T1193"`},
	}
	if c := r.Context; !slices.Equal(c.TLP, []string{"amber"}) || !slices.Equal(c.Techniques, want) || c.Pos.Path != "response[0].Event.Tag" {
		t.Errorf("context %+v", c)
	}
	if len(r.Objects) != 2 || !r.Objects[0].Deleted || r.Objects[0].Attributes[0].Relation != "md5" ||
		r.Objects[0].Attributes[0].Pos.Path != "response[0].Event.Object[0].Attribute[0]" || len(r.Objects[1].Attributes) != 0 {
		t.Errorf("objects %+v", r.Objects)
	}
}

func TestMISPEmptyEvent(t *testing.T) {
	r := parseAll(t, "e.json", `{"Event": {"info": "Nothing yet", "date": "2024-01-02", "Attribute": [], "Object": null}}`)[0]
	if len(r.Attributes) != 0 || len(r.Objects) != 0 {
		t.Errorf("%+v", r)
	}
}

// The real events bundled as reports all parse, each with its identity.
func TestMISPRealEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(golden.RepoRoot(t), "testdata", "reports", "misp", "*.json"))
	if len(files) < 10 {
		t.Fatalf("only %d real events", len(files))
	}
	for _, f := range files {
		err := parse.ReadFile(f, parse.Options{}, func(r *report.Report) error {
			if r.Title == "" || r.Date == "" || len(r.Attributes)+len(r.Objects) == 0 {
				t.Errorf("%s: %q %q %d attributes %d objects", f, r.Title, r.Date, len(r.Attributes), len(r.Objects))
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
}

// FuzzMISP: any bytes give reports or an input error naming the file, never a panic.
func FuzzMISP(f *testing.F) {
	root := golden.RepoRoot(f)
	for _, pattern := range []string{"generate/parse/testdata/invalid/*.json", "testdata/reports/misp/pymisp_*.json", "testdata/feeds/chrome-mal-ids/*.json"} {
		paths, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`[{"Event": {"info": "x", "date": "2024-01-01", "Attribute": [{"type": "domain", "value": 1, "to_ids": "1"}]}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := parse.Each("fuzz.json", data, parse.Options{Format: parse.FormatMISP}, func(r *report.Report) error {
			if r.Title == "" || r.Source != "fuzz.json" {
				t.Fatalf("report without a title or source: %+v", r)
			}
			return nil
		})
		if err != nil && (!errors.Is(err, parse.ErrInput) || !strings.Contains(err.Error(), "fuzz.json")) {
			t.Fatalf("error %v is not an input error naming the file", err)
		}
	})
}
