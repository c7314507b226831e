package parse

import (
	"cmp"
	"errors"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/rulegen/rulegen/generate/internal/defang"
	"github.com/rulegen/rulegen/generate/report"
)

// A publication is what a vendor publishes about one campaign: a document, hash lists, a CSV,
// YARA rules, maybe a MISP or STIX export, alone or as the files of one folder. Each file is
// read into a part; publish makes the parts one report, titled and dated from what they say.

// ErrUndated marks a publication that says nothing of when it was published: rules are dated
// by their report, never by the clock. A run passes over those it found in a directory.
var ErrUndated = errors.New("publication without a date")

// part is what one file of a publication states, before the publication is titled and dated.
type part struct {
	r     *report.Report
	title string   // a title the file states (a document's first heading, an export's info)
	dates []string // dates the file states (Date:, :revdate:, an export's date)
	seen  []string // first- and last-seen dates of its values
	// mentioned are the ISO dates anywhere in its text (a rule's date meta, a date in prose):
	// the newest dates a publication that states no other date.
	mentioned []string
	export    bool // a MISP or STIX export: its to_ids, tags and id count
}

var (
	dateInName = regexp.MustCompile(`(\d{4}-\d{2}-\d{2})`)
	// compactDateInName is 20240501 standing apart in a name.
	compactDateInName = regexp.MustCompile(`(?:^|[^0-9])((?:19|20)\d\d)([01]\d)([0-3]\d)(?:[^0-9]|$)`)
	// monthInName is 2024-05 standing apart in a name.
	monthInName = regexp.MustCompile(`(?:^|[^0-9])((?:19|20)\d\d)-([01]\d)(?:[^0-9]|$)`)
	// leadingYearMonth is a name's leading YYMM and a separator (SophosLabs' 2309 Tiny Turla).
	leadingYearMonth = regexp.MustCompile(`^([1-3]\d)(0[1-9]|1[0-2])[ _-]`)
	// dateInLink is a blog post's date in its address (/2023/03/01/), as many vendors' are.
	dateInLink = regexp.MustCompile(`/((?:19|20)\d\d)/(\d\d)/(\d\d)/`)
	// genericNames are file names that say nothing of the publication: its folder's name does.
	genericNames = map[string]bool{"iocs": true, "ioc": true, "indicators": true, "readme": true, "samples": true,
		"hashes": true, "rules": true, "index": true, "iocs csv": true, "network": true, "yara": true}
)

// dateLayouts are the ways documents write a date.
var dateLayouts = []string{time.DateOnly, "2006/01/02", "January 2, 2006", "Jan 2, 2006", "2 January 2006", "January 2 2006", "02 Jan 2006"}

// publish makes parts read from name (a file, or a publication's folder of files) one report.
// --title and --date override what the parts say. The date is never missing: what the parts
// state, else what the path says, else when git first saw the files, else the day rulegen
// first made the report's rules (opts.FirstMade, else opts.Today). No date after opts.Today,
// and none that is no calendar day (2023-20-09), is a publication's.
func publish(name string, files []string, parts []*part, opts Options) (*report.Report, error) {
	r := merge(name, parts)
	r.Title = firstNonEmpty(opts.Title, partTitle(parts), titleOfNames(name, files))
	d := dater{today: opts.Today}
	r.Date = d.first(opts.Date, stated(parts, d), nameDate(name), linkDate(r), nameMonth(name), filesDate(name, files),
		newest(parts, d, func(p *part) []string { return p.seen }), newest(parts, d, func(p *part) []string { return p.mentioned }),
		pathDate(name), addedDate(files, opts.Added))
	if r.Title == "" {
		return nil, inputError(report.Pos{File: name}, "a publication without a title: give --title, a heading, or name the file or folder after the report")
	}
	if r.Date == "" {
		// Keyed by the report's source, as the run state records it (a folder of one file
		// reports as its file).
		r.Date, r.DatedByRun = firstNonEmpty(opts.FirstMade[r.Source], opts.Today), true
	}
	if r.Date == "" {
		return nil, &InputError{Pos: report.Pos{File: name}, err: ErrUndated,
			Msg: "a publication without a date: give --date YYYY-MM-DD, a Date: line, a dated file or folder name (2024-05-01-name), or any date in it"}
	}
	return r, nil
}

