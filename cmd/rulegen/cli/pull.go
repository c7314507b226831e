package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rulegen/rulegen/generate/config"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/source"
)

type pullFlags struct {
	feed, misp  string
	taxii       string
	collection  string
	out         string
	tags        []string
	since       string
	org         string
	published   bool
	toIDs       bool
	threatLevel string
	pageSize    int
	full        bool
	client      source.ClientOptions
	limits      parse.Limits
}

func newPull(stdout, stderr io.Writer) *cobra.Command {
	cmd, _ := newPullWith(stdout, stderr)
	return cmd
}

// newPullWith is newPull, with the flags it parses into.
func newPullWith(stdout, stderr io.Writer) (*cobra.Command, *pullFlags) {
	var f pullFlags
	cmd := &cobra.Command{
		Use:   "pull (--feed URL | --misp URL | --taxii URL --collection ID) --out DIR [flags]",
		Short: "Mirror a MISP feed, a MISP instance or a TAXII collection into a reports directory",
		Long: `pull keeps a reports directory in sync with where intelligence lives, so that
generate reads files a repository commits:
  --feed URL   a MISP feed (URL/manifest.json, URL/<uuid>.json): the manifest is
               asked for with the last pull's ETag, and only events that are new or
               whose timestamp grew are downloaded; events no longer listed go
  --misp URL   a MISP instance, through POST /events/restSearch, with the API key
               from the MISP_KEY environment variable; after the first pull only
               events changed since the newest one pulled are asked for (--full
               asks for all, and removes the events the instance no longer returns)
  --taxii URL  a TAXII 2.1 API root, with --collection ID: the collection's objects,
               a page at a time, with $TAXII_TOKEN (bearer) or $TAXII_USER and
               $TAXII_PASSWORD (basic); later pulls ask for objects added since the
               last one and merge them into DIR/<ID>.stix.json, one STIX bundle
DIR gets one <uuid>.json per event ({"Event": ...}, the same bytes for the same
event) and .rulegen-pull.json, the state the next pull resumes from: commit both.
A pull that fails leaves DIR as it was.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conf, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if f.feed != "" || f.misp != "" || f.taxii != "" || conf == nil || len(conf.Pull) == 0 {
				return runPull(cmd.Context(), stdout, stderr, f)
			}
			return pullConfigured(cmd, conf, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.feed, "feed", "", "pull the MISP feed at `URL`")
	fl.StringVar(&f.misp, "misp", "", "pull from the MISP instance at `URL` (key in $"+source.MISPKeyEnv+")")
	fl.StringVar(&f.taxii, "taxii", "", "pull from the TAXII 2.1 API root at `URL` (with --collection)")
	fl.StringVar(&f.collection, "collection", "", "TAXII: the collection's `ID`")
	fl.StringVarP(&f.out, "out", "o", "reports", "the reports `DIR`")
	fl.StringArrayVar(&f.tags, "tags", nil, "keep events with any of these tags; !tag excludes (repeatable)")
	fl.StringVar(&f.since, "since", "", "keep events changed on or after `DATE` (YYYY-MM-DD, RFC 3339 or Unix seconds)")
	fl.StringVar(&f.org, "org", "", "keep events of this organisation (name or uuid)")
	fl.BoolVar(&f.published, "published", true, "MISP: published events only (false: any)")
	fl.BoolVar(&f.toIDs, "to-ids", true, "MISP: attributes flagged to_ids only (false: all)")
	fl.StringVar(&f.threatLevel, "threat-level", "", "MISP: events of this threat level only: high, medium, low, undefined or 1-4")
	fl.IntVar(&f.pageSize, "page-size", source.DefaultPageSize, "MISP: events asked for at once")
	fl.BoolVar(&f.full, "full", false, "ignore what the last pull remembers: check every event, remove those gone")
	fl.DurationVar(&f.client.Timeout, "timeout", source.DefaultTimeout, "time limit of each request")
	fl.StringVar(&f.client.CAFile, "ca", "", "also trust the PEM certificates in `FILE` (a private CA)")
	fl.Int64Var(&f.client.MaxBytes, "max-bytes", source.DefaultMaxBytes, "largest response accepted")
	fl.IntVar(&f.limits.Depth, "max-depth", parse.DefaultLimits.Depth, "deepest JSON nesting of an event (as generate reads it)")
	fl.IntVar(&f.limits.Attributes, "max-attributes", parse.DefaultLimits.Attributes, "most attributes in one event, objects in one TAXII collection (as generate reads them)")
	return cmd, &f
}

// pullConfigured pulls every source of the configuration in turn, each with its own settings
// and the flags given on the command line over them; it stops at the first that fails.
func pullConfigured(cmd *cobra.Command, conf *config.Config, stdout, stderr io.Writer) error {
	for i, src := range conf.Pull {
		one, f := newPullWith(stdout, stderr)
		where := fmt.Sprintf("%s: pull[%d]", conf.Path, i)
		if len(src["feed"])+len(src["misp"])+len(src["taxii"]) != 1 {
			return usageError{fmt.Errorf("%s: want one source: feed, misp or taxii", where)}
		}
		if err := applySection(one.Flags(), src, where); err != nil {
			return err
		}
		var err error
		cmd.Flags().Visit(func(given *pflag.Flag) { // the command line over the configuration
			g := one.Flags().Lookup(given.Name)
			if g == nil || err != nil {
				return
			}
			if list, ok := given.Value.(pflag.SliceValue); ok {
				err = g.Value.(pflag.SliceValue).Replace(list.GetSlice())
			} else {
				err = g.Value.Set(given.Value.String())
			}
		})
		if err != nil {
			return usageError{err}
		}
		if err := runPull(cmd.Context(), stdout, stderr, *f); err != nil {
			return err
		}
	}
	return nil
}

func runPull(ctx context.Context, stdout, stderr io.Writer, f pullFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	bar := newProgress(stderr)
	defer bar.stop()
	opts.OnTotal, opts.Done = bar.start, bar.inputDone
	var res *source.Result
	switch {
	case f.feed != "":
		res, err = source.PullFeed(ctx, f.feed, opts)
	case f.taxii != "":
		creds := source.TAXIICredentials{Token: os.Getenv(source.TAXIITokenEnv), User: os.Getenv(source.TAXIIUserEnv), Password: os.Getenv(source.TAXIIPasswordEnv)}
		res, err = source.PullTAXII(ctx, f.taxii, f.collection, creds, opts)
	default:
		res, err = source.PullMISP(ctx, f.misp, os.Getenv(source.MISPKeyEnv), opts)
	}
	bar.stop()
	if err != nil {
		return err
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(stdout, "skipped %q: %s\n", s.Event, s.Reason)
	}
	fmt.Fprintln(stdout, res)
	return nil
}

func (f pullFlags) options() (source.Options, error) {
	opts := source.Options{Out: f.out, Full: f.full, PageSize: f.pageSize, Client: f.client, Limits: f.limits}
	given := 0
	for _, src := range []string{f.feed, f.misp, f.taxii} {
		if src != "" {
			given++
		}
	}
	if given != 1 {
		return opts, usageError{fmt.Errorf("pull needs one source: --feed URL, --misp URL or --taxii URL")}
	}
	if (f.taxii != "") != (f.collection != "") {
		return opts, usageError{fmt.Errorf("--taxii and --collection go together")}
	}
	if f.taxii != "" && (len(f.tags) > 0 || f.org != "") {
		return opts, usageError{fmt.Errorf("--tags and --org select MISP events: a TAXII collection has neither")}
	}
	if f.pageSize <= 0 || f.client.Timeout <= 0 || f.client.MaxBytes <= 0 {
		return opts, usageError{fmt.Errorf("--page-size, --timeout and --max-bytes must be positive")}
	}
	opts.Filters = source.Filters{Tags: f.tags, Org: f.org}
	var err error
	if opts.Filters.Since, err = parseSince(f.since); err != nil {
		return opts, usageError{err}
	}
	if f.misp != "" {
		if f.published {
			opts.Filters.Published = &f.published
		}
		if f.toIDs {
			opts.Filters.ToIDs = &f.toIDs
		}
		if opts.Filters.ThreatLevel, err = parseThreatLevel(f.threatLevel); err != nil {
			return opts, usageError{err}
		}
	}
	return opts, nil
}

// parseSince reads --since as a day, a time or Unix seconds.
func parseSince(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("--since %q: want YYYY-MM-DD, an RFC 3339 time or Unix seconds", s)
}

// parseThreatLevel reads MISP's threat levels by name or id.
func parseThreatLevel(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	for i, name := range []string{"high", "medium", "low", "undefined"} {
		if strings.EqualFold(s, name) || s == strconv.Itoa(i+1) {
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("--threat-level %q: want high, medium, low, undefined or 1-4", s)
}
