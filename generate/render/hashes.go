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
// flat list of N `filesize == S and hash(...) == H` terms makes N comparisons per file, and
// a feed is many reports, so flat lists cost far more than size trees (docs/scan-cost.md,
// measured with BenchmarkScanCost). rulegen keeps the flat form for
// reports of flatHashes samples or fewer (a tree would compare as often; flatUnsized for
// samples without a size) and in the readable layout, and otherwise writes:
//
//   - rules of at most HashesPerRule samples, each over a range of file sizes that does not
//     overlap the others' (samples sorted by size), so that a file outside the range costs
//     one or two comparisons. Fewer, larger rules are cheaper, as BenchmarkScanCost shows for
//     rules of 256 to 8,192 samples; a single condition of 10,000 leaves is beyond libyara's
//     parser, and YARA-X's limit is tighter (below);
//   - inside a rule, a balanced tree on the file size: a file descends about log2(n) levels
//     to the few samples of its size, and only then is hashed.
//
// YARA-X compiles conditions to WebAssembly, yaraxRulesPerFunction consecutive rules to a
// function, and refuses a function whose conditions are too large (error E048 in YARA-X 1.22;
// 1.20 aborted on a body over 7.6 MB). Measured in 1.22, ten rules fail past about 2,200
// samples in size trees, 3,400 flat terms or 4,000 samples in digest trees, whatever their
// split between the rules; so HashesPerRule and flatPerRule keep any ten hash rules, also a
// feed's shared ones, at three quarters of that at most.
//
// Samples without a known size cannot be guarded: every file is hashed in full (libyara caches
// the digest per file). Their rules, one per hash algorithm, branch on the digest's leading hex
// digits (`startswith`, YARA 4.2), so that a file's digest is compared with the few samples
// that share its prefix instead of with all of them.
const (
	flatHashes    = treeLeaves
	flatUnsized   = 16  // every file is hashed for them anyway; a digest tree pays off only for many
	flatPerRule   = 250 // samples in one rule of the readable layout (and libyara's parser has limits)
	HashesPerRule = 160
	treeLeaves    = 4 // samples compared in one leaf of the size tree

	yaraxRulesPerFunction = 10   // YARA-X's WasmModuleBuilder rules_per_func
	yaraxTreeSamples      = 2200 // size-tree samples one function holds in YARA-X 1.22 (measured)
	yaraxFlatTerms        = 3400 // flat terms one function holds in YARA-X 1.22 (measured)
)

// Any ten consecutive hash rules fit one WebAssembly function with a quarter to spare: the
// build fails (a negative constant) when HashesPerRule or flatPerRule grows past that.
const (
	_ = uint(yaraxTreeSamples*3/4 - yaraxRulesPerFunction*HashesPerRule)
	_ = uint(yaraxFlatTerms*3/4 - yaraxRulesPerFunction*flatPerRule)
)

// hashSample is a sample as a hash rule compares it: the strongest hash the report gives for
// the file (sha256, else sha1, else md5) and its size, 0 when unknown.
type hashSample struct {
	Size    int64
	Algo    string // the hash module's function: sha256, sha1 or md5
	Digest  string
	Expires string // the report's expiry of the sample; "" never
}

func newHashSamples(files []report.File) []hashSample {
	out := make([]hashSample, len(files))
	for i, f := range files {
		out[i] = newHashSample(f)
	}
	return out
}

func newHashSample(f report.File) hashSample {
	switch {
	case f.SHA256 != "":
		return hashSample{Size: f.Size, Algo: "sha256", Digest: f.SHA256, Expires: f.Expires}
	case f.SHA1 != "":
		return hashSample{Size: f.Size, Algo: "sha1", Digest: f.SHA1, Expires: f.Expires}
	}
	return hashSample{Size: f.Size, Algo: "md5", Digest: f.MD5, Expires: f.Expires}
}

// hashRule is one hash rule's share of the samples.
type hashRule struct {
	Suffix  string       // "" for the first rule, then "_2", "_3", ...
	Unsized bool         // samples without a size: no guard
	Samples []hashSample // sorted by size
	Lo, Hi  int64        // the size range of the samples (sized rules)
	Tree    *sizeNode    // nil: a flat list of terms
	Digests *prefixNode  // unsized rules: a tree on the digest's leading hex digits
	Expires string       // when the last of its samples expires; "" when one never does
}

// prefixNode is a node of a digest tree: its children narrow the prefix by one hex digit; a
// leaf holds a few samples.
type prefixNode struct {
	Indent   string
	Algo     string // md5, sha1 or sha256: the hash module function
	Prefix   string
	Children []*prefixNode
	Leaves   []hashSample
}

