package normalize_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/golden"
	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/normalize/warninglist"
	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// realEvent reads a bundled real MISP event and lets the test add what MISP's first_seen and
// last_seen would say before it is parsed.
func realEvent(t *testing.T, name string, edit func(ev map[string]any)) []byte {
	t.Helper()
	ev := golden.MISPEvent(t, name)
	edit(ev)
	out, _ := json.Marshal(map[string]any{"Event": ev})
	return out
}

func attrs(ev map[string]any) []any { return ev["Attribute"].([]any) }

func expireAsOf(t *testing.T, data []byte, asOf string, days map[string]int) *report.Normalized {
	t.Helper()
	lists, _ := warninglist.Bundled()
	parsed, err := parse.Bytes("event.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if days == nil {
		days = normalize.DefaultLifetimes()
	}
	r, err := normalize.Report(parsed, normalize.Options{Warninglists: warninglist.NewSet(lists...), Expiry: normalize.Expiry{AsOf: asOf, Days: days}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// skippedAs is the reason value was skipped with, preferring one that starts with want (a
// value listed several times is skipped once per copy).
func skippedAs(r *report.Normalized, value, want string) string {
	reason := ""
	for _, s := range r.Skipped {
		if s.Value == value {
			if strings.HasPrefix(s.Why(), want) {
				return s.Why()
			}
			reason = s.Why()
		}
	}
	return reason
}

func hasIndicator(list []report.Indicator, value string) (report.Indicator, bool) {
	for _, i := range list {
		if i.Value == value {
			return i, true
		}
	}
	return report.Indicator{}, false
}

// Ages come from last_seen, else first_seen, else the attribute's timestamp, else the event's
// date; each kind lives as long as the policy says, judged against the as-of date, over
// several simulated days of the real STIX test event.
func TestExpiryAcrossDays(t *testing.T) {
	data := realEvent(t, "misp_stixtest_indicators_alltypes.json", func(ev map[string]any) {
		attrs(ev)[5].(map[string]any)["last_seen"] = "2018-06-01T09:30:00.000000+00:00" // hostname www.circl.lu
		attrs(ev)[10].(map[string]any)["first_seen"] = "2018-05-01T00:00:00+02:00"      // url https://www.circl.lu/team
	})
	for _, day := range []struct {
		asOf       string
		hostname   string // its expiry date, or its skip reason
		teamURL    string
		objectHost string // a network-connection object's hostname-dst, aged by the object
	}{
		{"2018-03-28", "2018-11-28", "2018-05-30", "2018-11-11"},
		{"2018-05-10", "2018-11-28", "2018-05-30", "2018-11-11"},
		{"2018-11-20", "2018-11-28", "expired: first seen 2018-04-30, URLs expire after 30 days (on 2018-05-30; as of 2018-11-20)", "expired: changed 2018-05-15, domains expire after 180 days (on 2018-11-11; as of 2018-11-20)"},
		{"2018-12-01", "expired: last seen 2018-06-01, domains expire after 180 days (on 2018-11-28; as of 2018-12-01)", "expired:", "expired:"},
	} {
		r := expireAsOf(t, data, day.asOf, nil)
		check := func(list []report.Indicator, value, want string) {
			t.Helper()
			if strings.HasPrefix(want, "expired:") {
				if got := skippedAs(r, value, want); !strings.HasPrefix(got, want) {
					t.Errorf("as of %s, %s: skipped as %q, want %q", day.asOf, value, got, want)
				}
				return
			}
			if i, ok := hasIndicator(list, value); !ok || i.Expires != want {
				t.Errorf("as of %s, %s: kept %v, expires %q, want %q (skipped: %q)", day.asOf, value, ok, i.Expires, want, skippedAs(r, value, ""))
			}
		}
		check(r.Hostnames, "www.circl.lu", day.hostname)
		check(r.URLs, "https://www.circl.lu/team", day.teamURL)
		check(r.Hostnames, "www.hostname.circl.lu", day.objectHost)
		// Hashes never expire: the file object's sample stays, undated.
		found := false
		for _, f := range r.Files {
			if f.MD5 == "8764605c6f388c89096b534d33565802" {
				found = f.Expires == ""
			}
		}
		if !found {
			t.Errorf("as of %s: the sample of the file object expired or lost", day.asOf)
		}
	}
	// Without a date nothing expires, and nothing is dated.
	r := expireAsOf(t, data, "", nil)
	if i, ok := hasIndicator(r.URLs, "https://www.circl.lu/team"); !ok || i.Expires != "" {
		t.Errorf("without a date: %+v %v", i, ok)
	}
}

// The policy is per kind: addresses of ESET's TeleBots event (2016) are gone by 2017 under the
// default 30 days, kept when --expire says ip=never; its hashes stay either way.
func TestExpiryPolicyPerKind(t *testing.T) {
	data := realEvent(t, "eset_telebots_misp-telebots.json", func(map[string]any) {})
	r := expireAsOf(t, data, "2017-06-01", nil)
	if len(r.Endpoints) != 0 || len(r.Samples()) == 0 {
		t.Fatalf("default policy: %d endpoints, %d samples", len(r.Endpoints), len(r.Samples()))
	}
	days, err := normalize.ParseLifetimes("ip=never")
	if err != nil {
		t.Fatal(err)
	}
	r = expireAsOf(t, data, "2017-06-01", days)
	if len(r.Endpoints) == 0 || r.Endpoints[0].Expires != "" {
		t.Errorf("ip=never: %+v", r.Endpoints)
	}
}

func TestParseLifetimes(t *testing.T) {
	days, err := normalize.ParseLifetimes("ip=2w, domain=1y,url=10d,hash=never")
	if err != nil || days["ip"] != 14 || days["domain"] != 365 || days["url"] != 10 || days["hash"] != normalize.Never || days["mutex"] != normalize.Never {
		t.Errorf("%v %v", days, err)
	}
	if got := normalize.FormatLifetimes(days); got != "domain=365d,filename=never,hash=never,ip=14d,mutex=never,registry=never,url=10d" {
		t.Errorf("FormatLifetimes: %s", got)
	}
	for _, bad := range []string{"ip", "ip=30", "ip=-3d", "dns=30d", "ip=thirty days"} {
		if _, err := normalize.ParseLifetimes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A STIX indicator's valid_until is its producer's own end: it dates the indicator whatever
// the policy says of its kind, hashes included, and ends it once passed.
func TestValidUntilOverridesThePolicy(t *testing.T) {
	data := talosWithValidUntil(t, "2024-11-30T00:00:00Z")
	before := expireAsOf(t, data, "2024-11-01", nil)
	if len(before.Files) == 0 || before.Files[0].Expires != "2024-11-30" || len(before.Domains) == 0 || before.Domains[0].Expires != "2024-11-30" {
		t.Fatalf("as of 2024-11-01: files %+v, domains %+v", before.Files[:1], before.Domains)
	}
	after := expireAsOf(t, data, "2024-12-01", nil)
	if len(after.Files)+len(after.Domains)+len(after.URLs) != 0 {
		t.Errorf("as of 2024-12-01: %d files, %d domains, %d URLs left", len(after.Files), len(after.Domains), len(after.URLs))
	}
	found := false
	for _, s := range after.Skipped {
		found = found || s.Why() == "expired: valid until 2024-11-30 by its report (as of 2024-12-01)"
	}
	if !found {
		t.Errorf("no skip names valid_until: %+v", after.Skipped[:min(3, len(after.Skipped))])
	}
}

// talosWithValidUntil is Talos's real PowerRAT/DCRat bundle with valid_until on every
// indicator.
func talosWithValidUntil(t *testing.T, until string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(golden.RepoRoot(t), "testdata", "stix", "talos_2024-10_gophish_powerrat_dcrat_stix20.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	for _, o := range bundle["objects"].([]any) {
		if obj := o.(map[string]any); obj["type"] == "indicator" {
			obj["valid_until"] = until
		}
	}
	out, _ := json.Marshal(bundle)
	return out
}