// dater keeps the dates that can be a publication's: calendar days, not after the run's day.
type dater struct{ today string }

// ok says whether day (YYYY-MM-DD) can be a publication's date.
func (d dater) ok(day string) bool {
	t, err := time.Parse(time.DateOnly, day)
	return err == nil && t.Year() >= 1990 && (d.today == "" || day <= d.today)
}

// first is the first of the candidates that reads as a day that can be a publication's.
func (d dater) first(candidates ...string) string {
	for _, c := range candidates {
		if day := readDate(c); day != "" && d.ok(day) {
			return day
		}
	}
	return ""
}

// filesDate is the day the names of a publication folder's files give (2024-05-01-iocs.csv),
// the first that gives one; "" for a single file, whose own name was asked.
func filesDate(name string, files []string) string {
	for _, f := range files {
		if f == name {
			continue
		}
		if day := cmp.Or(nameDate(f), nameMonth(f)); day != "" {
			return day
		}
	}
	return ""
}

// addedDate is the day git first saw any of files (the earliest), "" when it knows none.
func addedDate(files []string, added map[string]string) string {
	earliest := ""
	for _, f := range files {
		if day := added[f]; day != "" && (earliest == "" || day < earliest) {
			earliest = day
		}
	}
	return earliest
}

// merge joins the parts' values, tags and references into one report. A value an export
// states without to_ids stays unflagged whatever the other files say; a hash a list repeats
// from a table or a labelled file is the file's.
func merge(name string, parts []*part) *report.Report {
	if len(parts) == 1 && !parts[0].export {
		dropRepeatedHashes(parts[0].r)
		return parts[0].r
	}
	r := &report.Report{Source: name, Format: report.FormatPublication}
	unflagged := map[string]bool{}
	var exports []*report.Report
	for _, p := range parts {
		if p.export {
			exports = append(exports, p.r)
			forEachAttribute(p.r, func(a *report.Attribute) {
				if !a.ToIDS || a.Deleted {
					unflagged[valueKey(a.Value)] = true
				}
			})
		}
	}
	for _, p := range parts {
		if !p.export {
			forEachAttribute(p.r, func(a *report.Attribute) {
				if unflagged[valueKey(a.Value)] {
					a.ToIDS = false
				}
			})
		}
		r.Attributes = append(r.Attributes, p.r.Attributes...)
		r.Objects = append(r.Objects, p.r.Objects...)
		r.Context.Add(p.r.Context)
		if p.r.ThreatLevel.ID != 0 && (r.ThreatLevel.ID == 0 || p.r.ThreatLevel.ID < r.ThreatLevel.ID) {
			r.ThreatLevel = p.r.ThreatLevel
		}
	}
	if len(exports) == 1 {
		r.ID, r.Context.Pos, r.Changed = exports[0].ID, exports[0].Context.Pos, exports[0].Changed
	}
	dropRepeatedHashes(r)
	return r
}

// dropRepeatedHashes makes each sample one file: a hash standing alone (a hash list's line)
// that an object holds is dropped, and file objects sharing a hash (a table's row and a CSV's)
// become one, with what each says of the file.
func dropRepeatedHashes(r *report.Report) {
	owner := map[string]int{} // hash → the file object that first holds it
	kept := r.Objects[:0]
	for _, o := range r.Objects {
		into := -1
		for _, a := range o.Attributes {
			if i, ok := owner[strings.ToLower(a.Value)]; ok && isHash(a) && o.Name == "file" {
				into = i
				break
			}
		}
		if into >= 0 && joinFile(&kept[into], o) {
			continue
		}
		kept = append(kept, o)
		for _, a := range o.Attributes {
			if isHash(a) && o.Name == "file" {
				owner[strings.ToLower(a.Value)] = len(kept) - 1
			}
		}
	}
	r.Objects = kept
	r.Attributes = slices.DeleteFunc(r.Attributes, func(a report.Attribute) bool {
		_, held := owner[strings.ToLower(a.Value)]
		return isHash(a) && held && a.ToIDS
	})
}

