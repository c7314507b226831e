// Command synthfeed writes a synthetic MISP feed for benchmarks (see generate/synthfeed), or
// with -decode times a plain encoding/json decode of a feed: the baseline generate's speed is
// measured against.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rulegen/rulegen/generate/synthfeed"
)

func main() {
	events := flag.Int("events", 10000, "events to write")
	attributes := flag.Int("attributes", 1000000, "attributes to write, in total")
	seed := flag.Uint64("seed", 1, "random seed: the same seed writes the same feed")
	decode := flag.Bool("decode", false, "time a plain encoding/json decode of the feed in DIR instead of writing one")
	event := flag.String("event", "", "write one event of `KIND` (hashes, hashes-nosize, domains) with -count indicators to the file given instead of DIR")
	count := flag.Int("count", 1000, "indicators in the -event")
	split := flag.Int("split", 1, "spread the -event's indicators over this many events, written into the directory given")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: synthfeed [-events N] [-attributes N] [-seed N] DIR\n       synthfeed -decode DIR\n       synthfeed -event KIND -count N FILE\n       synthfeed -event KIND -count N -split EVENTS DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	dir := flag.Arg(0)
	if *event != "" {
		write := func() error { return synthfeed.WriteEvent(dir, *event, *count, *seed) }
		if *split > 1 {
			write = func() error { return synthfeed.WriteEvents(dir, *event, *count, *split, *seed) }
		}
		if err := write(); err != nil {
			fmt.Fprintln(os.Stderr, "synthfeed:", err)
			os.Exit(1)
		}
		return
	}
	if *decode {
		if err := timeDecode(dir); err != nil {
			fmt.Fprintln(os.Stderr, "synthfeed:", err)
			os.Exit(1)
		}
		return
	}
	n, err := synthfeed.Write(dir, synthfeed.Size{Events: *events, Attributes: *attributes, Seed: *seed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "synthfeed:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d events, %d attributes to %s\n", *events, n, dir)
}

// timeDecode decodes every event file of a feed with encoding/json into generic values, one
// file at a time on one core, and prints the seconds it took.
func timeDecode(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*-*.json"))
	if err != nil {
		return err
	}
	start := time.Now()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	fmt.Printf("%.3f\n", time.Since(start).Seconds())
	return nil
}
