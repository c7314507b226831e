package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rulegen/rulegen/generate/buildinfo"
)

func newVersion(stdout io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print rulegen's version, commit, Go version and the libyara it links",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return printVersion(stdout, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print it as JSON")
	return cmd
}

func printVersion(w io.Writer, asJSON bool) error {
	info := buildinfo.Read()
	if !asJSON {
		_, err := fmt.Fprintln(w, info)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(info)
}
