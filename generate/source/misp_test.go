package source_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/source"
)

const testKey = "kX2vQ9rL7mN4pT8sW1yZ3bC6dF0gH5jK8lP2qR4t"

func yes() *bool { b := true; return &b }

func pullMISP(t *testing.T, s *mispServer, key, out string, f source.Filters, pageSize int) (*source.Result, error) {
	t.Helper()
	return source.PullMISP(context.Background(), s.URL, key, source.Options{Out: out, Filters: f, Client: quick, PageSize: pageSize})
}

func published(s *mispServer) int {
	n := 0
	for _, ev := range s.events {
		if ev["published"] == true {
			n++
		}
	}
	return n
}

// A pull pages through restSearch with the key in the Authorization header and MISP's own
// filters; the next pull asks only for events changed since the newest one it has.
func TestPullMISPPagesAndResumes(t *testing.T) {
	s := newMISPServer(t, testKey)
	out := t.TempDir()
	want := published(s)
	res, err := pullMISP(t, s, testKey, out, source.Filters{Published: yes(), ToIDs: yes()}, 2)
	if err != nil {
		t.Fatal(err)
	}
	pages := want/2 + 1 // the last page is short (or empty)
	if res.New != want || s.requests != pages {
		t.Fatalf("%s; %d requests, want %d pages", res, s.requests, pages)
	}
	q := s.queries[0]
	if q["returnFormat"] != "json" || q["includeWarninglistHits"] != true || q["enforceWarninglist"] != nil || q["published"] != true || q["to_ids"] != true || q["limit"] != 2.0 {
		t.Errorf("first query %v", q)
	}
	for i, a := range s.auth {
		if a != testKey {
			t.Errorf("request %d: Authorization %q", i+1, a)
		}
	}
	files, _ := filepath.Glob(filepath.Join(out, "[0-9a-f]*-*.json"))
	if len(files) != want {
		t.Errorf("%d event files, want %d", len(files), want)
	}

	// One event edited on the server: the next pull asks from the newest timestamp it has and
	// gets the edit in one page.
	var newest string
	var high int64
	for id, ev := range s.events {
		if ev["published"] == true && timestampOf(ev) >= high {
			newest, high = id, timestampOf(ev)
		}
	}
	var edited string
	for id, ev := range s.events {
		if ev["published"] == true && id != newest {
			edited = id
			ev["timestamp"] = "1800000000"
			ev["info"] = "edited on the server"
			break
		}
	}
	s.queries, s.requests = nil, 0
	res, err = pullMISP(t, s, testKey, out, source.Filters{Published: yes(), ToIDs: yes()}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.queries[0]["timestamp"] != float64(high) || res.Changed != 1 || res.Unchanged != want-1 || res.Removed != 0 {
		t.Fatalf("%s; query %v", res, s.queries[0])
	}
	if b, _ := os.ReadFile(filepath.Join(out, edited+".json")); !strings.Contains(string(b), "edited on the server") {
		t.Error("the edited event was not written")
	}
}

// Filters reach restSearch as MISP names them, and the directory holds what they select.
func TestPullMISPFilters(t *testing.T) {
	s := newMISPServer(t, testKey)
	out := t.TempDir()
	f := source.Filters{Published: yes(), Tags: []string{"tlp:white", "!ms-caro-malware:malware-type=\"Ransom\""}, Org: "CIRCL", ThreatLevel: 3}
	res, err := pullMISP(t, s, testKey, out, f, 100)
	if err != nil {
		t.Fatal(err)
	}
	q := s.queries[0]
	if q["threat_level_id"] != "3" || q["org"] != "CIRCL" || len(q["tags"].([]any)) != 2 {
		t.Errorf("query %v", q)
	}
	// Published CIRCL events at level 3 tagged tlp:white: SamSam; Xorist is excluded by its tag.
	if res.New != 1 {
		t.Fatalf("%s", res)
	}
	if _, err := os.Stat(filepath.Join(out, "5c066053-0e94-46eb-9746-4b7d950d210f.json")); err != nil {
		t.Error(err)
	}
}

// Failures are loud and harmless, and the key appears in no message and no file.
func TestPullMISPFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  string
		hook http.HandlerFunc
		lie  int
		says string
	}{
		{"wrong key", "not-the-key", nil, 0, "403 Forbidden: access refused (the key in MISP_KEY was refused)"},
		{"login page", testKey, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.Write([]byte("<!DOCTYPE html><html><head><title>Users - MISP</title></head><body>" + testKey + "</body></html>"))
		}, 0, "an HTML page"},
		{"server error echoing the key", testKey, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "bad key "+r.Header.Get("Authorization"), http.StatusBadRequest)
		}, 0, "400 Bad Request"},
		{"not events", testKey, func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"response": [{"Attribute": []}]}`))
		}, 0, `response[0]: not a MISP event: no "Event" object`},
		{"not a search answer", testKey, func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"name": "Not Found", "message": "Not Found"}`))
		}, 0, "not a restSearch answer"},
		{"count does not add up", testKey, nil, 5, "announced"},
		{"no key", "", nil, 0, "set MISP_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMISPServer(t, testKey)
			out := t.TempDir()
			if _, err := pullMISP(t, s, testKey, out, source.Filters{Published: yes()}, 100); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, out)
			if tc.hook != nil {
				s.hooks[s.requests+1] = tc.hook
			}
			s.lieCount = tc.lie
			_, err := source.PullMISP(context.Background(), s.URL, tc.key, source.Options{Out: out, Filters: source.Filters{Published: yes()}, Client: quick, Full: true})
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %v, want one saying %q", err, tc.says)
			}
			if tc.key != "" && !strings.Contains(err.Error(), s.URL+"/events/restSearch") {
				t.Errorf("the error does not name the URL: %v", err)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the key is in the message: %v", err)
			}
			if tc.name == "wrong key" && !errors.Is(err, source.ErrRefused) {
				t.Errorf("not ErrRefused: %v", err)
			}
			sameTree(t, out, before)
			for name, content := range snapshot(t, out) {
				if strings.Contains(content, testKey) {
					t.Errorf("%s holds the key", name)
				}
			}
		})
	}
}

// A redirect to another host does not take the key along.
func TestPullMISPRedirectKeepsKeyHome(t *testing.T) {
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
		w.Write([]byte(`{"response": []}`))
	}))
	defer other.Close()
	s := newMISPServer(t, testKey)
	s.hooks[1] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/events/restSearch", http.StatusTemporaryRedirect)
	}
	if _, err := pullMISP(t, s, testKey, t.TempDir(), source.Filters{}, 100); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "" {
		t.Errorf("the other host saw Authorization %q", seen)
	}
}
