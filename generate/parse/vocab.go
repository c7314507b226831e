package parse

import (
	"strings"
)

// Vendors say what a value is in words: a CSV's type column (FileHash-SHA256, ipaddress), a
// table's header (SHA-1, IP address, First seen), a label (SHA256 hash:, Domain name:) or a
// heading (C&C URLs, Mutexes created by …). One vocabulary reads them all.

// role is what a word says of the values it labels.
type role int

const (
	roleNone      role = iota // says nothing: the value is typed by its shape
	roleType                  // an indicator type (meaning.typ)
	roleNetwork               // a network indicator, whose shape says which (C2, traffic, server)
	roleHash                  // a file hash, whose length says which
	roleReference             // a link to where the report was published
	roleComment               // describes the value (description, note, detection name)
	roleFirstSeen             // when the value was first seen
	roleLastSeen              // when it was last seen
	roleDate                  // the publication's date
	roleValue                 // a CSV's value column
	roleKind                  // a CSV's type column
	roleNot                   // a value that is no indicator; meaning.reason says why
)

// meaning is what a word says: a role, the MISP type for roleType, the reason for roleNot.
type meaning struct {
	role   role
	typ    string
	reason string
}

// Reasons for labelled values that are no indicators.
const (
	reasonRegistration = "registration data (registrar, registrant, name server), not an indicator"
	reasonBenign       = "labelled legitimate or benign by the publication"
	reasonVirusTotal   = "a VirusTotal reference, not an indicator"
	reasonAnalysis     = "a link to an analysis or a sandbox's report, not an indicator"
	reasonDetection    = "a detection name, not an indicator"
	reasonPayment      = "a payment or contact id (wallet, Tox), not seen by file or endpoint rules"
	reasonAccount      = "an account name: too generic for a rule"
	reasonKey          = "a cryptographic key, not an indicator"
	reasonOutside      = "the web page's navigation, sidebar or footer, not the publication"
	reasonNetContext   = "network context (hosting provider, ASN, country), not an indicator"
	reasonURLPath      = "a URL path without its host: it would match the same path on any site"
	reasonCertificate  = "a code-signing certificate's fingerprint or serial, not a file's hash"
)

// exactWords are type words as vendors' columns spell them, squashed (lower case, letters and
// digits only).
var exactWords = map[string]meaning{
	"md5": {role: roleType, typ: "md5"}, "sha1": {role: roleType, typ: "sha1"}, "sha256": {role: roleType, typ: "sha256"},
	"sha512": {role: roleType, typ: "sha512"}, "imphash": {role: roleType, typ: "imphash"}, "ssdeep": {role: roleType, typ: "ssdeep"},
	"tlsh": {role: roleType, typ: "tlsh"}, "authentihash": {role: roleType, typ: "authentihash"},
	"filehashmd5": {role: roleType, typ: "md5"}, "filehashsha1": {role: roleType, typ: "sha1"}, "filehashsha256": {role: roleType, typ: "sha256"},
	"hash": {role: roleHash}, "filehash": {role: roleHash}, "hashes": {role: roleHash}, "sample": {role: roleHash},
	"file":     {role: roleNone}, // a hash or a file name: the shape tells
	"filename": {role: roleType, typ: "filename"}, "name": {role: roleType, typ: "name"},
	"filesize": {role: roleType, typ: "size-in-bytes"}, "size": {role: roleType, typ: "size-in-bytes"},
	"filepath": {role: roleType, typ: "path"}, "path": {role: roleType, typ: "path"}, "fullpath": {role: roleType, typ: "path"},
	"domain": {role: roleType, typ: "domain"}, "domainname": {role: roleType, typ: "domain"}, "fqdn": {role: roleType, typ: "domain"},
	"hostname": {role: roleType, typ: "hostname"}, "host": {role: roleType, typ: "hostname"},
	"ip": {role: roleType, typ: "ip-dst"}, "ipv4": {role: roleType, typ: "ip-dst"}, "ipv6": {role: roleType, typ: "ip-dst"},
	"ipaddress": {role: roleType, typ: "ip-dst"}, "ipv4addr": {role: roleType, typ: "ip-dst"}, "ipv6addr": {role: roleType, typ: "ip-dst"},
	"ipdst": {role: roleType, typ: "ip-dst"}, "ipsrc": {role: roleType, typ: "ip-dst"}, "ipport": {role: roleNetwork},
	"url": {role: roleType, typ: "url"}, "uri": {role: roleType, typ: "url"},
	"urlpath": {role: roleNot, reason: reasonURLPath}, "uripath": {role: roleNot, reason: reasonURLPath},
	"port": {role: roleType, typ: "port"}, "dstport": {role: roleType, typ: "port"},
	"mutex": {role: roleType, typ: "mutex"}, "mutant": {role: roleType, typ: "mutex"},
	"regkey": {role: roleType, typ: "regkey"}, "registry": {role: roleType, typ: "regkey"}, "registrykey": {role: roleType, typ: "regkey"},
	"email": {role: roleType, typ: "email-src"}, "emailsender": {role: roleType, typ: "email-src"}, "emailaddress": {role: roleType, typ: "email-src"},
	"emailsrc": {role: roleType, typ: "email-src"}, "emaildst": {role: roleType, typ: "email-src"},
	"c2": {role: roleNetwork}, "cc": {role: roleNetwork}, "cnc": {role: roleNetwork}, "network": {role: roleNetwork},
	"value": {role: roleValue}, "indicator": {role: roleValue}, "ioc": {role: roleValue}, "data": {role: roleValue},
	"observable": {role: roleValue}, "indicatorvalue": {role: roleValue},
	"type": {role: roleKind}, "entitytype": {role: roleKind}, "indicatortype": {role: roleKind}, "kind": {role: roleKind},
	"ioctype": {role: roleKind}, "observabletype": {role: roleKind},
	"description": {role: roleComment}, "note": {role: roleComment}, "notes": {role: roleComment}, "comment": {role: roleComment},
	"comments": {role: roleComment}, "details": {role: roleComment}, "context": {role: roleComment}, "info": {role: roleComment},
	"detection": {role: roleComment}, "detectionname": {role: roleComment}, "tags": {role: roleComment}, "malware": {role: roleComment},
	"family": {role: roleComment}, "category": {role: roleComment},
	"firstseen": {role: roleFirstSeen}, "lastseen": {role: roleLastSeen}, "date": {role: roleDate}, "published": {role: roleDate},
	"reference": {role: roleReference}, "references": {role: roleReference}, "source": {role: roleReference},
	"link": {role: roleType, typ: "url"}, "links": {role: roleType, typ: "url"},
}

