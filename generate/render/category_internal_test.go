package render

import (
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// The category table decides which Sigma rules a report gets and what their log sources say:
// no Windows-only category (registry, DNS client) for the Linux Ebury report, the report's
// platform as the product of host logs, none for network logs, subdomains matched where the
// table says so, and every category written has a row.
func TestSigmaCategoryTableDrivesTheRules(t *testing.T) {
	rd, err := New(Options{Author: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, platform string }{
		{filepath.Join("..", "..", "testdata", "reports", "misp", "eset_windigo_ebury.misp.json"), "linux"},
		{filepath.Join("testdata", "every-branch.md"), "windows"},
	} {
		parsed, err := parse.File(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := normalize.Report(parsed, normalize.Options{})
		if err != nil {
			t.Fatal(err)
		}
		files, err := rd.Render([]*report.Normalized{r})
		if err != nil {
			t.Fatal(err)
		}
		written := map[string]bool{}
		for _, f := range files {
			if !strings.HasPrefix(f.Path, "sigma/") {
				continue
			}
			var rule struct {
				Logsource struct{ Product, Category string }
			}
			if err := yaml.Unmarshal(f.Body, &rule); err != nil {
				t.Fatal(err)
			}
			ls := rule.Logsource
			c, ok := sigmaCategories[ls.Category]
			written[ls.Category] = true
			switch {
			case !ok:
				t.Errorf("%s: category %q has no row", f.Path, ls.Category)
			case c.windowsOnly && tc.platform != "windows":
				t.Errorf("%s: a Windows-only category for a %s report", f.Path, tc.platform)
			case c.anyProduct != (ls.Product == ""), !c.anyProduct && ls.Product != tc.platform:
				t.Errorf("%s: product %q for a %s report", f.Path, ls.Product, tc.platform)
			case (c.parentDomains && len(r.Domains)+len(r.Hostnames) > 0) != strings.Contains(string(f.Body), "selection_subdomain:"):
				t.Errorf("%s: parent-domain matching %v, but the rule says otherwise:\n%s", f.Path, c.parentDomains, f.Body)
			}
		}
		if tc.platform == "windows" && len(written) != len(sigmaCategories) {
			t.Errorf("%s: categories %v, want every one of the table", tc.file, written)
		}
		if tc.platform == "linux" && (len(written) == 0 || written["registry_set"] || written["dns_query"]) {
			t.Errorf("%s: categories %v", tc.file, written)
		}
	}
}
