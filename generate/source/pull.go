package source

import (
	"fmt"
	"github.com/rulegen/rulegen/generate/parse"
	"net/url"
	"strings"
	"sync"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
)

// Options configure a pull.
type Options struct {
	Out     string  // the reports directory
	Filters Filters // which events to keep
	Client  ClientOptions
	// Limits are generate's input limits (--max-depth, --max-attributes): an event over them is
	// skipped with the reason, never written, so that what a pull keeps generate can read; a
	// TAXII collection over them fails the pull. Zero fields take parse.DefaultLimits.
	Limits parse.Limits
	// Full ignores what the state remembers (the manifest's ETag, a MISP pull's high water
	// mark): every selected event is checked, and events the source no longer has are removed.
	Full bool
	// PageSize is how many events a MISP pull asks for at once; 0 means DefaultPageSize.
	PageSize int
	// Workers download a feed's events at once; 0 means DefaultWorkers.
	Workers int
	// OnTotal, if set, is told how many events the pull downloads (when that is known), and
	// Done is called after each: they drive a progress display.
	OnTotal func(int)
	Done    func()
}

// Defaults of Options.
const (
	DefaultPageSize = 100
	DefaultWorkers  = 4
)

// Result says what a pull did.
type Result struct {
	Source                           Kind
	URL, Out                         string
	New, Changed, Removed, Unchanged int
	NotModified                      bool // the source said nothing changed since the last pull
	Skipped                          []Skip
	Requests                         int64
}

// Skip is a listed event that the pull did not keep, and why.
type Skip struct{ Event, Reason string }

// String is the pull's one-line summary.
func (r *Result) String() string {
	items := "events"
	if r.Source == KindTAXII {
		items = "objects"
	}
	if r.NotModified {
		return fmt.Sprintf("%s %s: not modified since the last pull; %s unchanged (%d %s), %d request", r.Source, r.URL, r.Out, r.Unchanged, items, r.Requests)
	}
	s := fmt.Sprintf("%s %s into %s: %d new, %d changed, %d removed, %d unchanged %s; %d requests",
		r.Source, r.URL, r.Out, r.New, r.Changed, r.Removed, r.Unchanged, items, r.Requests)
	if len(r.Skipped) > 0 {
		s += fmt.Sprintf("; %d skipped", len(r.Skipped))
	}
	return s
}

// mirror writes a pull into the reports directory: all of it or, when anything fails, nothing.
type mirror struct {
	dir   *atomicdir.Dir
	state *State // as it was before this pull
	next  *State // as it will be
	res   *Result
	// limits are generate's input limits, which what the pull keeps must meet.
	limits parse.Limits
	mu     sync.Mutex
}

func openMirror(kind Kind, rawURL string, opts Options) (*mirror, *url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, nil, fmt.Errorf("%s URL %q: want http(s)://host/path", kind, redact(rawURL))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	dir, err := atomicdir.Open(opts.Out)
	if err != nil {
		return nil, nil, err
	}
	state, err := loadState(opts.Out)
	if err != nil {
		dir.Close()
		return nil, nil, err
	}
	where := u.Redacted()
	m := &mirror{
		dir:   dir,
		state: state,
		next:  &State{Source: kind, URL: where, Filters: opts.Filters, Events: map[string]int64{}},
		res:   &Result{Source: kind, URL: where, Out: opts.Out},

		limits: opts.Limits,
	}
	if opts.Full || state.Source != kind || state.URL != where {
		m.state = &State{Events: map[string]int64{}} // nothing it remembers is about this source
	}
	return m, u, nil
}

// keep writes one event and records it.
func (m *mirror) keep(ev *event) error {
	if err := m.dir.Put(atomicdir.File{Path: eventFile(ev.uuid), Body: ev.body}); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	prev, known := m.state.Events[ev.uuid]
	switch {
	case !known:
		m.res.New++
	case ev.timestamp > prev:
		m.res.Changed++
	default:
		m.res.Unchanged++
	}
	m.next.Events[ev.uuid] = ev.timestamp
	m.next.HighWater = max(m.next.HighWater, ev.timestamp)
	return nil
}

// unchanged records an event that is already in the directory as the source has it.
func (m *mirror) unchanged(uuid string, timestamp int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.res.Unchanged++
	m.next.Events[uuid] = timestamp
	m.next.HighWater = max(m.next.HighWater, timestamp)
}

func (m *mirror) skip(uuid, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.res.Skipped = append(m.res.Skipped, Skip{Event: uuid, Reason: reason})
}

// removeOthers removes the event files of the directory that the pull did not keep.
func (m *mirror) removeOthers() error {
	present, err := eventFiles(m.res.Out)
	if err != nil {
		return err
	}
	for id := range present {
		if _, kept := m.next.Events[id]; !kept {
			m.dir.Remove(eventFile(id))
			m.res.Removed++
		}
	}
	return nil
}

// commit writes the state and moves everything in.
func (m *mirror) commit() error {
	if err := m.dir.Put(atomicdir.File{Path: StateName, Body: m.next.encode()}); err != nil {
		return err
	}
	_, err := m.dir.Commit()
	return err
}

func (m *mirror) close() { m.dir.Close() }