// phrases read longer labels and headings word by word. A phrase that says a value is no
// indicator decides wherever it stands; otherwise the phrase standing first does (the longest
// of those starting there): "URL from email" is a URL, "Domain name" a domain.
var phrases = []struct {
	words string
	meaning
}{
	{"registrar", meaning{role: roleNot, reason: reasonRegistration}},
	{"registrant", meaning{role: roleNot, reason: reasonRegistration}},
	{"whois", meaning{role: roleNot, reason: reasonRegistration}},
	{"name server", meaning{role: roleNot, reason: reasonRegistration}},
	{"name servers", meaning{role: roleNot, reason: reasonRegistration}},
	{"nameserver", meaning{role: roleNot, reason: reasonRegistration}},
	{"nameservers", meaning{role: roleNot, reason: reasonRegistration}},
	{"legitimate", meaning{role: roleNot, reason: reasonBenign}},
	{"benign", meaning{role: roleNot, reason: reasonBenign}},
	{"virustotal", meaning{role: roleNot, reason: reasonVirusTotal}},
	{"analysis", meaning{role: roleNot, reason: reasonAnalysis}},
	{"sandbox", meaning{role: roleNot, reason: reasonAnalysis}},
	{"any run", meaning{role: roleNot, reason: reasonAnalysis}},
	{"anyrun", meaning{role: roleNot, reason: reasonAnalysis}},
	{"triage", meaning{role: roleNot, reason: reasonAnalysis}},
	{"urlscan", meaning{role: roleNot, reason: reasonAnalysis}},
	{"bazaar", meaning{role: roleNot, reason: reasonAnalysis}},
	{"malwarebazaar", meaning{role: roleNot, reason: reasonAnalysis}},
	{"first seen", meaning{role: roleFirstSeen}},
	{"last seen", meaning{role: roleLastSeen}},
	{"first submission", meaning{role: roleFirstSeen}},
	{"reference", meaning{role: roleReference}},
	{"references", meaning{role: roleReference}},
	{"blog post", meaning{role: roleReference}},
	{"detection", meaning{role: roleNot, reason: reasonDetection}},
	{"detections", meaning{role: roleNot, reason: reasonDetection}},
	{"tox", meaning{role: roleNot, reason: reasonPayment}},
	{"wallet", meaning{role: roleNot, reason: reasonPayment}},
	{"wallets", meaning{role: roleNot, reason: reasonPayment}},
	{"bitcoin", meaning{role: roleNot, reason: reasonPayment}},
	{"monero", meaning{role: roleNot, reason: reasonPayment}},
	{"account", meaning{role: roleNot, reason: reasonAccount}},
	{"accounts", meaning{role: roleNot, reason: reasonAccount}},
	{"hosting", meaning{role: roleNot, reason: reasonNetContext}},
	{"provider", meaning{role: roleNot, reason: reasonNetContext}},
	{"asn", meaning{role: roleNot, reason: reasonNetContext}},
	{"country", meaning{role: roleNot, reason: reasonNetContext}},
	{"certificate", meaning{role: roleNot, reason: reasonCertificate}},
	{"certificates", meaning{role: roleNot, reason: reasonCertificate}},
	{"fingerprint", meaning{role: roleNot, reason: reasonCertificate}},
	{"thumbprint", meaning{role: roleNot, reason: reasonCertificate}},
	{"serial", meaning{role: roleNot, reason: reasonCertificate}},
	{"registry", meaning{role: roleType, typ: "regkey"}},
	{"public key", meaning{role: roleNot, reason: reasonKey}},
	{"public keys", meaning{role: roleNot, reason: reasonKey}},
	{"rsa", meaning{role: roleNot, reason: reasonKey}},
	{"cryptographic keys", meaning{role: roleNot, reason: reasonKey}},
	{"email", meaning{role: roleType, typ: "email-src"}},
	{"e mail", meaning{role: roleType, typ: "email-src"}},
	{"sha256", meaning{role: roleType, typ: "sha256"}},
	{"sha 256", meaning{role: roleType, typ: "sha256"}},
	{"sha1", meaning{role: roleType, typ: "sha1"}},
	{"sha 1", meaning{role: roleType, typ: "sha1"}},
	{"md5", meaning{role: roleType, typ: "md5"}},
	{"sha512", meaning{role: roleType, typ: "sha512"}},
	{"imphash", meaning{role: roleType, typ: "imphash"}},
	{"mutex", meaning{role: roleType, typ: "mutex"}},
	{"mutexes", meaning{role: roleType, typ: "mutex"}},
	{"file size", meaning{role: roleType, typ: "size-in-bytes"}},
	{"file name", meaning{role: roleType, typ: "filename"}},
	{"file names", meaning{role: roleType, typ: "filename"}},
	{"filename", meaning{role: roleType, typ: "filename"}},
	{"filenames", meaning{role: roleType, typ: "filename"}},
	{"file location", meaning{role: roleType, typ: "path"}},
	{"location", meaning{role: roleType, typ: "path"}},
	{"path", meaning{role: roleType, typ: "path"}},
	{"paths", meaning{role: roleType, typ: "path"}},
	{"hash", meaning{role: roleHash}},
	{"hashes", meaning{role: roleHash}},
	{"samples", meaning{role: roleHash}},
	{"url", meaning{role: roleType, typ: "url"}},
	{"urls", meaning{role: roleType, typ: "url"}},
	{"links", meaning{role: roleType, typ: "url"}},
	{"domain", meaning{role: roleType, typ: "domain"}},
	{"domains", meaning{role: roleType, typ: "domain"}},
	{"hostname", meaning{role: roleType, typ: "hostname"}},
	{"hostnames", meaning{role: roleType, typ: "hostname"}},
	{"ip", meaning{role: roleType, typ: "ip-dst"}},
	{"ips", meaning{role: roleType, typ: "ip-dst"}},
	{"ip address", meaning{role: roleType, typ: "ip-dst"}},
	{"ip addresses", meaning{role: roleType, typ: "ip-dst"}},
	{"ipv4", meaning{role: roleType, typ: "ip-dst"}},
	{"ipv6", meaning{role: roleType, typ: "ip-dst"}},
	{"port", meaning{role: roleType, typ: "port"}},
	{"c2", meaning{role: roleNetwork}},
	{"c&c", meaning{role: roleNetwork}},
	{"cnc", meaning{role: roleNetwork}},
	{"command and control", meaning{role: roleNetwork}},
	{"network", meaning{role: roleNetwork}},
	{"traffic", meaning{role: roleNetwork}},
	{"server", meaning{role: roleNetwork}},
	{"servers", meaning{role: roleNetwork}},
	{"description", meaning{role: roleComment}},
	{"date", meaning{role: roleDate}},
}

// meaningOf reads a type word, a column header, a label or a heading.
func meaningOf(words string) meaning {
	spaced := spacedWords(words)
	if m, ok := exactWords[strings.ReplaceAll(spaced, " ", "")]; ok {
		return m
	}
	padded := " " + spaced + " "
	found, at, length := meaning{}, len(padded), 0
	for _, p := range phrases {
		i := strings.Index(padded, " "+p.words+" ")
		switch {
		case i < 0:
			continue
		case p.role == roleNot:
			return p.meaning
		case i < at || i == at && len(p.words) > length:
			found, at, length = p.meaning, i, len(p.words)
		}
	}
	return found
}

// spacedWords lower-cases s and keeps its letters, digits and ampersands as words separated by
// single spaces: "FileHash-SHA256" is "filehash sha256", "C&C URLs:" is "c&c urls".
func spacedWords(s string) string {
	var b strings.Builder
	space := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '&' {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(c)
			continue
		}
		space = true
	}
	return b.String()
}
