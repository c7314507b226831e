// Command synthfeed writes a synthetic MISP feed for benchmarks (see generate/synthfeed), or
// with -publications a repository of vendors' publications and the same values as MISP events,
// with -decode times a plain encoding/json decode of a feed: the baseline generate's speed is
// measured against. -serve serves a feed directory on a local address, as a MISP feed server
// does (an ETag on the manifest), counting requests; -download fetches a served feed with one
// plain HTTP client: the baseline pull's speed is measured against.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
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
	serve := flag.String("serve", "", "serve the feed in DIR on `ADDR` (127.0.0.1:0 picks a port; the address is printed), GET /_requests counts requests")
	download := flag.String("download", "", "download the feed at `URL` into DIR with one plain client and print the seconds it took")
	edit := flag.Int("edit", 0, "edit `N` events of the feed in DIR as their publisher would: a new domain, a later timestamp")
	publications := flag.Int("publications", 0, "write `N` vendors' publications into DIR/publications and the same values as MISP events into DIR/misp")
	hashlist := flag.Int("hashlist", 0, "write a bulk hash list of `N` lines (sha256sum's \"hash  name\", as malware databases publish them) to DIR/samples.sha256")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: synthfeed [-events N] [-attributes N] [-seed N] DIR\n       synthfeed -decode DIR\n       synthfeed -event KIND -count N FILE\n       synthfeed -event KIND -count N -split EVENTS DIR\n       synthfeed -serve ADDR DIR\n       synthfeed -download URL DIR\n       synthfeed -edit N DIR\n       synthfeed -publications N DIR")
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
	if *serve != "" {
		fail(serveFeed(*serve, dir))
		return
	}
	if *edit > 0 {
		fail(editFeed(dir, *edit))
		return
	}
	if *hashlist > 0 {
		fail(synthfeed.WriteHashList(filepath.Join(dir, "samples.sha256"), *hashlist, *seed))
		return
	}
	if *publications > 0 {
		fail(synthfeed.WritePublications(dir, *publications, *seed))
		return
	}
	if *download != "" {
		fail(downloadFeed(*download, dir))
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

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "synthfeed:", err)
		os.Exit(1)
	}
}

// serveFeed serves dir's files, with an ETag on manifest.json, and counts the requests.
func serveFeed(addr, dir string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(manifest)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	var requests atomic.Int64
	files := http.FileServer(http.Dir(dir))
	fmt.Printf("http://%s\n", ln.Addr())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_requests" {
			fmt.Fprintln(w, requests.Load())
			return
		}
		requests.Add(1)
		if r.URL.Path == "/manifest.json" {
			w.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		files.ServeHTTP(w, r)
	}))
}

// downloadFeed fetches the manifest and then every event it lists, one after the other, with
// one client, and writes them into dir as they come: what any script would do.
func downloadFeed(base, dir string) error {
	start := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	get := func(name string) ([]byte, error) {
		resp, err := http.Get(base + "/" + name)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s", name, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}
	data, err := get("manifest.json")
	if err != nil {
		return err
	}
	var manifest map[string]json.RawMessage
	if err := json.Unmarshal(data, &manifest); err != nil {
		return err
	}
	for id := range manifest {
		body, err := get(id + ".json")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, id+".json"), body, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%.3f\n", time.Since(start).Seconds())
	return nil
}

// editFeed edits the first n events of the feed in dir (in file name order): each gets a new
// domain attribute and a timestamp one hour later, in the event file and the manifest.
func editFeed(dir string, n int) error {
	files, err := filepath.Glob(filepath.Join(dir, "*-*.json"))
	if err != nil {
		return err
	}
	manifestPath := filepath.Join(dir, "manifest.json")
	data, err := os.ReadFile(manifestPath)
	if err != nil {
		return err
	}
	var manifest map[string]map[string]any
	if err := json.Unmarshal(data, &manifest); err != nil {
		return err
	}
	for i, f := range files[:min(n, len(files))] {
		var doc map[string]map[string]any
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		ev := doc["Event"]
		ts := fmt.Sprint(ev["timestamp"])
		var sec int64
		fmt.Sscan(ts, &sec)
		ev["timestamp"] = fmt.Sprint(sec + 3600)
		attrs, _ := ev["Attribute"].([]any)
		ev["Attribute"] = append(attrs, map[string]any{"type": "domain", "category": "Network activity", "to_ids": true,
			"value": fmt.Sprintf("edited-%d.c2-synthetic.net", i), "uuid": fmt.Sprintf("00000000-0000-4000-8000-%012d", i)})
		out, _ := json.Marshal(doc)
		if err := os.WriteFile(f, out, 0o644); err != nil {
			return err
		}
		if m := manifest[ev["uuid"].(string)]; m != nil {
			m["timestamp"] = ev["timestamp"]
		}
	}
	out, _ := json.Marshal(manifest)
	return os.WriteFile(manifestPath, out, 0o644)
}
