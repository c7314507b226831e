package source

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// Environment variables a TAXII pull takes its credentials from: a bearer token, or a user
// and a password for basic authentication.
const (
	TAXIITokenEnv    = "TAXII_TOKEN"
	TAXIIUserEnv     = "TAXII_USER"
	TAXIIPasswordEnv = "TAXII_PASSWORD"
)

// TAXIIMediaType is what a TAXII 2.1 server speaks.
const TAXIIMediaType = "application/taxii+json;version=2.1"

// TAXIICredentials authenticate a TAXII pull: Token, or User and Password, or nothing.
type TAXIICredentials struct{ Token, User, Password string }

// CollectionFile is where a collection's objects are kept in the reports directory: one STIX
// bundle, so that generate reads its reports with the objects they refer to.
func CollectionFile(collection string) string { return collection + ".stix.json" }

// taxiiEnvelope is a page of GET …/objects/; some servers answer with a bundle instead.
type taxiiEnvelope struct {
	More    bool              `json:"more"`
	Next    string            `json:"next"`
	Type    string            `json:"type"`
	Objects []json.RawMessage `json:"objects"`
}

// PullTAXII mirrors a TAXII 2.1 collection (GET {apiRoot}/collections/{collection}/objects/)
// into opts.Out/<collection>.stix.json, a page at a time: with the server's next, or with
// added_after from X-TAXII-Date-Added-Last when a page says more without a next. Later pulls
// ask only for what was added after the last one, and merge it in: an object replaces an
// older version of itself (by modified). Nothing is written unless the whole pull works.
func PullTAXII(ctx context.Context, apiRoot, collection string, creds TAXIICredentials, opts Options) (*Result, error) {
	if collection == "" || strings.ContainsAny(collection, `/\?#`) || strings.HasPrefix(collection, ".") {
		return nil, fmt.Errorf("TAXII collection %q: want the collection's id", collection)
	}
	m, u, err := openMirror(KindTAXII, strings.TrimSuffix(apiRoot, "/")+"/collections/"+collection, opts)
	if err != nil {
		return nil, err
	}
	defer m.close()
	opts.Client.Header, err = creds.header()
	if err != nil {
		return nil, err
	}
	c, err := newClient(u, opts.Client)
	if err != nil {
		return nil, err
	}
	c.secrets = append(c.secrets, creds.Token, creds.Password)
	defer func() { m.res.Requests = c.requests.Load() }()

	objects := map[string]json.RawMessage{}
	incremental := m.state.sameSource(KindTAXII, m.res.URL, opts.Filters) && m.state.AddedAfter != ""
	if incremental {
		if objects, err = readCollection(opts.Out, collection); err != nil {
			return nil, err
		}
		// Without the bundle the last pull wrote, what was added before is gone: pull it all.
		incremental = objects != nil
	}
	if incremental {
		m.next.AddedAfter = m.state.AddedAfter
	} else {
		objects = map[string]json.RawMessage{}
	}
	for id, ts := range m.state.Events {
		if _, kept := objects[id]; kept {
			m.next.Events[id] = ts
		}
	}
	addedAfter := m.next.AddedAfter
	if addedAfter == "" && opts.Filters.Since > 0 {
		addedAfter = time.Unix(opts.Filters.Since, 0).UTC().Format(time.RFC3339)
	}
	received, err := m.taxiiPages(ctx, c, u.String()+"/objects/", addedAfter, opts)
	if err != nil {
		return nil, err
	}
	for _, o := range received {
		m.merge(objects, o)
	}
	m.res.Unchanged = len(objects) - m.res.New - m.res.Changed
	if len(received) == 0 && incremental {
		m.res.NotModified = true
	}
	body, err := collectionBundle(m.res.URL, objects)
	if err != nil {
		return nil, err
	}
	if err := m.dir.Put(atomicdir.File{Path: CollectionFile(collection), Body: body}); err != nil {
		return nil, err
	}
	if err := m.commit(); err != nil {
		return nil, err
	}
	return m.res, nil
}

func (c TAXIICredentials) header() (http.Header, error) {
	switch {
	case c.Token != "" && (c.User != "" || c.Password != ""):
		return nil, fmt.Errorf("TAXII pull: set either %s or %s and %s, not both", TAXIITokenEnv, TAXIIUserEnv, TAXIIPasswordEnv)
	case c.Token != "":
		return http.Header{"Authorization": {"Bearer " + c.Token}}, nil
	case c.User != "" || c.Password != "":
		basic := base64.StdEncoding.EncodeToString([]byte(c.User + ":" + c.Password))
		return http.Header{"Authorization": {"Basic " + basic}}, nil
	}
	return nil, nil
}

