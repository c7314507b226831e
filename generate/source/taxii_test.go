package source_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/source"
)

const (
	taxiiCollection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	taxiiToken      = "taxii-secret-token-5d1c"
)

// taxiiServer is a TAXII 2.1 server on 127.0.0.1 that serves the bundled STIX bundles'
// objects from one collection, in pages, in the order they were added.
type taxiiServer struct {
	*httptest.Server
	mu      sync.Mutex
	objects []json.RawMessage
	added   []time.Time
	mode    string // "": pages with next; "no-next": more without next; "bundle": one bundle
	asked   []string
}

func newTAXIIServer(t *testing.T, bundles ...string) *taxiiServer {
	s := &taxiiServer{}
	s.add(t, time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC), bundles...)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// add adds the objects of bundles, one millisecond apart from at.
func (s *taxiiServer) add(t *testing.T, at time.Time, bundles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range bundles {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "stix", name))
		if err != nil {
			t.Fatal(err)
		}
		var b struct{ Objects []json.RawMessage }
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		for _, o := range b.Objects {
			at = at.Add(time.Millisecond)
			s.objects, s.added = append(s.objects, o), append(s.added, at)
		}
	}
}

func (s *taxiiServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, r.URL.RawQuery)
	switch {
	case r.URL.Path != "/api/collections/"+taxiiCollection+"/objects/":
		http.NotFound(w, r)
		return
	case r.Header.Get("Authorization") != "Bearer "+taxiiToken:
		http.Error(w, `{"title": "unauthorized"}`, http.StatusUnauthorized)
		return
	case r.Header.Get("Accept") != source.TAXIIMediaType:
		http.Error(w, `{"title": "not acceptable"}`, http.StatusNotAcceptable)
		return
	}
	q := r.URL.Query()
	after := time.Time{}
	if v := q.Get("added_after"); v != "" {
		var err error
		if after, err = time.Parse(time.RFC3339Nano, v); err != nil {
			http.Error(w, `{"title": "bad added_after"}`, http.StatusBadRequest)
			return
		}
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	start, _ := strconv.Atoi(q.Get("next"))
	var page []json.RawMessage
	var dates []time.Time
	for i, o := range s.objects {
		if s.added[i].After(after) {
			page, dates = append(page, o), append(dates, s.added[i])
		}
	}
	page, dates = page[min(start, len(page)):], dates[min(start, len(dates)):]
	more := limit > 0 && len(page) > limit && s.mode != "bundle"
	if more {
		page, dates = page[:limit], dates[:limit]
	}
	w.Header().Set("Content-Type", source.TAXIIMediaType)
	if len(dates) > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", dates[0].Format(time.RFC3339Nano))
		w.Header().Set("X-TAXII-Date-Added-Last", dates[len(dates)-1].Format(time.RFC3339Nano))
	}
	body := map[string]any{"more": more, "objects": page}
	switch {
	case s.mode == "bundle":
		body = map[string]any{"type": "bundle", "id": "bundle--6ad7d4a4-0000-4000-8000-000000000001", "objects": page}
	case more && s.mode != "no-next":
		body["next"] = strconv.Itoa(start + limit)
	}
	json.NewEncoder(w).Encode(body)
}

func pullTAXII(t *testing.T, s *taxiiServer, out string, creds source.TAXIICredentials) (*source.Result, error) {
	t.Helper()
	return source.PullTAXII(context.Background(), s.URL+"/api/", taxiiCollection, creds,
		source.Options{Out: out, PageSize: 40, Client: quick})
}

var bearer = source.TAXIICredentials{Token: taxiiToken}

