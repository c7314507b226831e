package normalize

import (
	"regexp"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// Platforms a report's Sigma rules are written for: the product of their log source.
const (
	PlatformWindows = "windows"
	PlatformLinux   = "linux"
	PlatformMacOS   = "macos"
)

// avPlatform reads the platform from an antivirus detection name (Linux/Ebury.A, OSX/Keydnap.A,
// Win32/Agent.X, MSIL/...), as ESET and others write them.
var avPlatform = regexp.MustCompile(`^(?i:(linux|osx|macos|win32|win64|msil|win))/[A-Za-z]`)

// platform decides which platform a report is about, from what its attributes and objects
// say: ELF objects, Linux/… detection names and POSIX system paths for Linux; Mach-O objects,
// OSX/… names and macOS paths for macOS; PE objects, Win32/… names, registry keys and Windows
// paths for Windows. A report that names Linux or macOS and nothing of Windows is about that
// platform; anything else (nothing said, or a mix) keeps Windows, as before.
func platform(r *report.Normalized) string {
	votes := map[string]int{}
	for _, o := range r.Objects {
		switch o.Name {
		case "elf", "elf-section":
			votes[PlatformLinux]++
		case "macho", "macho-section":
			votes[PlatformMacOS]++
		case "pe", "pe-section", "registry-key":
			votes[PlatformWindows]++
		}
		for _, a := range o.Attributes {
			vote(votes, a)
		}
	}
	for _, a := range r.Attributes {
		vote(votes, a)
	}
	switch {
	case votes[PlatformWindows] > 0:
		return PlatformWindows
	case votes[PlatformMacOS] > votes[PlatformLinux]:
		return PlatformMacOS
	case votes[PlatformLinux] > 0:
		return PlatformLinux
	}
	return PlatformWindows
}

func vote(votes map[string]int, a report.Attribute) {
	v := strings.TrimSpace(a.Value)
	if m := avPlatform.FindStringSubmatch(v); m != nil {
		switch strings.ToLower(m[1]) {
		case "linux":
			votes[PlatformLinux]++
		case "osx", "macos":
			votes[PlatformMacOS]++
		default:
			votes[PlatformWindows]++
		}
		return
	}
	switch {
	case a.Type == "regkey" || a.Type == "regkey|value":
		votes[PlatformWindows]++
	case a.Type == "filename" || a.Type == "text" && (a.Rel() == "fullpath" || a.Rel() == "path"):
		switch {
		case len(v) > 2 && v[1] == ':' && v[2] == '\\', strings.HasPrefix(v, "%"):
			votes[PlatformWindows]++
		case strings.HasPrefix(v, "/Users/"), strings.HasPrefix(v, "/Library/"), strings.HasPrefix(v, "/Applications/"):
			votes[PlatformMacOS]++
		case strings.HasPrefix(v, "/usr/"), strings.HasPrefix(v, "/etc/"), strings.HasPrefix(v, "/lib"), strings.HasPrefix(v, "/var/"), strings.HasPrefix(v, "/tmp/"):
			votes[PlatformLinux]++
		}
	}
}