// taxiiPages asks for page after page and returns every object received, in order.
func (m *mirror) taxiiPages(ctx context.Context, c *client, endpoint, addedAfter string, opts Options) ([]stixObject, error) {
	header := http.Header{"Accept": {TAXIIMediaType}}
	limit := opts.PageSize
	if limit <= 0 {
		limit = DefaultPageSize
	}
	var all []stixObject
	next := ""
	for page := 1; page <= maxPages; page++ {
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if addedAfter != "" {
			q.Set("added_after", addedAfter)
		}
		if next != "" {
			q.Set("next", next)
		}
		resp, err := c.do(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil, header)
		if err != nil {
			return nil, err
		}
		where := fmt.Sprintf("GET %s (page %d)", redact(endpoint), page)
		if err := m.limits.CheckDepth(where, resp.body); err != nil {
			return nil, err
		}
		var env taxiiEnvelope
		if err := json.Unmarshal(resp.body, &env); err != nil || env.Type != "" && env.Type != "bundle" {
			return nil, fmt.Errorf("%s: not a TAXII envelope ({\"objects\": [...]}) or a STIX bundle: %v", where, orType(err, env.Type))
		}
		for i, raw := range env.Objects {
			o, err := readObject(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: objects[%d]: %w", where, i, err)
			}
			all = append(all, o)
		}
		if len(all) > m.limits.MaxAttributes() {
			return nil, fmt.Errorf("%s: the collection holds %d objects or more: more than the limit of %d (--max-attributes), which generate would refuse", where, len(all), m.limits.MaxAttributes())
		}
		if last := resp.header.Get("X-TAXII-Date-Added-Last"); later(last, m.next.AddedAfter) {
			m.next.AddedAfter = last
		}
		if opts.Done != nil {
			opts.Done()
		}
		switch {
		case !env.More:
			return all, nil
		case env.Next != "":
			next = env.Next
		case m.next.AddedAfter != "" && m.next.AddedAfter != addedAfter:
			addedAfter, next = m.next.AddedAfter, "" // more, without a next: page by date added
		default:
			return nil, fmt.Errorf("%s: the server says there is more but gives neither next nor X-TAXII-Date-Added-Last", where)
		}
	}
	return nil, fmt.Errorf("GET %s: more than %d pages of %d objects", redact(endpoint), maxPages, limit)
}

// later says whether the TAXII timestamp a is after b (or b is none); what is not a
// timestamp is never later.
func later(a, b string) bool {
	ta, err := time.Parse(time.RFC3339Nano, a)
	if err != nil {
		return false
	}
	tb, err := time.Parse(time.RFC3339Nano, b)
	return err != nil || ta.After(tb)
}

func orType(err error, typ string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("type %q", typ)
}

// stixObject is an object a TAXII server sent: its id, its version and its JSON.
type stixObject struct {
	id      string
	version int64 // modified, else created, in Unix milliseconds
	raw     json.RawMessage
}

// readObject refuses what is no STIX object (a TAXII server's error, a truncated answer) and
// reads the id and version of what is.
func readObject(raw json.RawMessage) (stixObject, error) {
	var o struct{ Type, ID, Modified, Created string }
	if err := json.Unmarshal(raw, &o); err != nil {
		return stixObject{}, fmt.Errorf("not a STIX object: %v", err)
	}
	if o.Type == "" || !strings.HasPrefix(o.ID, o.Type+"--") {
		return stixObject{}, fmt.Errorf("not a STIX object: type %q, id %q", truncate(o.Type), truncate(o.ID))
	}
	return stixObject{id: o.ID, version: stixTime(o.Modified, o.Created), raw: raw}, nil
}

// merge keeps the newest version of each object, counting what it adds and changes.
func (m *mirror) merge(objects map[string]json.RawMessage, o stixObject) {
	if kept, ok := m.next.Events[o.id]; ok && o.version <= kept {
		return // an older or the same version
	}
	if prev, known := m.state.Events[o.id]; !known {
		m.res.New++
	} else if o.version > prev {
		m.res.Changed++
	}
	objects[o.id] = o.raw
	m.next.Events[o.id] = o.version
}

// stixTime is the first STIX timestamp given, in Unix milliseconds: versions of an object
// differ by less than a second.
func stixTime(values ...string) int64 {
	for _, v := range values {
		if t, ok := parse.STIXTime(v); ok {
			return t.UnixMilli()
		}
	}
	return 0
}

// readCollection reads the objects a previous pull kept; nil when there is no such file.
func readCollection(dir, collection string) (map[string]json.RawMessage, error) {
	data, err := readIfExists(dir, CollectionFile(collection))
	if err != nil || data == nil {
		return nil, err
	}
	objects := map[string]json.RawMessage{}
	var b struct{ Objects []json.RawMessage }
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%s: not the bundle a pull wrote (remove it, or pull with --full): %v", CollectionFile(collection), err)
	}
	for _, raw := range b.Objects {
		var o struct{ ID string }
		if json.Unmarshal(raw, &o) == nil && o.ID != "" {
			objects[o.ID] = raw
		}
	}
	return objects, nil
}

// collectionBundle writes the objects as one STIX bundle in a canonical form: sorted by id,
// keys sorted, two-space indentation, so that the same objects always give the same bytes.
func collectionBundle(source string, objects map[string]json.RawMessage) ([]byte, error) {
	ids := sortedKeys(objects)
	list := make([]any, 0, len(ids))
	for _, id := range ids {
		dec := json.NewDecoder(bytes.NewReader(objects[id]))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("object %s: %w", id, err)
		}
		list = append(list, v)
	}
	bundle := map[string]any{"type": "bundle", "id": "bundle--" + report.StableID("taxii", source), "objects": slices.Clip(list)}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(bundle); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
