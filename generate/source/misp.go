package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// MISPKeyEnv is the environment variable a MISP pull takes its API key from.
const MISPKeyEnv = "MISP_KEY"

// restSearch is the body of POST /events/restSearch, with the filters MISP's RestSearch
// component accepts for events.
type restSearch struct {
	ReturnFormat           string   `json:"returnFormat"`
	Limit                  int      `json:"limit"`
	Page                   int      `json:"page"`
	Published              *bool    `json:"published,omitempty"`
	ToIDs                  *bool    `json:"to_ids,omitempty"`
	IncludeWarninglistHits bool     `json:"includeWarninglistHits"`
	Tags                   []string `json:"tags,omitempty"`
	Timestamp              int64    `json:"timestamp,omitempty"`
	ThreatLevelID          string   `json:"threat_level_id,omitempty"`
	Org                    string   `json:"org,omitempty"`
}

// PullMISP pulls the events of a MISP instance that the filters select through
// POST /events/restSearch, a page at a time, into opts.Out. The key goes in the Authorization
// header, to the instance's host only. Warninglist hits are included, not dropped, so that
// generate reports them as skips. After a first pull, only events changed since the newest one
// pulled are asked for; a first or --full pull also removes events the instance no longer
// returns. Nothing is written unless the whole pull works.
func PullMISP(ctx context.Context, base, key string, opts Options) (*Result, error) {
	if key == "" {
		return nil, fmt.Errorf("MISP pull: no API key: set %s", MISPKeyEnv)
	}
	m, u, err := openMirror(KindMISP, base, opts)
	if err != nil {
		return nil, err
	}
	defer m.close()
	opts.Client.Header = http.Header{"Authorization": {key}}
	c, err := newClient(u, opts.Client)
	if err != nil {
		return nil, err
	}
	defer func() { m.res.Requests = c.requests.Load() }()

	incremental := m.state.sameSource(KindMISP, m.res.URL, opts.Filters) && m.state.HighWater > 0
	query := restSearch{
		ReturnFormat:           "json",
		Limit:                  opts.PageSize,
		Published:              opts.Filters.Published,
		ToIDs:                  opts.Filters.ToIDs,
		IncludeWarninglistHits: true,
		Tags:                   opts.Filters.Tags,
		Timestamp:              opts.Filters.Since,
		Org:                    opts.Filters.Org,
	}
	if query.Limit <= 0 {
		query.Limit = DefaultPageSize
	}
	if opts.Filters.ThreatLevel > 0 {
		query.ThreatLevelID = strconv.Itoa(opts.Filters.ThreatLevel)
	}
	if incremental {
		// MISP's timestamp filter keeps events edited at or after it: the newest event pulled
		// comes again, unchanged, and nothing edited in the same second is missed.
		query.Timestamp = max(query.Timestamp, m.state.HighWater)
		for id, ts := range m.state.Events {
			m.next.Events[id] = ts
			m.next.HighWater = max(m.next.HighWater, ts)
		}
	}
	if err := m.pages(ctx, c, u.String()+"/events/restSearch", query, opts.Done); err != nil {
		if errors.Is(err, ErrRefused) {
			return nil, fmt.Errorf("%w (the key in %s was refused)", err, MISPKeyEnv)
		}
		return nil, err
	}
	m.res.Unchanged = len(m.next.Events) - m.res.New - m.res.Changed
	if !incremental {
		if err := m.removeOthers(); err != nil {
			return nil, err
		}
	}
	if err := m.commit(); err != nil {
		return nil, err
	}
	return m.res, nil
}

// maxPages bounds a pull against a server that never sends a short page.
const maxPages = 100000

// pages asks for page after page until a short one, and checks the count against the total
// the server announces in X-Result-Count.
func (m *mirror) pages(ctx context.Context, c *client, endpoint string, query restSearch, pageDone func()) error {
	header := http.Header{"Accept": {"application/json"}, "Content-Type": {"application/json"}}
	received, announced := 0, -1
	for query.Page = 1; query.Page <= maxPages; query.Page++ {
		body, _ := json.Marshal(query)
		resp, err := c.do(ctx, http.MethodPost, endpoint, body, header)
		if err != nil {
			return err
		}
		where := fmt.Sprintf("POST %s (page %d)", redact(endpoint), query.Page)
		var page struct {
			Response *[]json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(resp.body, &page); err != nil || page.Response == nil {
			return fmt.Errorf("%s: not a restSearch answer ({\"response\": [events]}): %v", where, orNoResponse(err))
		}
		events := *page.Response
		if n, err := strconv.Atoi(resp.header.Get("X-Result-Count")); err == nil && announced < 0 {
			announced = n
		}
		for i, raw := range events {
			ev, err := readEvent(raw, m.limits)
			if errors.Is(err, errOverLimit) {
				m.skip(fmt.Sprintf("response[%d]", i), err.Error())
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: response[%d]: %w", where, i, err)
			}
			if err := m.keep(ev); err != nil {
				return err
			}
		}
		received += len(events)
		if pageDone != nil {
			pageDone()
		}
		if len(events) < query.Limit {
			if announced >= 0 && received != announced {
				return fmt.Errorf("%s: the server announced %d events (X-Result-Count) but its pages held %d", where, announced, received)
			}
			return nil
		}
	}
	return fmt.Errorf("POST %s: more than %d pages of %d events", redact(endpoint), maxPages, query.Limit)
}

func orNoResponse(err error) error {
	if err != nil {
		return err
	}
	return errors.New(`no "response" list`)
}