// joinFile adds to a file object what another says of the same file; false when they
// disagree (another hash of the same kind, another name), and both are kept.
func joinFile(into *report.Object, o report.Object) bool {
	var add []report.Attribute
	for _, a := range o.Attributes {
		i := slices.IndexFunc(into.Attributes, func(b report.Attribute) bool { return b.Rel() == a.Rel() })
		switch {
		case i < 0:
			add = append(add, a)
		case !strings.EqualFold(into.Attributes[i].Value, a.Value):
			return false
		}
	}
	into.Attributes = append(into.Attributes, add...)
	if into.Description == "" {
		into.Description = o.Description
	}
	return true
}

func isHash(a report.Attribute) bool {
	return report.HashTypeOfLength(len(a.Value)) == a.Type && a.Type != ""
}

func forEachAttribute(r *report.Report, f func(*report.Attribute)) {
	for i := range r.Attributes {
		f(&r.Attributes[i])
	}
	for i := range r.Objects {
		for j := range r.Objects[i].Attributes {
			f(&r.Objects[i].Attributes[j])
		}
	}
}

func valueKey(v string) string { return strings.ToLower(defang.Refang(v)) }

// partTitle is the title a document states, else an export's, else any part's.
func partTitle(parts []*part) string {
	for _, export := range []bool{false, true} {
		for _, p := range parts {
			if p.export == export && strings.TrimSpace(p.title) != "" {
				return strings.TrimSpace(p.title)
			}
		}
	}
	return ""
}

// stated is the first date a part states that can be a publication's.
func stated(parts []*part, d dater) string {
	for _, export := range []bool{false, true} {
		for _, p := range parts {
			if p.export != export {
				continue
			}
			if day := d.first(p.dates...); day != "" {
				return day
			}
		}
	}
	return ""
}

func readDate(s string) string {
	s = strings.TrimSpace(cleanCell(s))
	if day := isoDay(s); day != "" {
		return day
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly)
		}
	}
	return ""
}

// baseName is a file's or folder's name without its extension, or its folder's when the
// name is generic (iocs.csv, README.adoc, samples.sha256).
func baseName(name string) string {
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	if genericNames[strings.ToLower(base)] {
		if dir := filepath.Base(filepath.Dir(name)); dir != "." && dir != string(filepath.Separator) {
			return dir
		}
	}
	return base
}

func nameTitle(name string) string {
	base := baseName(name)
	base = strings.Replace(base, dateInName.FindString(base), "", 1)
	return strings.TrimSpace(strings.NewReplacer("_", " ", "-", " ").Replace(base))
}

// titleOfNames is the title a publication's names give: its file's or folder's (nameTitle),
// else, when that is only digits (a 2023/03/ folder), its files' names, then its folders'.
func titleOfNames(name string, files []string) string {
	candidates := []string{name}
	for _, f := range files {
		if f != name {
			candidates = append(candidates, f)
		}
	}
	for dir := filepath.Dir(name); dir != "." && dir != string(filepath.Separator) && len(candidates) < 8; dir = filepath.Dir(dir) {
		candidates = append(candidates, dir)
	}
	for _, c := range candidates {
		if t := nameTitle(c); strings.IndexFunc(t, unicode.IsLetter) >= 0 {
			return t
		}
	}
	return nameTitle(name)
}

// nameDate is the day a file's or folder's name gives: 2024-05-01 or 20240501.
func nameDate(name string) string {
	base := baseName(name)
	if day := readDate(dateInName.FindString(base)); day != "" {
		return day
	}
	if m := compactDateInName.FindStringSubmatch(base); m != nil {
		return readDate(m[1] + "-" + m[2] + "-" + m[3])
	}
	return ""
}

