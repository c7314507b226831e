// Command rulegen turns threat reports into YARA and Sigma rules and proves them.
package main

import (
	"os"
	"runtime/debug"

	"github.com/rulegen/rulegen/cmd/rulegen/cli"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// A run's data dies report by report: a less eager collector trades a little peak
		// memory for CPU (docs/benchmarks.md).
		debug.SetGCPercent(400)
	}
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
