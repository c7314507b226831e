// Package warninglist reads MISP warninglists (lists of well-known benign values) and tells
// whether an indicator is on one. A value on a list would make a rule that fires on benign
// traffic or files, so normalize skips it and names the list.
package warninglist

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

//go:embed lists/*.json
var bundled embed.FS

// List is one warninglist, compiled for lookups.
type List struct {
	Name string
	Type string // string, substring, hostname, cidr or regex
	// Kinds are the MISP attribute types the list applies to; empty means every type.
	Kinds []string

	exact      map[string]bool
	suffixes   map[string]bool // string entries written ".example.com": the domain and its subdomains
	substrings []string
	patterns   []*regexp.Regexp
	prefixes   map[netip.Prefix]bool
	bits       []int // the prefix lengths present, so an address needs one lookup per length
}

// Set is the lists that apply, indexed by attribute type.
type Set struct {
	lists  []*List
	byKind map[string][]*List
	any    []*List // lists without matching_attributes
}

// file is the MISP warninglist JSON format (misp-warninglists schema.json).
type file struct {
	Name               *string   `json:"name"`
	Type               *string   `json:"type"`
	Description        *string   `json:"description"`
	Version            *int64    `json:"version"`
	List               *[]string `json:"list"`
	MatchingAttributes []string  `json:"matching_attributes"`
}

// Bundled returns the default lists shipped with rulegen (see lists/SOURCES.md).
func Bundled() ([]*List, error) {
	sub, err := fs.Sub(bundled, "lists")
	if err != nil {
		return nil, err
	}
	return LoadFS(sub, "bundled warninglists")
}

// LoadDir reads every *.json file under dir (the misp-warninglists layout lists/<name>/list.json
// works as it is).
func LoadDir(dir string) ([]*List, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("warninglists: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("warninglists %s: not a directory", dir)
	}
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS reads every *.json file of fsys, sorted by path; where names them in errors.
func LoadFS(fsys fs.FS, where string) ([]*List, error) {
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && path.Ext(p) == ".json" && !strings.HasPrefix(path.Base(p), "_") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("warninglists %s: %w", where, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("warninglists %s: no *.json warninglist files", where)
	}
	var lists []*List
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("warninglist %s: %w", filepath.Join(where, p), err)
		}
		l, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("warninglist %s: %w", filepath.Join(where, p), err)
		}
		lists = append(lists, l)
	}
	return lists, nil
}

// Parse reads one warninglist in MISP's format.
func Parse(data []byte) (*List, error) {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a MISP warninglist: %w", err)
	}
	for key, missing := range map[string]bool{"name": f.Name == nil, "type": f.Type == nil, "list": f.List == nil} {
		if missing {
			return nil, fmt.Errorf("not a MISP warninglist: no %q", key)
		}
	}
	l := &List{Name: *f.Name, Type: *f.Type, Kinds: f.MatchingAttributes, exact: map[string]bool{}}
	for i, entry := range *f.List {
		if err := l.add(strings.ToLower(strings.TrimSpace(entry))); err != nil {
			return nil, fmt.Errorf("list[%d] %q: %w", i, entry, err)
		}
	}
	slices.Sort(l.bits)
	l.bits = slices.Compact(l.bits)
	return l, nil
}

func (l *List) add(entry string) error {
	if entry == "" {
		return nil
	}
	switch l.Type {
	case "string", "hostname":
		if strings.HasPrefix(entry, ".") {
			if l.suffixes == nil {
				l.suffixes = map[string]bool{}
			}
			l.suffixes[strings.TrimPrefix(entry, ".")] = true
		} else {
			l.exact[strings.TrimSuffix(entry, ".")] = true
		}
	case "substring":
		l.substrings = append(l.substrings, entry)
	case "regex":
		re, err := compileRegex(entry)
		if err != nil {
			return err
		}
		l.patterns = append(l.patterns, re)
	case "cidr":
		p, err := parsePrefix(entry)
		if err != nil {
			return err
		}
		if l.prefixes == nil {
			l.prefixes = map[netip.Prefix]bool{}
		}
		l.prefixes[p] = true
		l.bits = append(l.bits, p.Bits())
	default:
		return fmt.Errorf("unknown list type %q (want string, substring, hostname, cidr or regex)", l.Type)
	}
	return nil
}