// nameMonth is the first of the month a name gives without its day: 2024-05, or SophosLabs'
// leading 2405.
func nameMonth(name string) string {
	base := baseName(name)
	if m := monthInName.FindStringSubmatch(base); m != nil {
		return readDate(m[1] + "-" + m[2] + "-01")
	}
	if m := leadingYearMonth.FindStringSubmatch(base); m != nil {
		return readDate("20" + m[1] + "-" + m[2] + "-01")
	}
	return ""
}

// linkDate is the date in the address of the post the report links to.
func linkDate(r *report.Report) string {
	for _, a := range r.Attributes {
		if m := dateInLink.FindStringSubmatch(a.Value); a.Type == "link" && m != nil {
			if day := readDate(m[1] + "-" + m[2] + "-" + m[3]); day != "" {
				return day
			}
		}
	}
	return ""
}

// newest is the newest of the dates dates gives of each part that can be a publication's (a
// PE's compile time in 2033 is none).
func newest(parts []*part, d dater, dates func(*part) []string) string {
	newest := ""
	for _, p := range parts {
		for _, s := range dates(p) {
			if day := readDate(s); day > newest && d.ok(day) {
				newest = day
			}
		}
	}
	return newest
}

// writtenDayMonth is what comes before the year of a date written out: 12 March, 3rd Aug.,
// March 12, Mar. 14th,
var writtenDayMonth = regexp.MustCompile(`(?i)(?:\b(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3,9})\.?,?|\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?)\s+$`)

// months are the months' names and abbreviations, as dates are written out in English.
var months = map[string]time.Month{}

func init() {
	for m := time.January; m <= time.December; m++ {
		months[strings.ToLower(m.String())] = m
		months[strings.ToLower(m.String()[:3])] = m
	}
	months["sept"] = time.September
}

// datesIn are the dates in text, as YYYY-MM-DD: ISO dates standing in it (a date and time's
// day too: 2024-08-22T09:00) and dates written out in English (12 March 2024, May 6th, 2024).
// It looks for years (19xx, 20xx) byte by byte, then at what stands around each: a regular
// expression over the whole text reads it ten times slower, and years are few.
func datesIn(text string) []string {
	var out []string
	for i := 0; i+4 <= len(text); i++ {
		if !isYearAt(text, i) {
			continue
		}
		if day := isoDateAt(text, i); day != "" {
			out = append(out, day)
		} else if day := writtenDateBefore(text, i); day != "" {
			out = append(out, day)
		}
		i += 3
	}
	return out
}

// isYearAt says whether a year (19xx, 20xx) starts text at i, not inside a longer word.
func isYearAt(text string, i int) bool {
	if !(text[i] == '1' && text[i+1] == '9' || text[i] == '2' && text[i+1] == '0') || !isDigit(text[i+2]) || !isDigit(text[i+3]) {
		return false
	}
	return (i == 0 || !isWordByte(text[i-1])) && (i+4 == len(text) || !isWordByte(text[i+4]))
}

// isoDateAt is the ISO date that starts text at i, standing apart or starting a date and time.
func isoDateAt(text string, i int) string {
	if i+10 > len(text) || text[i+4] != '-' || text[i+7] != '-' {
		return ""
	}
	day := text[i : i+10]
	for _, k := range []int{5, 6, 8, 9} {
		if !isDigit(day[k]) {
			return ""
		}
	}
	if rest := text[i+10:]; rest != "" && isWordByte(rest[0]) && !(rest[0] == 'T' && len(rest) > 1 && isDigit(rest[1])) {
		return ""
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return ""
	}
	return day
}

