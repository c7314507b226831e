package source_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/source"
)

// quick are the client settings of the tests: real retries, short waits.
var quick = source.ClientOptions{Timeout: 2 * time.Second, Backoff: time.Millisecond, Attempts: 3}

func pullFeed(t *testing.T, s *feedServer, out string, f source.Filters) (*source.Result, error) {
	t.Helper()
	return source.PullFeed(context.Background(), s.URL+"/feed", source.Options{Out: out, Filters: f, Client: quick})
}

// snapshot maps every file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

func sameTree(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := snapshot(t, dir)
	if len(got) != len(want) {
		t.Errorf("%s holds %d files, want %d", dir, len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s changed", k)
		}
	}
}

// A first pull downloads the manifest and every event; a second of an unchanged feed makes one
// request and changes nothing; an edited event is the only one downloaded again; an event gone
// from the manifest is removed.
func TestPullFeedIncremental(t *testing.T) {
	s := newFeedServer(t, false)
	out := filepath.Join(t.TempDir(), "reports")
	ids := s.ids()

	res, err := pullFeed(t, s, out, source.Filters{})
	if err != nil {
		t.Fatal(err)
	}
	if res.New != len(ids) || s.total() != len(ids)+1 || res.Requests != int64(len(ids)+1) {
		t.Fatalf("first pull: %s; %d requests to the server for %d events", res, s.total(), len(ids))
	}
	for _, id := range ids {
		data, err := os.ReadFile(filepath.Join(out, id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Event map[string]any }
		if err := json.Unmarshal(data, &doc); err != nil || doc.Event["uuid"] != id {
			t.Fatalf("%s.json is not its event: %v", id, err)
		}
		want, _ := json.Marshal(s.events[id])
		got, _ := json.Marshal(doc.Event)
		if string(want) != string(got) {
			t.Errorf("%s.json differs from the event the feed serves", id)
		}
	}
	first := snapshot(t, out)

	s.reset()
	res, err = pullFeed(t, s, out, source.Filters{})
	if err != nil || !res.NotModified || s.total() != 1 || res.Unchanged != len(ids) {
		t.Fatalf("no-change pull: %v %v, %d requests", res, err, s.total())
	}
	sameTree(t, out, first)

	s.reset()
	s.edit(ids[2])
	res, err = pullFeed(t, s, out, source.Filters{})
	if err != nil || res.Changed != 1 || res.New != 0 || s.total() != 2 || s.count("/feed/"+ids[2]+".json") != 1 {
		t.Fatalf("one event edited: %v %v, requests %v", res, err, s.requests)
	}
	if b, _ := os.ReadFile(filepath.Join(out, ids[2]+".json")); !strings.Contains(string(b), "added-later.example-c2.net") {
		t.Error("the edited event was not written")
	}

	s.reset()
	s.remove(ids[0])
	res, err = pullFeed(t, s, out, source.Filters{})
	if err != nil || res.Removed != 1 || s.total() != 1 {
		t.Fatalf("one event removed: %v %v, %d requests", res, err, s.total())
	}
	if _, err := os.Stat(filepath.Join(out, ids[0]+".json")); err == nil {
		t.Error("the removed event's file stayed")
	}

	// The same events always give the same bytes: a fresh pull writes the tree again.
	again := filepath.Join(t.TempDir(), "reports")
	if _, err := pullFeed(t, s, again, source.Filters{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, again, snapshot(t, out))
}

// Without an ETag the manifest is the one request of a pull that finds nothing new.
func TestPullFeedWithoutETag(t *testing.T) {
	s := newFeedServer(t, false)
	s.noETag = true
	out := t.TempDir()
	if _, err := pullFeed(t, s, out, source.Filters{}); err != nil {
		t.Fatal(err)
	}
	s.reset()
	res, err := pullFeed(t, s, out, source.Filters{})
	if err != nil || res.NotModified || res.Unchanged != len(s.ids()) || s.total() != 1 {
		t.Fatalf("%v %v, %d requests", res, err, s.total())
	}
}

// Filters select by tag (any listed, none excluded), organisation and manifest timestamp; a
// pull with other filters mirrors its own selection.
func TestPullFeedFilters(t *testing.T) {
	s := newFeedServer(t, false)
	count := func(pick func(map[string]any) bool) int {
		n := 0
		for _, ev := range s.events {
			if pick(ev) {
				n++
			}
		}
		return n
	}
	tagged := func(ev map[string]any, name string) bool {
		tags, _ := ev["Tag"].([]any)
		for _, t := range tags {
			if t.(map[string]any)["name"] == name {
				return true
			}
		}
		return false
	}
	org := func(ev map[string]any) string {
		o, _ := ev["Orgc"].(map[string]any)
		s, _ := o["name"].(string)
		return s
	}
	for _, tc := range []struct {
		name string
		f    source.Filters
		want int
	}{
		{"tag", source.Filters{Tags: []string{"tlp:white"}}, count(func(ev map[string]any) bool { return tagged(ev, "tlp:white") })},
		{"not tag", source.Filters{Tags: []string{"!tlp:white"}}, count(func(ev map[string]any) bool { return !tagged(ev, "tlp:white") })},
		{"org", source.Filters{Org: "CIRCL"}, count(func(ev map[string]any) bool { return org(ev) == "CIRCL" })},
		{"since", source.Filters{Since: 1590000000}, count(func(ev map[string]any) bool { return timestampOf(ev) >= 1590000000 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == 0 || tc.want == len(s.events) {
				t.Fatalf("a filter that selects %d of %d events tests nothing", tc.want, len(s.events))
			}
			out := t.TempDir()
			if _, err := pullFeed(t, s, out, source.Filters{}); err != nil {
				t.Fatal(err)
			}
			res, err := pullFeed(t, s, out, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(out, "[0-9a-f]*-*.json"))
			if len(files) != tc.want || res.Removed != len(s.events)-tc.want {
				t.Errorf("%d event files, %d removed; want %d kept", len(files), res.Removed, tc.want)
			}
		})
	}
}

// Every failure stops the pull with a message naming the URL, and leaves the directory exactly
// as it was.
func TestPullFeedFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		path  string // "" the manifest
		hook  func(t *testing.T, s *feedServer) http.HandlerFunc
		says  string
		tries int
	}{
		{"server error", "", status(http.StatusServiceUnavailable), "503 Service Unavailable (after 3 attempts)", 3},
		{"busy", "", status(http.StatusTooManyRequests), "429 Too Many Requests (after 3 attempts)", 3},
		{"refused", "", status(http.StatusForbidden), "403 Forbidden: access refused", 1},
		{"missing event", "event", status(http.StatusNotFound), "404 Not Found", 1},
		{"login page", "", body("text/html", "<!DOCTYPE html><html><form action=/users/login>"), "an HTML page", 1},
		{"login page as JSON", "event", body("application/json", "\n<html><body>Login</body></html>"), "an HTML page", 1},
		{"truncated JSON", "event", body("application/json", `{"Event": {"uuid": "`), "not a MISP event", 1},
		{"broken connection", "event", truncated, "broke off", 3},
		{"not an event", "event", body("application/json", `{"response": []}`), `no "Event" object`, 1},
		{"too large", "event", body("application/json", `{"Event": {"info": "`+strings.Repeat("x", 100000)+`"}}`), "more than the limit", 1},
		{"slow", "", slow, "timed out", 3},
		{"vendor index", "", body("application/json", `{"version": "1", "description": "our feeds", "feeds": []}`), `not a MISP feed manifest: its keys ("description", "feeds", "version") are not event uuids`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFeedServer(t, false)
			out := t.TempDir()
			if _, err := pullFeed(t, s, out, source.Filters{}); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, out)
			victim := s.ids()[1]
			s.edit(victim)
			path := "/feed/manifest.json"
			if tc.path == "event" {
				path = "/feed/" + victim + ".json"
			}
			s.hooks[path] = tc.hook(t, s)
			s.reset()
			opts := source.Options{Out: out, Client: quick}
			opts.Client.MaxBytes = 4096 + int64(len(s.manifest()))
			opts.Client.Timeout = 200 * time.Millisecond
			_, err := source.PullFeed(context.Background(), s.URL+"/feed", opts)
			if err == nil || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), s.URL+path) {
				t.Fatalf("error %v, want one naming %s and saying %q", err, s.URL+path, tc.says)
			}
			if got := s.count(path); got != tc.tries {
				t.Errorf("%d requests to %s, want %d", got, path, tc.tries)
			}
			sameTree(t, out, before)
		})
	}
}

