package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rulegen/rulegen/generate/config"
)

// loadConfig reads --config, or rulegen.yaml when it is there.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	required := path != ""
	if path == "" {
		path = config.DefaultPath
	}
	c, err := config.Load(path, required)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// applySection sets the flags a configuration section names, except those given on the command
// line, which override it. Keys in skip are not flags (generate's inputs).
func applySection(flags *pflag.FlagSet, s config.Section, where string, skip ...string) error {
	for _, key := range s.Keys() {
		if slices.Contains(skip, key) {
			continue
		}
		f := flags.Lookup(key)
		if f == nil || key == "config" || key == "help" {
			return usageError{fmt.Errorf("%s: %s is not a flag of this command", where, key)}
		}
		if f.Changed {
			continue
		}
		for _, v := range s[key] {
			if err := flags.Set(key, v); err != nil {
				return usageError{fmt.Errorf("%s: %s: %v", where, key, err)}
			}
		}
		f.Changed = false // still the configuration's, for the next section
	}
	return nil
}
