// Command rulegen turns threat reports into YARA and Sigma rules and proves them.
package main

import (
	"os"
	"runtime/debug"

	"github.com/rulegen/rulegen/cmd/rulegen/cli"
)

// softMemoryLimit is the Go heap rulegen aims to stay under unless GOMEMLIMIT says otherwise.
// A bulk list of a million hashes holds about 620 MB while its YARA is checked: the limit
// leaves the collector room above that (at 640 MiB it ran back to back, and time grew faster
// than the list), and its peak, when the rendered YARA is read back, stays under 1 GiB
// (docs/benchmarks.md).
const softMemoryLimit = 768 << 20

func main() {
	if os.Getenv("GOGC") == "" {
		// A run's data dies report by report: a less eager collector trades a little peak
		// memory for CPU (docs/benchmarks.md).
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The lazy collector's price is a heap up to five times what is live: past this soft
		// limit the collector works harder instead, so that a bulk list of a million hashes
		// peaks under 1 GiB (docs/benchmarks.md). Runs that need more still get it.
		debug.SetMemoryLimit(softMemoryLimit)
	}
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
