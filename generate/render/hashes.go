package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// Hash rules and their cost. libyara evaluates every rule's condition for every file it scans,
// so the per-file work of hash rules is the number of comparisons their conditions make. A
// flat list of N `filesize == S and hash(...) == H` terms makes N comparisons per file;
// rulegen keeps that readable form only for small reports (flatHashes samples or fewer) and
// otherwise writes:
//
//   - rules of at most HashesPerRule samples, each over a range of file sizes that does not
//     overlap the others' (samples sorted by size), so that a file outside the range costs
//     one or two comparisons. Fewer, larger rules are cheaper: over the Go toolchain, 100,000
//     samples cost 1.35x an empty ruleset in rules of 256, 1.13x in rules of 2,048 and 1.11x
//     in rules of 8,192; a single condition of 10,000 leaves is beyond libyara's parser;
//   - inside a rule, a balanced tree on the file size: a file descends about log2(n) levels
//     to the few samples of its size, and only then is hashed.
//
// Samples without a known size cannot be guarded: every file is hashed once (libyara caches
// the digest per file) and compared with each of them. They go into rules of their own.
const (
	flatHashes    = 16
	HashesPerRule = 8192
	treeLeaves    = 4 // samples compared in one leaf of the size tree
)

// hashRule is one hash rule's share of the samples.
type hashRule struct {
	Suffix  string        // "" for the first rule, then "_2", "_3", ...
	Unsized bool          // samples without a size: no guard
	Samples []report.File // sorted by size
	Lo, Hi  int64         // the size range of the samples (sized rules)
	Tree    *sizeNode     // nil: a flat list of terms
}

// sizeNode is a node of the size tree: a leaf holds a few samples; an inner node sends files
// smaller than Pivot left and the others right.
type sizeNode struct {
	Indent      string
	Pivot       int64
	Left, Right *sizeNode
	Leaves      []report.File
}

// hashRules lays out a report's samples.
func hashRules(samples []report.File) []hashRule {
	var sized, unsized []report.File
	for _, f := range samples {
		if f.Size > 0 {
			sized = append(sized, f)
		} else {
			unsized = append(unsized, f)
		}
	}
	switch {
	case len(samples) == 0:
		return nil
	case len(samples) <= flatHashes:
		return []hashRule{{Samples: samples}} // one readable rule, as listed
	}
	slices.SortStableFunc(sized, func(a, b report.File) int { return cmp.Compare(a.Size, b.Size) })
	var rules []hashRule
	for start := 0; start < len(sized); {
		end := min(start+HashesPerRule, len(sized))
		// Keep samples of one size in one rule, so that ranges do not overlap.
		for end < len(sized) && end > start+1 && sized[end].Size == sized[end-1].Size {
			end--
		}
		part := sized[start:end]
		rules = append(rules, hashRule{Samples: part, Lo: part[0].Size, Hi: part[len(part)-1].Size, Tree: sizeTree(part, 3)})
		start = end
	}
	for start := 0; start < len(unsized); start += HashesPerRule {
		rules = append(rules, hashRule{Unsized: true, Samples: unsized[start:min(start+HashesPerRule, len(unsized))]})
	}
	for i := range rules {
		if i > 0 {
			rules[i].Suffix = fmt.Sprintf("_%d", i+1)
		}
	}
	return rules
}

// sizeTree builds a balanced tree over samples sorted by size, splitting only between
// different sizes so that every sample of a size is on one side.
func sizeTree(samples []report.File, depth int) *sizeNode {
	n := &sizeNode{Indent: strings.Repeat("    ", depth)}
	if len(samples) <= treeLeaves {
		n.Leaves = samples
		return n
	}
	mid := splitPoint(samples)
	if mid <= 0 {
		n.Leaves = samples // all of one size
		return n
	}
	n.Pivot = samples[mid].Size
	n.Left, n.Right = sizeTree(samples[:mid], depth+1), sizeTree(samples[mid:], depth+1)
	return n
}

// splitPoint is the index nearest the middle where the size changes, or -1.
func splitPoint(samples []report.File) int {
	half := len(samples) / 2
	for d := 0; d <= half; d++ {
		for _, i := range []int{half - d, half + d} {
			if i > 0 && i < len(samples) && samples[i-1].Size != samples[i].Size {
				return i
			}
		}
	}
	return -1
}
