package source_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// bundledEvents reads the real MISP events bundled with the repository (ESET's, PyMISP's and
// MISP-STIX's test events, testdata/reports/misp/SOURCES.md), keyed by uuid.
func bundledEvents(t testing.TB) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "reports", "misp", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("bundled events: %v", err)
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		for _, ev := range eventsOf(doc) {
			if id, _ := ev["uuid"].(string); id != "" {
				out[id] = ev
			}
		}
	}
	return out
}

func eventsOf(doc any) []map[string]any {
	var out []map[string]any
	switch d := doc.(type) {
	case map[string]any:
		if ev, ok := d["Event"].(map[string]any); ok {
			return []map[string]any{ev}
		}
		if list, ok := d["response"].([]any); ok {
			return eventsOf(list)
		}
	case []any:
		for _, x := range d {
			out = append(out, eventsOf(x)...)
		}
	}
	return out
}

func timestampOf(ev map[string]any) int64 {
	switch t := ev["timestamp"].(type) {
	case string:
		n, _ := strconv.ParseInt(t, 10, 64)
		return n
	case float64:
		return int64(t)
	}
	return 0
}

// feedServer serves MISP events laid out as a MISP feed, counts the requests to each path,
// and can be told to misbehave.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	events   map[string]map[string]any
	extra    map[string]any // manifest entries without an event file (hostile keys)
	noETag   bool
	requests map[string]int
	hooks    map[string]http.HandlerFunc // by path: answers instead of the feed
}

func newFeedServer(t testing.TB, tls bool) *feedServer {
	s := &feedServer{events: bundledEvents(t), requests: map[string]int{}, hooks: map[string]http.HandlerFunc{}}
	if tls {
		s.Server = httptest.NewUnstartedServer(s)
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the test
		s.StartTLS()
	} else {
		s.Server = httptest.NewServer(s)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	hook := s.hooks[r.URL.Path]
	s.mu.Unlock()
	if hook != nil {
		hook(w, r)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/feed/")
	if name == "manifest.json" {
		body := s.manifest()
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if !s.noETag {
			w.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
		return
	}
	s.mu.Lock()
	ev, ok := s.events[strings.TrimSuffix(name, ".json")]
	var body []byte
	if ok {
		body, _ = json.Marshal(map[string]any{"Event": ev})
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// manifest writes manifest.json as MISP's feed generator does: per event uuid its
// organisation, tags, info, date, threat level and timestamp.
func (s *feedServer) manifest() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]any{}
	for id, ev := range s.events {
		m[id] = map[string]any{
			"Orgc": ev["Orgc"], "Tag": ev["Tag"], "info": ev["info"], "date": ev["date"],
			"threat_level_id": ev["threat_level_id"], "timestamp": strconv.FormatInt(timestampOf(ev), 10),
		}
	}
	for k, v := range s.extra {
		m[k] = v
	}
	body, _ := json.Marshal(m)
	return body
}

func (s *feedServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func (s *feedServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.requests {
		n += c
	}
	return n
}

func (s *feedServer) reset() {
	s.mu.Lock()
	s.requests = map[string]int{}
	s.mu.Unlock()
}

// edit changes an event as its publisher would: a new attribute and a later timestamp.
func (s *feedServer) edit(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.events[id]
	ev["timestamp"] = strconv.FormatInt(timestampOf(ev)+3600, 10)
	attrs, _ := ev["Attribute"].([]any)
	ev["Attribute"] = append(attrs, map[string]any{"type": "domain", "value": "added-later.example-c2.net", "to_ids": true,
		"uuid": "0b7e2a4c-1b0a-4c1e-9d7e-5a3f2b1c0d9e", "timestamp": ev["timestamp"]})
}

func (s *feedServer) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.events, id)
}

func (s *feedServer) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.events))
	for id := range s.events {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// mispServer answers POST /events/restSearch as MISP does, over the bundled events: the key in
// the Authorization header, the filters rulegen sends, limit and page, X-Result-Count.
type mispServer struct {
	*httptest.Server
	key      string
	mu       sync.Mutex
	events   map[string]map[string]any
	queries  []map[string]any
	requests int
	auth     []string                 // the Authorization header of each request
	hooks    map[int]http.HandlerFunc // by request number (1, 2, ...): answers instead
	lieCount int                      // added to X-Result-Count
}

func newMISPServer(t testing.TB, key string) *mispServer {
	s := &mispServer{key: key, events: bundledEvents(t), hooks: map[int]http.HandlerFunc{}}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *mispServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	hook := s.hooks[n]
	s.mu.Unlock()
	if hook != nil {
		hook(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/events/restSearch" {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"name":"Not Found","message":"Not Found","url":"` + r.URL.Path + `"}`))
		return
	}
	if r.Header.Get("Authorization") != s.key {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"name":"Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.","message":"Authentication failed.","url":"/events/restSearch"}`))
		return
	}
	var q map[string]any
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.queries = append(s.queries, q)
	matched := s.search(q)
	s.mu.Unlock()
	limit, page := int(q["limit"].(float64)), int(q["page"].(float64))
	w.Header().Set("X-Result-Count", strconv.Itoa(len(matched)+s.lieCount))
	start, end := min((page-1)*limit, len(matched)), min(page*limit, len(matched))
	resp := []any{}
	for _, ev := range matched[start:end] {
		resp = append(resp, map[string]any{"Event": ev})
	}
	json.NewEncoder(w).Encode(map[string]any{"response": resp})
}

// search filters the events as MISP's restSearch does for the parameters rulegen sends, in
// event id order (here: uuid order).
func (s *mispServer) search(q map[string]any) []map[string]any {
	var out []map[string]any
	for _, id := range sortedIDs(s.events) {
		ev := s.events[id]
		if p, ok := q["published"].(bool); ok && p != (ev["published"] == true) {
			continue
		}
		if ts, ok := q["timestamp"].(float64); ok && timestampOf(ev) < int64(ts) {
			continue
		}
		if lvl, ok := q["threat_level_id"].(string); ok && lvl != ev["threat_level_id"] {
			continue
		}
		if org, ok := q["org"].(string); ok {
			o, _ := ev["Orgc"].(map[string]any)
			if o == nil || o["name"] != org {
				continue
			}
		}
		if tags, ok := q["tags"].([]any); ok && !tagsMatch(ev, tags) {
			continue
		}
		if q["to_ids"] == true {
			ev = onlyToIDs(ev)
		}
		out = append(out, ev)
	}
	return out
}

func sortedIDs(m map[string]map[string]any) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func tagsMatch(ev map[string]any, tags []any) bool {
	has := func(name string) bool {
		list, _ := ev["Tag"].([]any)
		for _, t := range list {
			if tm, _ := t.(map[string]any); tm != nil && tm["name"] == name {
				return true
			}
		}
		return false
	}
	wanted, matched := false, false
	for _, t := range tags {
		name := t.(string)
		if not, ok := strings.CutPrefix(name, "!"); ok {
			if has(not) {
				return false
			}
			continue
		}
		wanted = true
		matched = matched || has(name)
	}
	return !wanted || matched
}

// onlyToIDs keeps the attributes flagged for detection, as restSearch with to_ids does.
func onlyToIDs(ev map[string]any) map[string]any {
	cp := map[string]any{}
	for k, v := range ev {
		cp[k] = v
	}
	attrs, _ := ev["Attribute"].([]any)
	var kept []any
	for _, a := range attrs {
		if am, _ := a.(map[string]any); am != nil && (am["to_ids"] == true || am["to_ids"] == "1") {
			kept = append(kept, a)
		}
	}
	cp["Attribute"] = kept
	return cp
}
