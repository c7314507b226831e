package normalize

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rulegen/rulegen/generate/report"
)

// Indicator kinds an expiry policy names.
const (
	KindHash     = "hash"     // a sample's hashes
	KindFilename = "filename" // a dropped file's name or path
	KindRegistry = "registry"
	KindDomain   = "domain" // domains and hostnames
	KindIP       = "ip"
	KindURL      = "url"
	KindMutex    = "mutex"
)

// Never is the lifetime of an indicator that does not expire.
const Never = -1

// Expiry decides when indicators go stale. Ages are judged against AsOf, a date that is an
// input of the run, never its clock: with no AsOf nothing expires.
type Expiry struct {
	AsOf string         // YYYY-MM-DD; "" means nothing expires
	Days map[string]int // lifetime in days per kind; Never, or a kind left out, never expires
}

// DefaultLifetimes follow MISP's and OpenCTI's published decay models: an address or a URL
// goes stale within weeks (MISP's NIDS model falls under its threshold after about 47 days,
// OpenCTI revokes IPs and URLs after 20 to 33), a domain within months (OpenCTI: 103 to 188
// days), while a hash, a file path, a registry value or a mutex name stays true of its sample.
func DefaultLifetimes() map[string]int {
	return map[string]int{KindIP: 30, KindURL: 30, KindDomain: 180, KindHash: Never, KindFilename: Never, KindRegistry: Never, KindMutex: Never}
}

// Kinds lists the kinds a policy may name, sorted.
func Kinds() []string { return slices.Sorted(maps.Keys(DefaultLifetimes())) }

// ParseLifetimes reads a policy such as "ip=30d,domain=180d,url=4w,hash=never" over the
// defaults. Ages are days (d), weeks (w) or years (y, 365 days), or "never".
func ParseLifetimes(s string) (map[string]int, error) {
	days := DefaultLifetimes()
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kind, age, ok := strings.Cut(part, "=")
		kind = strings.ToLower(strings.TrimSpace(kind))
		if _, known := days[kind]; !ok || !known {
			return nil, fmt.Errorf("%q: want KIND=AGE with KIND one of %s", part, strings.Join(Kinds(), ", "))
		}
		n, err := ParseAge(strings.TrimSpace(age))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		days[kind] = n
	}
	return days, nil
}

// ParseAge reads 30d, 4w, 1y or never as days.
func ParseAge(s string) (int, error) {
	if strings.EqualFold(s, "never") {
		return Never, nil
	}
	unit := map[byte]int{'d': 1, 'w': 7, 'y': 365}
	if len(s) < 2 || unit[s[len(s)-1]] == 0 {
		return 0, fmt.Errorf("age %q: want a number of days, weeks or years (30d, 4w, 1y) or never", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return 0, fmt.Errorf("age %q: want a number of days, weeks or years (30d, 4w, 1y) or never", s)
	}
	return n * unit[s[len(s)-1]], nil
}

// FormatLifetimes writes a policy the way ParseLifetimes reads it, in kind order.
func FormatLifetimes(days map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(days)) {
		age := "never"
		if days[k] >= 0 {
			age = strconv.Itoa(days[k]) + "d"
		}
		parts = append(parts, k+"="+age)
	}
	return strings.Join(parts, ",")
}

// seenDate is an indicator's age as the report states it: the date and which field said so.
type seenDate struct {
	date time.Time
	what string // "last seen", "first seen", "changed", "reported"
}

// stated reads what a report says of when a value was seen: last_seen, else first_seen.
func stated(s report.Seen) (seenDate, bool) {
	for _, c := range []struct{ text, what string }{{s.Last, "last seen"}, {s.First, "first seen"}} {
		if t, ok := isoDate(c.text); ok {
			return seenDate{t, c.what}, true
		}
	}
	return seenDate{}, false
}

// changed reads the day a value was last changed (MISP's timestamp).
func changed(s report.Seen) (seenDate, bool) {
	if s.Changed <= 0 {
		return seenDate{}, false
	}
	return seenDate{time.Unix(s.Changed, 0).UTC().Truncate(24 * time.Hour), "changed"}, true
}

// newest is the latest of what read finds in the attributes.
func newest(attrs []report.Attribute, read func(report.Seen) (seenDate, bool)) (seenDate, bool) {
	var best seenDate
	found := false
	for _, a := range attrs {
		if d, ok := read(a.When()); ok && (!found || d.date.After(best.date)) {
			best, found = d, true
		}
	}
	return best, found
}

// isoDate reads the day of an ISO 8601 time as MISP writes first_seen and last_seen
// (2024-01-03T10:00:00.000000+00:00), in UTC.
func isoDate(s string) (time.Time, bool) {
	if s == "" { // most values say nothing: no layout need fail on it (a bulk list has a million)
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
		}
	}
	return time.Time{}, false
}

// expirer applies an Expiry to one report's indicators.
type expirer struct {
	r      *report.Normalized
	policy Expiry
	asOf   time.Time
	seen   map[string]seenDate // by JSON path of an attribute or object
	until  map[string]time.Time
	dated  seenDate // the report's date: the age of what says nothing else
}

