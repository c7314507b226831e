// Command rulegen turns threat reports into YARA and Sigma rules and proves them.
package main

import (
	"os"

	"github.com/rulegen/rulegen/cmd/rulegen/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
