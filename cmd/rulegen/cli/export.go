package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rulegen/rulegen/generate/export"
)

func newExport(stdout io.Writer) *cobra.Command {
	var opts export.Options
	cmd := &cobra.Command{
		Use:   "export --target TARGET [flags] [DIR]",
		Short: "Write what a SIEM or EDR imports from a rules directory, with what to delete",
		Long: `export reads a rules directory as generate wrote it (default: rules) and writes what
the target imports into --out (default: export/TARGET):
  elastic      Elastic Security: rules.ndjson for the detection engine's rule import
               (POST /api/detection_engine/rules/_import), each Sigma rule converted by
               pySigma's Lucene backend (ecs_windows), with its id, severity, ATT&CK
               tactics and techniques, and a version that rises when its query changes
               (--language eql: EQL rules from pySigma's EQL backend)
  splunk       a Splunk app: default/app.conf and default/savedsearches.conf, a scheduled
               search per Sigma rule (named by its id, so a new title keeps it), its SPL
               from pySigma's Splunk backend (splunk_windows), severity and ATT&CK annotations
  sentinel     Microsoft Sentinel: <id>.yaml, a scheduled analytics rule per Sigma rule as
               Azure-Sentinel's Detections/ holds them, its KQL from pySigma's Kusto backend
               (sentinel_asim, with rulegen's tables for DNS and firewall logs)
  mde          Microsoft Defender for Endpoint: indicators-NNN.csv, the portal's import
               (500 indicators a file)
  crowdstrike  CrowdStrike Falcon: indicators-NNN.json, bodies of the IOC API's create
               request (200 a file)
A rule whose query is past the platform's limit (elastic: 1,024 clauses; sentinel: 10,000
characters) is exported as parts within it, each a rule with its share of the values. A
Windows process rule of more hashes than a query keeps (elastic, splunk: 8,000; sentinel:
1,000) puts them in the platform's indicator store, looked up by one rule: elastic an
indicator match rule over the index rulegen-indicators (indicators.ndjson, its bulk body),
splunk the app's lookup rulegen_indicators, sentinel a watchlist (watchlist-<alias>.csv).
elastic, splunk and sentinel convert with pySigma: --python names a Python that has it.
Each indicator keeps the expiry generate gave it; one already expired is left out. What the
target cannot express is listed in unsupported.tsv with the reason. delete.csv, .json or .txt
lists what the last export into the same directory deployed and this one does not (reports
and rules retired by --prune, indicators expired): a deploy step deletes those.`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Rules = rulesDir(args)
			if opts.Out == "" {
				opts.Out = filepath.Join("export", opts.Target)
			}
			res, err := export.Export(opts)
			if err != nil {
				return err
			}
			if export.WritesDetections(opts.Target) {
				fmt.Fprintf(stdout, "%s: %d rules of %d Sigma rules (%d in parts, %d with a store of hashes) in %s (%s)",
					opts.Target, res.Rules, res.Sigma, res.Split, res.Stored, opts.Out, fileList(res.Files))
			} else {
				fmt.Fprintf(stdout, "%s: %d reports, %d indicators in %s (%s)", opts.Target, res.Reports, res.Indicators, opts.Out, fileList(res.Files))
			}
			fmt.Fprintf(stdout, "; %d the target cannot take, %d expired, %d to delete\n", res.Unsupported, res.Expired, res.Deletions)
			for _, w := range res.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "rulegen: warning: %s\n", w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Target, "target", "", "what to write for: "+strings.Join(export.Targets(), ", "))
	cmd.Flags().StringVar(&opts.Out, "out", "", "directory to write into (default export/TARGET)")
	cmd.Flags().StringVar(&opts.AsOf, "as-of", "", "judge expiry as of this day, YYYY-MM-DD (default today)")
	cmd.Flags().StringVar(&opts.Action, "action", "", "the target's action for every indicator (mde: Audit, Warn, Block, BlockAndRemediate, Allowed; crowdstrike: detect, prevent, no_action; default the first)")
	cmd.Flags().StringVar(&opts.Python, "python", "python3", "elastic, splunk, sentinel: the Python that has pySigma and the backend ("+
		export.PySigmaPins("elastic")+"; "+export.PySigmaPins("splunk")+"; "+export.PySigmaPins("sentinel")+")")
	cmd.Flags().StringSliceVar(&opts.Index, "index", export.DefaultElasticIndex, "elastic: the index patterns the rules search")
	cmd.Flags().StringVar(&opts.Language, "language", "lucene", "elastic: the rules' query language, lucene or eql (pySigma's EQL backend)")
	cmd.Flags().StringVar(&opts.License, "license", "", "elastic: the rules' license, as the repository gives it (e.g. DRL-1.1)")
	cmd.MarkFlagRequired("target")
	return cmd
}

// fileList names the files an export wrote: all of a few, the count and the first and last of
// many (a bulk export writes hundreds).
func fileList(files []string) string {
	if len(files) <= 4 {
		return strings.Join(files, ", ")
	}
	return fmt.Sprintf("%d files: %s … %s", len(files), files[0], files[len(files)-1])
}
