// Package domainname tells a domain name from a dotted word: a name is a domain only under a
// top-level domain of the ICANN section of the Public Suffix List (golang.org/x/net/publicsuffix),
// so that loader.go, notes.txt or temp.periscope never become C2 domains, while k5j.one does.
package domainname

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// specialUse are suffixes outside the ICANN section that still name real infrastructure a log
// can show: Tor's onion services (RFC 7686).
var specialUse = map[string]bool{"onion": true}

// Registrable says whether name (any case, a trailing dot allowed) is a domain: its top-level
// label is a suffix of the ICANN section (the private section's suffixes, such as workers.dev,
// are names under an ICANN one, and real infrastructure lives under them), and the name is not
// itself an ICANN public suffix (co.uk). tld is the top-level label.
func Registrable(name string) (tld string, ok bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	labels := strings.Split(name, ".")
	tld = labels[len(labels)-1]
	if len(labels) < 2 || tld == "" {
		return tld, false
	}
	if suffix, icann := publicsuffix.PublicSuffix(tld); !specialUse[tld] && (!icann || suffix != tld) {
		return tld, false
	}
	if suffix, icann := publicsuffix.PublicSuffix(name); icann && suffix == name {
		return tld, false
	}
	return tld, true
}
