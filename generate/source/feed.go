package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// manifestEntry is what a MISP feed's manifest.json says of one event.
type manifestEntry struct {
	Timestamp json.RawMessage `json:"timestamp"`
	Tag       []manifestTag   `json:"Tag"`
	Orgc      struct {
		Name string `json:"name"`
		UUID string `json:"uuid"`
	} `json:"Orgc"`
}

type manifestTag struct {
	Name string `json:"name"`
}

// PullFeed mirrors a MISP feed (base/manifest.json, base/<uuid>.json) into opts.Out, as MISP
// itself pulls feeds: the manifest is asked for with the ETag of the last pull; only events
// that are new or whose manifest timestamp grew are downloaded; events no longer listed (or no
// longer selected by the filters) are removed. Nothing is written unless the whole pull works.
func PullFeed(ctx context.Context, base string, opts Options) (*Result, error) {
	m, u, err := openMirror(KindFeed, base, opts)
	if err != nil {
		return nil, err
	}
	defer m.close()
	c, err := newClient(u, opts.Client)
	if err != nil {
		return nil, err
	}
	defer func() { m.res.Requests = c.requests.Load() }()

	header := http.Header{}
	if m.state.ETag != "" && m.state.sameSource(KindFeed, m.res.URL, opts.Filters) {
		header.Set("If-None-Match", m.state.ETag)
	}
	manifestURL := u.String() + "/manifest.json"
	resp, err := c.do(ctx, http.MethodGet, manifestURL, nil, header)
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusNotModified {
		m.res.NotModified, m.res.Unchanged = true, len(m.state.Events)
		m.res.Requests = c.requests.Load()
		return m.res, nil
	}
	selected, err := m.readManifest(redact(manifestURL), resp.body, opts.Filters)
	if err != nil {
		return nil, err
	}
	present, err := eventFiles(opts.Out)
	if err != nil {
		return nil, err
	}
	var fetch []listed
	for _, id := range sortedKeys(selected) {
		if prev, ok := m.state.Events[id]; ok && present[id] && prev >= selected[id] {
			m.unchanged(id, prev)
			continue
		}
		fetch = append(fetch, listed{id, selected[id]})
	}
	if err := m.download(ctx, c, u.String(), fetch, opts); err != nil {
		return nil, err
	}
	if err := m.removeOthers(); err != nil {
		return nil, err
	}
	m.next.ETag = resp.header.Get("ETag")
	if err := m.commit(); err != nil {
		return nil, err
	}
	return m.res, nil
}

// readManifest checks the manifest and returns the events the filters select, with their
// timestamps. Keys that are not uuids are skipped with the reason: they never become paths.
func (m *mirror) readManifest(where string, body []byte, f Filters) (map[string]int64, error) {
	manifest, keys, err := parse.ReadManifest(where, body)
	if err != nil {
		return nil, err
	}
	selected := map[string]int64{}
	for _, key := range keys {
		if !report.IsUUID(key) {
			m.skip(truncate(key), "manifest key is not an event uuid")
			continue
		}
		var e manifestEntry
		if err := json.Unmarshal(manifest[key], &e); err != nil {
			m.skip(key, fmt.Sprintf("manifest entry is not an object of event metadata: %v", err))
			continue
		}
		ts, err := manifestTimestamp(e.Timestamp)
		if err != nil {
			m.skip(key, err.Error())
			continue
		}
		if f.selects(e, ts) {
			selected[key] = ts
		}
	}
	return selected, nil
}

func manifestTimestamp(raw json.RawMessage) (int64, error) {
	var v any
	if len(raw) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return 0, err
		}
	}
	ts, err := eventTimestamp(v)
	if err != nil {
		return 0, fmt.Errorf("manifest %s", strings.TrimPrefix(err.Error(), "Event."))
	}
	return ts, nil
}

// selects applies the feed filters as MISP's feed rules do: any listed tag (none listed: all),
// no excluded tag, the organisation by name or uuid, the manifest timestamp from since on.
func (f Filters) selects(e manifestEntry, ts int64) bool {
	if f.Since > 0 && ts < f.Since {
		return false
	}
	if f.Org != "" && !strings.EqualFold(e.Orgc.Name, f.Org) && !strings.EqualFold(e.Orgc.UUID, f.Org) {
		return false
	}
	has := func(tag string) bool {
		return slices.ContainsFunc(e.Tag, func(t manifestTag) bool { return strings.EqualFold(t.Name, tag) })
	}
	wanted, matched := false, false
	for _, t := range f.Tags {
		if not, ok := strings.CutPrefix(t, "!"); ok {
			if has(not) {
				return false
			}
			continue
		}
		wanted = true
		matched = matched || has(t)
	}
	return !wanted || matched
}

// listed is an event as the manifest lists it.
type listed struct {
	uuid      string
	timestamp int64
}

// download fetches the events on a few connections at once and keeps them.
func (m *mirror) download(ctx context.Context, c *client, base string, ids []listed, opts Options) error {
	if opts.OnTotal != nil {
		opts.OnTotal(len(ids))
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan listed)
	var wg sync.WaitGroup
	for range min(workers, max(len(ids), 1)) {
		wg.Go(func() {
			for e := range jobs {
				if err := m.fetchEvent(ctx, c, base, e); err != nil {
					cancel(err)
				}
				if opts.Done != nil {
					opts.Done()
				}
			}
		})
	}
send:
	for _, id := range ids {
		select {
		case jobs <- id:
		case <-ctx.Done():
			break send
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}

// fetchEvent downloads one event and keeps it under the manifest's timestamp, the change signal
// the next pull compares.
func (m *mirror) fetchEvent(ctx context.Context, c *client, base string, e listed) error {
	id := e.uuid
	u := base + "/" + eventFile(id)
	resp, err := c.do(ctx, http.MethodGet, u, nil, nil)
	if err != nil {
		return err
	}
	ev, err := readEvent(resp.body, m.limits)
	if errors.Is(err, errOverLimit) {
		m.skip(id, err.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", redact(u), err)
	}
	if !strings.EqualFold(ev.uuid, id) {
		return fmt.Errorf("%s: holds event %s, not the %s its manifest lists", redact(u), ev.uuid, id)
	}
	ev.uuid, ev.timestamp = id, e.timestamp
	return m.keep(ev)
}