// sizeNode is a node of the size tree: a leaf holds a few samples; an inner node sends files
// smaller than Pivot left and the others right.
type sizeNode struct {
	Indent      string
	Pivot       int64
	Left, Right *sizeNode
	Leaves      []hashSample
}

// hashRules lays out a report's samples.
func hashRules(samples []hashSample, layout Layout) []hashRule {
	withSize := 0
	for _, f := range samples {
		if f.Size > 0 {
			withSize++
		}
	}
	sized, unsized := make([]hashSample, 0, withSize), make([]hashSample, 0, len(samples)-withSize)
	for _, f := range samples {
		if f.Size > 0 {
			sized = append(sized, f)
		} else {
			unsized = append(unsized, f)
		}
	}
	if layout == LayoutReadable || len(sized) <= flatHashes && len(unsized) <= flatUnsized {
		return numbered(flatRules(samples)) // readable rules, as listed
	}
	var rules []hashRule
	if len(sized) <= flatHashes {
		rules = flatRules(sized)
	} else {
		rules = sizedRules(sized)
	}
	if len(unsized) <= flatUnsized {
		rules = append(rules, flatRules(unsized)...)
	} else {
		rules = append(rules, unsizedRules(unsized)...)
	}
	return numbered(rules)
}

// sizedRules lays samples with a size out over rules of disjoint size ranges, each a size tree.
func sizedRules(sized []hashSample) []hashRule {
	slices.SortStableFunc(sized, func(a, b hashSample) int { return cmp.Compare(a.Size, b.Size) })
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
	return rules
}

// unsizedRules lays samples without a size out per hash algorithm, each a digest-prefix tree.
func unsizedRules(unsized []hashSample) []hashRule {
	count := map[string]int{}
	for _, f := range unsized {
		count[f.Algo]++
	}
	byAlgo := map[string][]hashSample{}
	for algo, n := range count {
		byAlgo[algo] = make([]hashSample, 0, n)
	}
	for _, f := range unsized {
		byAlgo[f.Algo] = append(byAlgo[f.Algo], f)
	}
	var rules []hashRule
	for _, algo := range []string{"sha256", "sha1", "md5"} {
		files := byAlgo[algo]
		slices.SortFunc(files, func(a, b hashSample) int { return strings.Compare(a.Digest, b.Digest) })
		for start := 0; start < len(files); start += HashesPerRule {
			part := files[start:min(start+HashesPerRule, len(files))]
			rules = append(rules, hashRule{Unsized: true, Samples: part, Digests: prefixTree(part, algo, "", 3)})
		}
	}
	return rules
}

// flatRules lists samples as reported, one term each, over as many rules as it takes.
func flatRules(samples []hashSample) []hashRule {
	var rules []hashRule
	for start := 0; start < len(samples); start += flatPerRule {
		rules = append(rules, hashRule{Samples: samples[start:min(start+flatPerRule, len(samples))]})
	}
	return rules
}

// numbered gives every rule after the first its suffix (_2, _3, ...) and dates each.
func numbered(rules []hashRule) []hashRule {
	for i := range rules {
		if i > 0 {
			rules[i].Suffix = fmt.Sprintf("_%d", i+1)
		}
		dates := make([]string, len(rules[i].Samples))
		for j, f := range rules[i].Samples {
			dates[j] = f.Expires
		}
		rules[i].Expires = LastExpiry(dates)
	}
	return rules
}

// LastExpiry is when the last of a rule's indicators expires: the day the rule has nothing
// left to detect; "" when any of them never expires (or there are none).
func LastExpiry(dates []string) string {
	last := ""
	for _, d := range dates {
		if d == "" {
			return ""
		}
		last = max(last, d)
	}
	return last
}

// sizeTree builds a balanced tree over samples sorted by size, splitting only between
// different sizes so that every sample of a size is on one side.
func sizeTree(samples []hashSample, depth int) *sizeNode {
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
func splitPoint(samples []hashSample) int {
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

// prefixTree groups samples sorted by digest by their next hex digit after prefix.
func prefixTree(samples []hashSample, algo, prefix string, depth int) *prefixNode {
	n := &prefixNode{Indent: strings.Repeat("    ", depth), Algo: algo, Prefix: prefix}
	if len(samples) <= treeLeaves {
		n.Leaves = samples
		return n
	}
	for start := 0; start < len(samples); {
		next := samples[start].Digest[:len(prefix)+1]
		end := start
		for end < len(samples) {
			if !strings.HasPrefix(samples[end].Digest, next) {
				break
			}
			end++
		}
		n.Children = append(n.Children, prefixTree(samples[start:end], algo, next, depth+1))
		start = end
	}
	if len(n.Children) == 1 { // all share the next digit: no branch needed at this level
		child := n.Children[0]
		child.Indent = n.Indent
		return child
	}
	return n
}
