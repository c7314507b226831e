package normalize_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
)

// MISP-STIX documents, for every MISP attribute type, the attribute and the STIX indicator
// MISP exports it as. Read both ways, each must give the same indicators: the STIX reader is
// held to MISP's own reading of its export.
func TestMISPAndItsSTIXExportAgree(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(golden.RepoRoot(t), "testdata", "stix", "misp-stix-mapping", "misp_attributes_to_stix21.json"))
	if err != nil {
		t.Fatal(err)
	}
	compareExports(t, raw, 60)
}

// MISP objects lose more in their export (MISP-STIX's examples leave ports, sizes and
// second addresses out of the pattern), so the STIX side is held to this: it never detects a
// value MISP's reading of the object does not, and it reads the objects rulegen writes rules
// for.
func TestMISPObjectsAndTheirSTIXExportAgree(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(golden.RepoRoot(t), "testdata", "stix", "misp-stix-mapping", "misp_objects_to_stix21.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mapping map[string]struct{ MISP, STIX json.RawMessage }
	if err := json.Unmarshal(raw, &mapping); err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{"file": true, "domain-ip": true, "ip-port": true, "network-connection": true, "url": true,
		"pe & pe-sections": true, "image": true, "hashlookup": true, "lnk": true}
	for _, name := range slices.Sorted(maps.Keys(mapping)) {
		entry := mapping[name]
		indicator := indicatorOf(entry.STIX)
		if indicator == nil || indicator["pattern_type"] != nil && indicator["pattern_type"] != "stix" {
			continue
		}
		var objects []map[string]any
		if json.Unmarshal(entry.MISP, &objects) != nil {
			var one map[string]any
			if err := json.Unmarshal(entry.MISP, &one); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			objects = []map[string]any{one}
		}
		var items []any
		for _, o := range objects {
			flagAll(o)
			items = append(items, o)
		}
		fromMISP := strings.Join(normalized(t, name+".misp.json", map[string]any{"Event": map[string]any{
			"uuid": "91ae0a21-0000-4000-8000-000000000001", "info": name, "date": "2020-10-25", "Object": items}}), "\n")
		fromSTIX := normalized(t, name+".stix.json", map[string]any{"type": "bundle", "id": "bundle--91ae0a21-0000-4000-8000-000000000002",
			"objects": []any{indicator}})
		for _, v := range fromSTIX {
			if f := strings.Fields(v); v != "nothing" && !strings.Contains(fromMISP, f[0]+" "+f[1]) {
				t.Errorf("%s: its STIX export %s detects %q, which MISP's reading of the object does not:\n%s", name, indicator["pattern"], v, fromMISP)
			}
		}
		if read[name] && fromSTIX[0] == "nothing" {
			t.Errorf("%s: nothing read from its export %s", name, indicator["pattern"])
		}
	}
}

// compareExports reads each mapping entry's MISP attribute and the indicator of its STIX
// side, and requires the same indicators from both.
func compareExports(t *testing.T, raw []byte, atLeast int) {
	t.Helper()
	var mapping map[string]struct {
		MISP json.RawMessage // one attribute or object, or a list of objects that refer to each other
		STIX json.RawMessage
	}
	if err := json.Unmarshal(raw, &mapping); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, typ := range slices.Sorted(maps.Keys(mapping)) {
		entry := mapping[typ]
		indicator := indicatorOf(entry.STIX)
		if indicator == nil {
			continue // exported as observed data only: not meant for detection
		}
		var attr map[string]any
		if err := json.Unmarshal(entry.MISP, &attr); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		attr["to_ids"] = true
		fromMISP := normalized(t, typ+".misp.json", map[string]any{"Event": map[string]any{
			"uuid": "91ae0a21-0000-4000-8000-000000000001", "info": typ, "date": "2020-10-25", "Attribute": []any{attr}}})
		bundle := func(o map[string]any) map[string]any {
			return map[string]any{"type": "bundle", "id": "bundle--91ae0a21-0000-4000-8000-000000000002", "objects": []any{o}}
		}
		fromSTIX := normalized(t, typ+".stix.json", bundle(indicator))
		compared++
		if !slices.Equal(fromMISP, fromSTIX) {
			t.Errorf("%s: MISP %q gives %q; its STIX export %s gives %q", typ, attr["value"], fromMISP, indicator["pattern"], fromSTIX)
		}
		// Without MISP's labels the pattern alone speaks, as it does to any STIX reader: it
		// says the same except where the export loses what MISP meant.
		delete(indicator, "labels")
		plain := normalized(t, typ+".plain.json", bundle(indicator))
		if why, lost := lostInExport[typ]; lost == slices.Equal(fromMISP, plain) {
			t.Errorf("%s without labels: %q, MISP %q (listed as lost in the export: %v %s)", typ, plain, fromMISP, lost, why)
		}
	}
	if compared < atLeast {
		t.Errorf("only %d types compared", compared)
	}
}

// flagAll flags an object's attributes for detection, as an exported indicator is.
func flagAll(object map[string]any) {
	attrs, _ := object["Attribute"].([]any)
	for _, a := range attrs {
		if m, ok := a.(map[string]any); ok {
			m["to_ids"] = true
		}
	}
}

// lostInExport are the MISP types whose meaning the STIX pattern alone does not carry.
var lostInExport = map[string]string{
	"ip-src":              "MISP's ip-src is the attacker's address; network-traffic's src_ref is a connection's own side",
	"ip-src|port":         "the same, with a port",
	"link":                "a reference to MISP, a URL to STIX",
	"uri":                 "MISP reads no rule from a uri; STIX has a url",
	"regkey":              "MISP's regkey ends in a value name; STIX's key is a key",
	"regkey|value":        `the export writes % as \%`,
	"sha512/256":          "exported under the key SHA-256",
	"filename|sha512/256": "exported under the key SHA-256",
	"attachment":          "a file the event carries to MISP, a file of that name to STIX",
}

// indicatorOf finds the indicator among an entry's STIX objects (one object or a list).
func indicatorOf(stix json.RawMessage) map[string]any {
	var list []map[string]any
	if json.Unmarshal(stix, &list) != nil {
		var one map[string]any
		if json.Unmarshal(stix, &one) != nil {
			return nil
		}
		list = []map[string]any{one}
	}
	for _, o := range list {
		if o["type"] == "indicator" {
			return o
		}
	}
	return nil
}

// normalized parses and normalises one document and lists what its rules would detect, or
// "nothing".
func normalized(t *testing.T, name string, doc map[string]any) []string {
	t.Helper()
	data, _ := json.Marshal(doc)
	parsed, err := parse.Bytes(name, data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	r, err := normalize.Report(parsed, normalize.Options{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := r.Values() // YARA rules included, by name
	for range r.SigmaRules {
		out = append(out, "a sigma rule")
	}
	if len(out) == 0 {
		out = []string{"nothing"}
	}
	return out
}
