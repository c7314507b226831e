package domainname_test

import (
	"testing"

	"github.com/rulegen/rulegen/generate/internal/domainname"
)

// Names under an ICANN public suffix are domains; dotted words that end in a file extension,
// a private suffix's bare name or no suffix at all are not.
func TestRegistrable(t *testing.T) {
	for name, want := range map[string]bool{
		"k5j.one": true, "evil.co.uk": true, "x.y.evil.com": true, "abc.onion": true, "EVIL.COM.": true, "msazure.azdatastore.workers.dev": true, "172-235-56-113.plesk.page": true, "workers.dev": true,
		"loader.go": false, "ventanas.txt": false, "assorted.csv": false, "temp.periscope": false,
		"co.uk": false, "com": false, "update.exe": false, "payload.dll": false, "corp.local": false,
	} {
		if _, got := domainname.Registrable(name); got != want {
			t.Errorf("Registrable(%q) = %v, want %v", name, got, want)
		}
	}
}