// readReports parses the collection the pull kept, as generate would.
func readReports(t *testing.T, out string) []*report.Report {
	t.Helper()
	var reports []*report.Report
	err := parse.ReadFile(filepath.Join(out, source.CollectionFile(taxiiCollection)), parse.Options{}, func(r *report.Report) error {
		reports = append(reports, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return reports
}

func TestTAXIIPull(t *testing.T) {
	s := newTAXIIServer(t, "talos_2024-10_gophish_powerrat_dcrat_stix20.json", "oasis_examples_threat-reports_apt1.json")
	total := len(s.objects)
	out := t.TempDir()
	res, err := pullTAXII(t, s, out, bearer)
	if err != nil {
		t.Fatal(err)
	}
	pages := (total + 39) / 40
	if res.New != total || res.Requests != int64(pages) {
		t.Errorf("first pull: %s; want %d new objects in %d requests", res, total, pages)
	}
	reports := readReports(t, out)
	// The bundle is written sorted by id: Talos's report, then APT1's.
	if len(reports) != 2 || reports[0].Title != "Threat actor abuses Gophish to deliver new PowerRAT and DCRAT" ||
		reports[1].Title != "APT1: Exposing One of China's Cyber Espionage Units" || len(reports[0].Attributes) < 40 {
		t.Fatalf("%d reports from the pulled collection", len(reports))
	}
	first, _ := os.ReadFile(filepath.Join(out, source.CollectionFile(taxiiCollection)))

	// Nothing added: one request, asking from the last date added; the bytes stay.
	s.asked = nil
	res, err = pullTAXII(t, s, out, bearer)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified || res.Requests != 1 || !strings.Contains(s.asked[0], url.Values{"added_after": {s.added[total-1].Format(time.RFC3339Nano)}}.Encode()) {
		t.Errorf("a pull with nothing new: %s, asked %q", res, s.asked)
	}
	if again, _ := os.ReadFile(filepath.Join(out, source.CollectionFile(taxiiCollection))); string(again) != string(first) {
		t.Error("a pull with nothing new changed the collection file")
	}

	// A report added later, served without next: the pull pages by date added and merges.
	s.add(t, time.Date(2024, 11, 2, 0, 0, 0, 0, time.UTC), "oasis_examples_threat-reports_poisonivy.json")
	s.mode = "no-next"
	added := len(s.objects) - total
	res, err = pullTAXII(t, s, out, bearer)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != added || res.Unchanged != total {
		t.Errorf("a pull after %d objects were added: %s", added, res)
	}
	if reports := readReports(t, out); len(reports) != 3 {
		t.Errorf("%d reports after the Poison Ivy report was added, want 3", len(reports))
	}

	// The bundle removed by hand: the next pull asks for everything again.
	if err := os.Remove(filepath.Join(out, source.CollectionFile(taxiiCollection))); err != nil {
		t.Fatal(err)
	}
	s.asked = nil
	if res, err = pullTAXII(t, s, out, bearer); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.asked[0], "added_after") || len(readReports(t, out)) != 3 {
		t.Errorf("a pull without the last bundle: %s, asked %q", res, s.asked)
	}
}

func TestTAXIIServedAsOneBundle(t *testing.T) {
	s := newTAXIIServer(t, "talos_2024-08_netsupport_rat_stix20.json")
	s.mode = "bundle"
	out := t.TempDir()
	if _, err := pullTAXII(t, s, out, bearer); err != nil {
		t.Fatal(err)
	}
	if r := readReports(t, out); len(r) != 1 || r[0].Title != "Detecting evolving threats: NetSupport RAT campaign" {
		t.Errorf("reports %v", r)
	}
}

// A refused, broken or hostile answer fails the pull, names the URL, never shows the
// credentials, and leaves the directory as it was.
func TestTAXIIFailures(t *testing.T) {
	s := newTAXIIServer(t, "talos_2024-08_netsupport_rat_stix20.json")
	out := t.TempDir()
	if _, err := pullTAXII(t, s, out, bearer); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out)
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>login</html>")
	}))
	defer html.Close()
	notSTIX := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"more": false, "objects": [{"title": "error"}]}`)
	}))
	defer notSTIX.Close()
	for _, c := range []struct {
		name, url string
		creds     source.TAXIICredentials
		want      string
	}{
		{"wrong token", s.URL, source.TAXIICredentials{Token: "wrong-token-77"}, "401 Unauthorized"},
		{"basic and token", s.URL, source.TAXIICredentials{Token: "token-and-basic-3f", User: "u", Password: "secret-pw-91"}, "either TAXII_TOKEN or TAXII_USER"},
		{"basic refused", s.URL, source.TAXIICredentials{User: "u", Password: "secret-pw-91"}, "access refused"},
		{"html", html.URL, bearer, "an HTML page"},
		{"no STIX object", notSTIX.URL, bearer, "objects[0]: not a STIX object"},
	} {
		_, err := source.PullTAXII(context.Background(), c.url+"/api", taxiiCollection, c.creds, source.Options{Out: out, Client: quick})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
			continue
		}
		for _, secret := range []string{c.creds.Token, c.creds.Password} {
			if secret != "" && strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error shows a credential: %v", c.name, err)
			}
		}
		if after := snapshot(t, out); !maps.Equal(after, before) {
			t.Errorf("%s: the directory changed", c.name)
		}
	}
	if _, err := source.PullTAXII(context.Background(), s.URL, "../x", bearer, source.Options{Out: out}); err == nil {
		t.Error("a collection id with a path in it is accepted")
	}
}