// compileRegex reads a PCRE-style "/pattern/flags" entry; only the i flag has a meaning here.
func compileRegex(entry string) (*regexp.Regexp, error) {
	pattern := entry
	if strings.HasPrefix(entry, "/") {
		if end := strings.LastIndex(entry, "/"); end > 0 {
			pattern = entry[1:end]
			if strings.Contains(entry[end+1:], "i") {
				pattern = "(?i)" + pattern
			}
		}
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("regex Go cannot compile: %w", err)
	}
	return re, nil
}

func parsePrefix(entry string) (netip.Prefix, error) {
	if !strings.Contains(entry, "/") {
		addr, err := netip.ParseAddr(entry)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an address or CIDR block")
		}
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(entry)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an address or CIDR block")
	}
	return p.Masked(), nil
}

// NewSet indexes lists for Match. Lists are tried smallest first: when several hold a value,
// the smallest says most precisely why (empty-file hashes before common false positives).
func NewSet(lists ...*List) *Set {
	s := &Set{lists: lists, byKind: map[string][]*List{}}
	bySize := slices.Clone(lists)
	slices.SortStableFunc(bySize, func(a, b *List) int { return a.size() - b.size() })
	for _, l := range bySize {
		if len(l.Kinds) == 0 {
			s.any = append(s.any, l)
		}
		for _, k := range l.Kinds {
			s.byKind[k] = append(s.byKind[k], l)
		}
	}
	return s
}

func (l *List) size() int {
	return len(l.exact) + len(l.suffixes) + len(l.substrings) + len(l.patterns) + len(l.prefixes)
}

// Lists returns the lists in the set, in the order given.
func (s *Set) Lists() []*List { return s.lists }

// Match returns the name of the first list that holds value for an attribute of type kind
// (md5, domain, hostname, ip-dst, url, ...). value must be canonical: lowercase hashes and
// domains, a parsed IP address.
func (s *Set) Match(kind, value string) (string, bool) {
	if s == nil {
		return "", false
	}
	for _, group := range [][]*List{s.byKind[kind], s.any} {
		for _, l := range group {
			if l.Contains(kind, value) {
				return l.Name, true
			}
		}
	}
	return "", false
}

// Contains says whether value is on the list; a URL is looked up by its host as well.
func (l *List) Contains(kind, value string) bool {
	value = strings.ToLower(value)
	switch l.Type {
	case "cidr":
		return l.containsAddr(value)
	case "string", "hostname":
		if kind == "url" {
			if host := urlHost(value); host != "" && l.containsName(host) {
				return true
			}
		}
		return l.containsName(value)
	case "substring":
		return slices.ContainsFunc(l.substrings, func(s string) bool { return strings.Contains(value, s) })
	case "regex":
		return slices.ContainsFunc(l.patterns, func(re *regexp.Regexp) bool { return re.MatchString(value) })
	}
	return false
}

// containsName matches exactly, and for hostname lists and "."-prefixed entries also every
// subdomain: MISP's matching for these list types.
func (l *List) containsName(v string) bool {
	v = strings.TrimSuffix(v, ".")
	if l.exact[v] || l.suffixes[v] {
		return true
	}
	for i := strings.IndexByte(v, '.'); i >= 0; i = strings.IndexByte(v, '.') {
		v = v[i+1:]
		if l.suffixes[v] || (l.Type == "hostname" && l.exact[v]) {
			return true
		}
	}
	return false
}

func (l *List) containsAddr(v string) bool {
	addr, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	for _, bits := range l.bits {
		if bits > addr.BitLen() {
			continue
		}
		if p, err := addr.Prefix(bits); err == nil && l.prefixes[p] {
			return true
		}
	}
	return false
}

// urlHost is the host of scheme://host[:port]/path, or "".
func urlHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if end := strings.IndexByte(rest, ']'); end > 0 {
			return rest[1:end]
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