func newExpirer(r *report.Normalized, policy Expiry) (*expirer, bool) {
	if policy.AsOf == "" {
		return nil, false
	}
	asOf, err := time.Parse(time.DateOnly, policy.AsOf)
	if err != nil {
		return nil, false
	}
	reported, _ := time.Parse(time.DateOnly, r.Date)
	e := &expirer{r: r, policy: policy, asOf: asOf, seen: map[string]seenDate{}, until: map[string]time.Time{}, dated: seenDate{reported, "reported"}}
	for _, a := range r.Attributes {
		if d, ok := firstOf(a.When(), stated, changed); ok {
			e.seen[a.Pos.Path] = d
		}
		e.noteUntil(a)
	}
	for _, o := range r.Objects {
		// An object (a file, a connection) is as new as it says, or as its newest part says;
		// each part that says more is judged by that.
		obj, ok := stated(o.When())
		if !ok {
			obj, ok = newest(o.Attributes, stated)
		}
		if !ok {
			obj, ok = changed(o.When())
		}
		if !ok {
			obj, ok = newest(o.Attributes, changed)
		}
		if ok {
			e.seen[o.Pos.Path] = obj
		}
		for _, a := range o.Attributes {
			if d, ok := stated(a.When()); ok {
				e.seen[a.Pos.Path] = d
			}
			e.noteUntil(a)
		}
	}
	return e, true
}

// noteUntil records the end of validity an attribute's report states, if any.
func (e *expirer) noteUntil(a report.Attribute) {
	if until, ok := isoDate(a.When().Until); ok {
		e.until[a.Pos.Path] = until
	}
}

// firstOf is what the first reader that finds anything finds.
func firstOf(s report.Seen, readers ...func(report.Seen) (seenDate, bool)) (seenDate, bool) {
	for _, read := range readers {
		if d, ok := read(s); ok {
			return d, true
		}
	}
	return seenDate{}, false
}

// seenAt is the age of the indicator read at pos: its attribute's, its object's, or the
// report's date.
func (e *expirer) seenAt(pos report.Pos) seenDate {
	if d, ok := e.seen[pos.Path]; ok {
		return d
	}
	if i := strings.Index(pos.Path, ".Attribute["); i > 0 {
		if d, ok := e.seen[pos.Path[:i]]; ok {
			return d
		}
	}
	return e.dated
}

// judge says when an indicator of kind seen at pos expires ("" never) and, when that day has
// passed by AsOf, the reason it is skipped.
func (e *expirer) judge(kind string, pos report.Pos) (expires, reason string) {
	if until, ok := e.until[pos.Path]; ok { // the producer's own end of validity: whatever the kind
		if until.Before(e.asOf) {
			return "", fmt.Sprintf("valid until %s by its report (as of %s)", until.Format(time.DateOnly), e.policy.AsOf)
		}
		return until.Format(time.DateOnly), ""
	}
	days, ok := e.policy.Days[kind]
	if !ok || days < 0 {
		return "", ""
	}
	seen := e.seenAt(pos)
	end := seen.date.AddDate(0, 0, days)
	if end.Before(e.asOf) {
		return "", fmt.Sprintf("%s %s, %s expire after %d days (on %s; as of %s)",
			seen.what, seen.date.Format(time.DateOnly), kindPlural[kind], days, end.Format(time.DateOnly), e.policy.AsOf)
	}
	return end.Format(time.DateOnly), ""
}

var kindPlural = map[string]string{KindHash: "hashes", KindFilename: "file names", KindRegistry: "registry values",
	KindDomain: "domains", KindIP: "addresses", KindURL: "URLs", KindMutex: "mutexes"}

// expire drops the indicators whose lifetime has passed, recording each with its dates, and
// dates the others.
func (e *expirer) expire() {
	r := e.r
	r.Files = filterExpired(e, r.Files, func(f *report.File) (string, string, report.Pos, *string) {
		kind := KindFilename
		if f.Role == report.RoleSample {
			kind = KindHash
		}
		return kind, fileLabel(*f), f.Pos, &f.Expires
	})
	r.Registry = filterExpired(e, r.Registry, func(v *report.RegistryValue) (string, string, report.Pos, *string) {
		return KindRegistry, v.Hive + `\` + v.Key + `\` + v.Name, v.Pos, &v.Expires
	})
	r.Endpoints = filterExpired(e, r.Endpoints, func(p *report.Endpoint) (string, string, report.Pos, *string) {
		label := p.IP
		if p.Port > 0 {
			label += "|" + strconv.Itoa(p.Port)
		}
		return KindIP, label, p.Pos, &p.Expires
	})
	for _, l := range []struct {
		list *[]report.Indicator
		kind string
	}{{&r.Domains, KindDomain}, {&r.Hostnames, KindDomain}, {&r.URLs, KindURL}, {&r.Mutexes, KindMutex}, {&r.Imphashes, KindHash}} {
		*l.list = filterExpired(e, *l.list, func(i *report.Indicator) (string, string, report.Pos, *string) {
			return l.kind, i.Value, i.Pos, &i.Expires
		})
	}
}

// filterExpired keeps the items that have not expired, setting their expiry date, and records
// the others as skipped.
func filterExpired[T any](e *expirer, items []T, describe func(*T) (kind, label string, pos report.Pos, expires *string)) []T {
	kept := items[:0]
	for i := range items {
		kind, label, pos, expires := describe(&items[i])
		end, reason := e.judge(kind, pos)
		if reason != "" {
			e.r.Skipped = append(e.r.Skipped, report.Skipped{Value: label, Kind: kind, Reason: reason, Cause: report.SkipExpired, Source: pos})
			continue
		}
		*expires = end
		kept = append(kept, items[i])
	}
	return kept
}

func fileLabel(f report.File) string {
	for _, v := range []string{f.SHA256, f.SHA1, f.MD5, f.Path, f.Name} {
		if v != "" {
			return v
		}
	}
	return "file"
}
