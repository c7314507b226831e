package defang

import "testing"

// Defanging marks are undone wherever they occur, not only at the start of a value.
func TestRefang(t *testing.T) {
	for in, want := range map[string]string{
		"hxxps[:]//evil[.]com/a":                           "https://evil.com/a",
		"HXXP://evil(.)com":                                "http://evil.com",
		"https://t.co/?u=hxxps://b[.]com/x":                "https://t.co/?u=https://b.com/x",
		"blob:hxxps://evil[.]com/f":                        "blob:https://evil.com/f",
		"evil[dot]com":                                     "evil.com",
		"1.2.3[.]4":                                        "1.2.3.4",
		"user[@]mail[.]ru":                                 "user@mail.ru",
		"hxxps[://]evil[.]com/p":                           "https://evil.com/p",
		"ahxxp://not-a-scheme":                             "ahxxp://not-a-scheme",
		"  view-source:hxxp://x[.]org/a?next=hxxp://y.org": "view-source:http://x.org/a?next=http://y.org",
	} {
		if got := Refang(in); got != want {
			t.Errorf("Refang(%q) = %q, want %q", in, got, want)
		}
	}
}