func status(code int) func(*testing.T, *feedServer) http.HandlerFunc {
	return func(*testing.T, *feedServer) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Error(w, http.StatusText(code), code) }
	}
}

func body(contentType, text string) func(*testing.T, *feedServer) http.HandlerFunc {
	return func(*testing.T, *feedServer) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Write([]byte(text))
		}
	}
}

// truncated promises more bytes than it sends and closes the connection.
func truncated(*testing.T, *feedServer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2000")
		w.Write([]byte(`{"Event": {"uuid": `))
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
		}
	}
}

func slow(t *testing.T, _ *feedServer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}
}

// A manifest key that is not a uuid never becomes a path: it is skipped with the reason.
func TestPullFeedHostileManifest(t *testing.T) {
	s := newFeedServer(t, false)
	s.extra = map[string]any{"../../escaped": map[string]any{"timestamp": "1"}, "a/b": map[string]any{"timestamp": "1"}, "..": map[string]any{}}
	parent := t.TempDir()
	out := filepath.Join(parent, "reports")
	res, err := pullFeed(t, s, out, source.Filters{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 3 || res.New != len(s.ids()) {
		t.Fatalf("%s: skipped %v", res, res.Skipped)
	}
	for _, sk := range res.Skipped {
		if sk.Reason != "manifest key is not an event uuid" {
			t.Errorf("skip %+v", sk)
		}
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("something was written beside the reports directory: %v", entries)
	}
	for _, p := range []string{"escaped.json", "a", "b.json"} {
		if _, err := os.Stat(filepath.Join(out, p)); err == nil {
			t.Errorf("%s was written", p)
		}
	}
}

// TLS is verified: a server whose certificate is not trusted is refused; --ca trusts it.
func TestPullFeedTLS(t *testing.T) {
	s := newFeedServer(t, true)
	out := t.TempDir()
	_, err := pullFeed(t, s, out, source.Filters{})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusted certificate was accepted: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o644)
	opts := source.Options{Out: out, Client: quick}
	opts.Client.CAFile = ca
	res, err := source.PullFeed(context.Background(), s.URL+"/feed", opts)
	if err != nil || res.New != len(s.ids()) {
		t.Fatalf("%v %v", res, err)
	}
}

// The bundled cut of a real feed, served as it is, pulls to the same events.
func TestPullRealFeed(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "feeds", "chrome-mal-ids")
	srv := newStaticServer(t, root)
	out := t.TempDir()
	res, err := source.PullFeed(context.Background(), srv.URL, source.Options{Out: out, Client: quick})
	if err != nil || res.New != 3 {
		t.Fatalf("%v %v", res, err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "*-*.json"))
	for _, f := range files {
		var want, got any
		a, _ := os.ReadFile(f)
		b, err := os.ReadFile(filepath.Join(out, filepath.Base(f)))
		json.Unmarshal(a, &want)
		json.Unmarshal(b, &got)
		wa, _ := json.Marshal(want)
		ga, _ := json.Marshal(got)
		if err != nil || string(wa) != string(ga) {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
	if !errors.Is(err, nil) {
		t.Fatal(err)
	}
}

// A pull holds what it downloads to generate's input limits: an event with more attributes
// than --max-attributes, or nested deeper than --max-depth, is skipped with the reason and
// never written, and the other events are kept.
func TestPullFeedHoldsGenerateLimits(t *testing.T) {
	s := newFeedServer(t, false)
	const limit = 20
	over := map[string]bool{}
	for id, ev := range s.events {
		n := 0
		if a, ok := ev["Attribute"].([]any); ok {
			n += len(a)
		}
		if objects, ok := ev["Object"].([]any); ok {
			for _, o := range objects {
				a, _ := o.(map[string]any)["Attribute"].([]any)
				n += len(a)
			}
		}
		over[id] = n > limit
	}
	out := t.TempDir()
	res, err := source.PullFeed(context.Background(), s.URL+"/feed", source.Options{Out: out, Client: quick, Limits: parse.Limits{Attributes: limit}})
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]string{}
	for _, sk := range res.Skipped {
		skipped[sk.Event] = sk.Reason
	}
	for id, isOver := range over {
		_, err := os.Stat(filepath.Join(out, id+".json"))
		switch {
		case isOver && (err == nil || !strings.Contains(skipped[id], "more than the limit of 20 (--max-attributes)")):
			t.Errorf("%s: over the limit, written %v, skipped %q", id, err == nil, skipped[id])
		case !isOver && err != nil:
			t.Errorf("%s: within the limit, not written: %v (%s)", id, err, skipped[id])
		}
	}
	if len(skipped) == 0 || len(skipped) == len(over) {
		t.Fatalf("%d of %d events skipped: the limit tests nothing", len(skipped), len(over))
	}
	res, err = source.PullFeed(context.Background(), s.URL+"/feed", source.Options{Out: t.TempDir(), Client: quick, Limits: parse.Limits{Depth: 2}})
	if err != nil || len(res.Skipped) != len(over) || !strings.Contains(res.Skipped[0].Reason, "nested more than 2 levels deep (--max-depth)") {
		t.Errorf("--max-depth 2: %v, skipped %+v", err, res.Skipped)
	}
}
