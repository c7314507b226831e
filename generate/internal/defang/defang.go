// Package defang undoes the defanging analysts apply to network indicators so that nothing
// clicks or resolves them (hxxp://evil[.]com), for the stages that read indicators: parse
// types the lines of a plain IOC list by what they hold, normalize checks every value.
package defang

import "strings"

var marks = strings.NewReplacer("[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".",
	"[:]", ":", "[://]", "://", "[at]", "@", "[@]", "@")

// Refang undoes the usual defanging of network indicators: hxxp, [.], (.), {.}, [:], [at].
func Refang(v string) string {
	v = marks.Replace(strings.TrimSpace(v))
	if strings.HasPrefix(strings.ToLower(v), "hxxp") {
		return "http" + v[len("hxxp"):]
	}
	return v
}
