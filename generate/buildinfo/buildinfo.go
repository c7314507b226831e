// Package buildinfo says which rulegen this is: the version it was built as, the commit, the Go
// toolchain and the libyara it links, so that a rules tree can be traced to its writer.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/rulegen/rulegen/generate/yara"
)

// version and commit are set by the Makefile's builds (-ldflags -X): the tag the tree is at
// (or "devel") and the revision, "-dirty" when the tree had changes.
var version, commit string

// Info describes this build.
type Info struct {
	Version string `json:"version"` // a tag or module version, or "devel"
	Commit  string `json:"commit"`  // the VCS revision, "-dirty" when the tree had changes; "unknown" if not recorded
	Go      string `json:"go"`
	Libyara string `json:"libyara"` // the libyara version linked; "none" in a build without cgo
}

// Read returns what this binary knows of its build.
func Read() Info {
	info := Info{Version: version, Commit: commit, Go: runtime.Version(), Libyara: yara.LibraryVersion()}
	if info.Libyara == "" {
		info.Libyara = "none"
	}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version // go install …@vX.Y.Z
		}
		var revision, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if revision != "" && info.Commit == "" {
			info.Commit = revision
			if modified == "true" {
				info.Commit += "-dirty"
			}
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// String is the one-line form `rulegen version` prints.
func (i Info) String() string {
	return fmt.Sprintf("rulegen %s (commit %s, %s, libyara %s)", i.Version, i.Commit, i.Go, i.Libyara)
}