// writtenDateBefore is the date written out whose year starts text at i (12 March 2024).
func writtenDateBefore(text string, i int) string {
	m := writtenDayMonth.FindStringSubmatch(text[max(0, i-24):i])
	if m == nil {
		return ""
	}
	day, month := m[1], m[2]
	if day == "" {
		month, day = m[3], m[4]
	}
	mon, ok := months[strings.ToLower(month)]
	if !ok {
		return ""
	}
	d, _ := strconv.Atoi(day)
	y, _ := strconv.Atoi(text[i : i+4])
	if t := time.Date(y, mon, d, 0, 0, 0, 0, time.UTC); t.Day() == d && t.Month() == mon {
		return t.Format(time.DateOnly)
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool { return isDigit(c) || isLetter(c) || c == '_' }

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// IsPublicationMarker says whether a file makes its folder one publication: a vendor's format
// that a folder of reports (MISP events, renderings, IOC lists) does not hold (formatTable's
// markers; a Sigma file by its content, IsSigmaFile).
func IsPublicationMarker(name string) bool {
	if !IsPublicationFile(name) {
		return false
	}
	spec, ok := specOf(FormatOfName(name))
	return ok && spec.marker
}

// Publication reads the files of one publication folder (dir) into one report: their values
// merged, an export's to_ids and TLP respected, titled and dated from what they say (see
// publish). Exports holding several events are merged too: a folder is one publication.
func Publication(dir string, files []string, opts Options) (*report.Report, error) {
	var parts []*part
	for _, f := range files {
		data, err := ReadInput(f, opts)
		if err != nil {
			return nil, err
		}
		if firstByte(data) == 0 {
			continue // an empty file states nothing
		}
		got, err := readPart(f, data, opts.Limits)
		if err != nil {
			return nil, err
		}
		parts = append(parts, got...)
	}
	return publish(dir, files, parts, opts)
}

// readPart reads one file of a publication folder, whatever --format says: each file's format
// is its own.
func readPart(name string, data []byte, limits Limits) ([]*part, error) {
	format := SniffFile(name, data)
	if vendorFormat(format) {
		p, err := readVendorPart(name, data, format)
		return []*part{p}, err
	}
	// An export of the campaign (MISP JSON, STIX, a MISP event's rendering).
	var parts []*part
	err := Each(name, data, Options{Format: format, Limits: limits}, func(r *report.Report) error {
		parts = append(parts, &part{r: r, title: r.Title, dates: []string{r.Date}, export: true})
		return nil
	})
	return parts, err
}

var (
	// yearMonthDirs are dated folders: 2023/03/ or 2023/03/01/.
	yearMonthDirs = regexp.MustCompile(`(?:^|/)((?:19|20)\d\d)/(0[1-9]|1[0-2])(?:/([0-3]\d))?(?:/|$)`)
	// yearMonthPrefix is a name's leading YYYYMM and a separator (201604_name).
	yearMonthPrefix = regexp.MustCompile(`^((?:19|20)\d\d)(0[1-9]|1[0-2])(?:[_ .-]|$)`)
	// monthYearInName is MM_YYYY standing apart in a name (Name_08_2024).
	monthYearInName = regexp.MustCompile(`(?:^|[^0-9])(0[1-9]|1[0-2])[_ .-]((?:19|20)\d\d)(?:[^0-9]|$)`)
)

// pathDate is the day a publication's path gives beyond its own name's date: dated folders
// (2023/03/name.txt), a folder or file named by its month (201604_name/, Name_08_2024.txt),
// the nearest first; the 1st of a month that names no day.
func pathDate(name string) string {
	p := filepath.ToSlash(filepath.Clean(name))
	if m := yearMonthDirs.FindAllStringSubmatch(p, -1); m != nil {
		last := m[len(m)-1]
		return last[1] + "-" + last[2] + "-" + cmp.Or(last[3], "01")
	}
	for level, comp := 0, p; level < 4 && comp != "." && comp != "/"; level, comp = level+1, path.Dir(comp) {
		base := strings.TrimSuffix(path.Base(comp), path.Ext(comp))
		if day := readDate(dateInName.FindString(base)); day != "" && level > 0 {
			return day
		}
		if m := compactDateInName.FindStringSubmatch(base); m != nil && level > 0 {
			return m[1] + "-" + m[2] + "-" + m[3]
		}
		if m := yearMonthPrefix.FindStringSubmatch(base); m != nil {
			return m[1] + "-" + m[2] + "-01"
		}
		if m := monthYearInName.FindStringSubmatch(base); m != nil {
			return m[2] + "-" + m[1] + "-01"
		}
		if m := monthInName.FindStringSubmatch(base); m != nil && level > 0 {
			return m[1] + "-" + m[2] + "-01"
		}
	}
	return ""
}
