package normalize

import (
	"crypto/md5"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/internal/domainname"
	"github.com/rulegen/rulegen/generate/report"
)

// Value checks: each returns the canonical form of a value or the reason it cannot become a rule.

var (
	placeholder = regexp.MustCompile(`^(?:<[^<>]*>|\{\{.*\}\}|\[[A-Za-z0-9 _-]*\]|x{3,}|n/?a|none|null|tbd|todo|unknown|no idea|redacted|-+|\?+)$`)
	domainLabel = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	topLabel    = regexp.MustCompile(`^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$`)
)

func isPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	if report.IsHex(v) { // no placeholder is hex digits alone; most values of a bulk list are
		return false
	}
	return placeholder.MatchString(strings.ToLower(v))
}

func checkHash(kind, v string) (string, error) {
	return hexDigest(kind, report.RenderedHashLength(kind), v)
}

// hexDigest accepts a digest of want hex digits, not all zeros, in lower case.
func hexDigest(kind string, want int, v string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if len(v) != want || !report.IsHex(v) {
		return "", fmt.Errorf("malformed %s: want %d hex digits", kind, want)
	}
	if strings.Trim(v, "0") == "" {
		return "", fmt.Errorf("malformed %s: all zeros", kind)
	}
	return v, nil
}

func checkDomain(v string) (string, error) {
	v = strings.TrimSuffix(strings.ToLower(defang.Refang(v)), ".")
	if len(v) > 253 {
		return "", fmt.Errorf("domain longer than 253 characters")
	}
	labels := strings.Split(v, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("not a domain name: needs at least two labels")
	}
	for _, l := range labels[:len(labels)-1] {
		if !domainLabel.MatchString(l) {
			return "", fmt.Errorf("not a domain name: bad label")
		}
	}
	if !topLabel.MatchString(labels[len(labels)-1]) {
		return "", fmt.Errorf("not a domain name: bad top-level label")
	}
	if reservedDomain(labels) {
		return "", fmt.Errorf("reserved for documentation and testing (RFC 2606, RFC 6761)")
	}
	if suffix, ok := domainname.Registrable(v); !ok {
		return "", fmt.Errorf("not a domain name: .%s is no top-level domain (the Public Suffix List's ICANN section), or the name is a public suffix itself", suffix)
	}
	return v, nil
}

// reservedDomain says whether a name is under a top-level domain or an example domain that
// RFC 2606 and RFC 6761 set aside: test events use them, real infrastructure cannot.
func reservedDomain(labels []string) bool {
	switch labels[len(labels)-1] {
	case "test", "example", "invalid", "localhost":
		return true
	}
	n := len(labels)
	return labels[n-2] == "example" && (labels[n-1] == "com" || labels[n-1] == "net" || labels[n-1] == "org")
}

// checkIP accepts only public unicast addresses: a private or reserved address in a rule fires
// on every network that uses it.
func checkIP(v string) (string, error) {
	addr, err := netip.ParseAddr(defang.Refang(v))
	if err != nil {
		return "", fmt.Errorf("not an IP address")
	}
	addr = addr.Unmap()
	switch {
	case addr.IsPrivate():
		return "", fmt.Errorf("private address")
	case addr.IsLoopback(), addr.IsUnspecified(), addr.IsMulticast(), addr.IsLinkLocalUnicast(),
		addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return "", fmt.Errorf("reserved address")
	case !addr.IsGlobalUnicast():
		return "", fmt.Errorf("not a global unicast address")
	}
	for _, p := range reservedPrefixes {
		if p.Contains(addr) {
			return "", fmt.Errorf("reserved address (%s)", p)
		}
	}
	return addr.String(), nil
}

// Ranges that netip's predicates do not cover: shared address space, documentation, benchmarking,
// protocol assignments and the former class E space.
var reservedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "2001:db8::/32", "64:ff9b::/96"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

func checkPort(v string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port: want 1-65535")
	}
	return p, nil
}

func checkSize(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size: want a positive number of bytes")
	}
	return n, nil
}

// checkFileName rejects names that are paths, empty or too generic to detect on their own.
func checkFileName(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", fmt.Errorf("empty file name")
	case strings.ContainsAny(v, `\/`):
		return "", fmt.Errorf("file name holds a path separator")
	case len(v) < 3:
		return "", fmt.Errorf("file name shorter than 3 characters")
	}
	return v, nil
}

var plainWords = regexp.MustCompile(`^[A-Za-z]+(?: [A-Za-z]+)*$`)

// genericImphashes are import tables that many benign programs share, so their imphash says
// nothing of a sample: every .NET assembly imports only mscoree.dll's _CorExeMain (programs)
// or _CorDllMain (libraries). An imphash is the MD5 of the lower-case "library.function" list.
var genericImphashes = map[string]string{
	fmt.Sprintf("%x", md5.Sum([]byte("mscoree._corexemain"))): ".NET program (mscoree.dll _CorExeMain only)",
	fmt.Sprintf("%x", md5.Sum([]byte("mscoree._cordllmain"))): ".NET library (mscoree.dll _CorDllMain only)",
}

// checkImphash accepts an imphash (32 hex digits, not all zeros) that is not a generic import
// table's, in lower case.
func checkImphash(v string) (string, error) {
	h, err := hexDigest("imphash", 32, v)
	if err != nil {
		return "", err
	}
	if what, ok := genericImphashes[h]; ok {
		return "", fmt.Errorf("generic imphash of every %s: it matches benign programs", what)
	}
	return h, nil
}

// checkMutex refuses names too common to mean one family: short ones, and a few plain words
// ("no idea", "Mutex"), which occur in text everywhere and are not what malware names its
// mutexes (GUIDs, family names with digits or underscores, Global\ prefixes).
func checkMutex(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case len(v) < 6:
		return "", fmt.Errorf("mutex name shorter than 6 characters is too common")
	case len(v) < 16 && plainWords.MatchString(v):
		return "", fmt.Errorf("mutex name of plain words is too common")
	}
	return v, nil
}
