package render

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rulegen/rulegen/generate/report"
)

// The layout keeps every sample once, in rules whose size ranges do not overlap, with every
// sample of one size in one rule, and trees that send each size to the leaf holding it.
func TestHashRulesLayout(t *testing.T) {
	var files []report.File
	for i := range 2*HashesPerRule + 100 {
		files = append(files, report.File{SHA256: fmt.Sprintf("%064x", i+1), Size: int64(1000 + i/3)}) // three samples per size
	}
	for i := range 20 {
		files = append(files, report.File{MD5: fmt.Sprintf("%032x", i+1)})
	}
	samples := newHashSamples(files)
	rules := hashRules(samples, LayoutFast)
	if len(rules) != 4 || rules[0].Suffix != "" || rules[1].Suffix != "_2" || !rules[3].Unsized || len(rules[3].Samples) != 20 {
		t.Fatalf("%d rules: %+v", len(rules), rules[len(rules)-1].Suffix)
	}
	seen := 0
	for i, r := range rules[:3] {
		seen += len(r.Samples)
		if i > 0 && r.Lo <= rules[i-1].Hi {
			t.Errorf("rule %d starts at %d, inside the range of rule %d (up to %d)", i, r.Lo, i-1, rules[i-1].Hi)
		}
		for _, f := range r.Samples {
			if !reaches(r.Tree, f) {
				t.Errorf("rule %d: size %d does not reach sample %s", i, f.Size, f.Digest)
			}
		}
	}
	if seen != 2*HashesPerRule+100 {
		t.Errorf("%d sized samples laid out", seen)
	}
	if small := hashRules(samples[:flatHashes], LayoutFast); len(small) != 1 || small[0].Tree != nil {
		t.Error("a small report is not one flat rule")
	}
	// A feed is many small reports: ten samples with sizes are a tree already, while a few
	// without a size (each file is hashed for them anyway) stay a flat list beside it.
	mixed := append(slices.Clone(samples[:10]), samples[len(samples)-5:]...)
	if r := hashRules(mixed, LayoutFast); len(r) != 2 || r[0].Tree == nil || r[1].Digests != nil || len(r[1].Samples) != 5 || r[1].Suffix != "_2" {
		t.Errorf("10 sized and 5 unsized samples: %d rules", len(r))
	}
	if hashRules(nil, LayoutFast) != nil || hashRules(nil, LayoutReadable) != nil {
		t.Error("rules without samples")
	}
	// The readable layout lists every sample as reported, flat, over rules of flatPerRule.
	readable := hashRules(samples, LayoutReadable)
	var listed []hashSample
	for i, r := range readable {
		if r.Tree != nil || r.Digests != nil || len(r.Samples) > flatPerRule || (i > 0) != (r.Suffix != "") {
			t.Fatalf("readable rule %d: %d samples, tree %v, digests %v, suffix %q", i, len(r.Samples), r.Tree != nil, r.Digests != nil, r.Suffix)
		}
		listed = append(listed, r.Samples...)
	}
	if !slices.Equal(listed, samples) {
		t.Errorf("readable layout lists %d of %d samples, or not in report order", len(listed), len(samples))
	}
}

// reaches follows the tree as libyara evaluates it for a file of f's size.
func reaches(n *sizeNode, f hashSample) bool {
	for n.Leaves == nil {
		if f.Size < n.Pivot {
			n = n.Left
		} else {
			n = n.Right
		}
	}
	for _, l := range n.Leaves {
		if l == f {
			return true
		}
	}
	return false
}
