// Package synthfeed writes synthetic MISP feeds for benchmarks: a manifest.json and one
// <uuid>.json per event, in MISP's feed layout, with the mix of attribute types, objects and
// flags that real feeds carry. The values are random but seeded, so a feed is the same bytes
// on every run; none of them is a real indicator.
package synthfeed

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/google/uuid"
)

// Size is how big a feed to write.
type Size struct {
	Events     int
	Attributes int // in total, counting the attributes inside objects
	Seed       uint64
}

type attribute struct {
	UUID           string `json:"uuid"`
	Type           string `json:"type"`
	Category       string `json:"category"`
	Value          string `json:"value"`
	ToIDS          bool   `json:"to_ids"`
	ObjectRelation string `json:"object_relation,omitempty"`
	Comment        string `json:"comment"`
	Timestamp      string `json:"timestamp"`
}

type object struct {
	UUID      string      `json:"uuid"`
	Name      string      `json:"name"`
	MetaCat   string      `json:"meta-category"`
	Attribute []attribute `json:"Attribute"`
}

type tag struct {
	Name string `json:"name"`
}

type event struct {
	UUID          string      `json:"uuid"`
	Info          string      `json:"info"`
	Date          string      `json:"date"`
	ThreatLevelID string      `json:"threat_level_id"`
	Analysis      string      `json:"analysis"`
	Published     bool        `json:"published"`
	Timestamp     string      `json:"timestamp"`
	Tag           []tag       `json:"Tag"`
	Attribute     []attribute `json:"Attribute"`
	Object        []object    `json:"Object"`
}

// Write writes a feed of the given size into dir and returns the number of attributes written.
func Write(dir string, size Size) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	g := &gen{rng: rand.New(rand.NewPCG(size.Seed, 0x5eed))}
	manifest := map[string]any{}
	total := 0
	for i := range size.Events {
		want := size.Attributes / size.Events
		if i < size.Attributes%size.Events {
			want++
		}
		ev := g.event(i, want)
		total += countAttributes(ev)
		body, err := json.MarshalIndent(map[string]any{"Event": ev}, "", "  ")
		if err != nil {
			return total, err
		}
		if err := os.WriteFile(filepath.Join(dir, ev.UUID+".json"), body, 0o644); err != nil {
			return total, err
		}
		manifest[ev.UUID] = map[string]any{"info": ev.Info, "date": ev.Date, "threat_level_id": ev.ThreatLevelID, "Tag": ev.Tag, "timestamp": ev.Timestamp}
	}
	body, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return total, err
	}
	return total, os.WriteFile(filepath.Join(dir, "manifest.json"), body, 0o644)
}

func countAttributes(ev event) int {
	n := len(ev.Attribute)
	for _, o := range ev.Object {
		n += len(o.Attribute)
	}
	return n
}

type gen struct {
	rng *rand.Rand
	n   int
	ns  string // sets the ids of one writer apart from another's
}

func (g *gen) id() string {
	g.n++
	return uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "synthfeed%s-%d", g.ns, g.n)).String()
}

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *gen) word(min, max int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, min+g.rng.IntN(max-min+1))
	for i := range b {
		b[i] = letters[g.rng.IntN(26)]
	}
	return string(b)
}

var tlds = []string{"com", "net", "org", "info", "xyz", "top", "ru", "biz"}

func (g *gen) domain() string {
	return g.word(6, 14) + "-" + g.word(3, 8) + "." + tlds[g.rng.IntN(len(tlds))]
}

// ip draws from 45.0.0.0-95.255.255.255, public unicast space with no special-purpose range.
func (g *gen) ip() string {
	return fmt.Sprintf("%d.%d.%d.%d", 45+g.rng.IntN(51), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
}

func (g *gen) attr(typ, category, value string, toIDS bool) attribute {
	return attribute{UUID: g.id(), Type: typ, Category: category, Value: value, ToIDS: toIDS, Timestamp: "1700000000"}
}

// event writes about want attributes: per hundred, about 40 in file objects (hash, name,
// size), 20 domains, 10 addresses with ports, 8 addresses, 8 URLs, 4 registry values,
// 3 mutexes and 7 free-text notes; one attribute in eight is not flagged to_ids.
func (g *gen) event(i, want int) event {
	ev := event{
		UUID: g.id(), Info: fmt.Sprintf("Synthetic campaign %d: %s", i, g.word(5, 10)),
		Date:          fmt.Sprintf("2026-%02d-%02d", 1+i%12, 1+i%28),
		ThreatLevelID: fmt.Sprint(1 + i%4), Analysis: "2", Published: true, Timestamp: "1700000000",
		Tag: []tag{{Name: []string{"tlp:clear", "tlp:green", "tlp:amber"}[i%3]},
			{Name: `misp-galaxy:mitre-attack-pattern="Registry Run Keys / Startup Folder - T1060"`}},
	}
	if i%100 == 99 {
		ev.Tag[0].Name = "tlp:red"
	}
	n := 0
	for n < want {
		flag := g.rng.IntN(8) != 0
		switch k := g.rng.IntN(100); {
		case k < 40 && want-n >= 4:
			ev.Object = append(ev.Object, g.file(flag))
			n += 4
		case k < 60:
			ev.Attribute = append(ev.Attribute, g.attr("domain", "Network activity", g.domain(), flag))
			n++
		case k < 70:
			ev.Attribute = append(ev.Attribute, g.attr("ip-dst|port", "Network activity", fmt.Sprintf("%s|%d", g.ip(), 1024+g.rng.IntN(60000)), flag))
			n++
		case k < 78:
			ev.Attribute = append(ev.Attribute, g.attr("ip-dst", "Network activity", g.ip(), flag))
			n++
		case k < 86:
			ev.Attribute = append(ev.Attribute, g.attr("url", "Network activity", "http://"+g.domain()+"/"+g.word(4, 10)+".php?id="+g.hex(8), flag))
			n++
		case k < 90:
			value := `HKCU\Software\Microsoft\Windows\CurrentVersion\Run\` + g.word(6, 12) + `|%APPDATA%\` + g.word(5, 9) + `\` + g.word(5, 9) + ".exe"
			ev.Attribute = append(ev.Attribute, g.attr("regkey|value", "Persistence mechanism", value, flag))
			n++
		case k < 93:
			ev.Attribute = append(ev.Attribute, g.attr("mutex", "Artifacts dropped", "Global\\"+g.word(4, 8)+"_"+g.hex(8), flag))
			n++
		default:
			ev.Attribute = append(ev.Attribute, g.attr("text", "Other", "Analyst note: "+g.word(5, 12)+" "+g.word(5, 12), false))
			n++
		}
	}
	return ev
}

func (g *gen) file(flag bool) object {
	o := object{UUID: g.id(), Name: "file", MetaCat: "file"}
	add := func(rel, typ, value string, toIDS bool) {
		a := g.attr(typ, "Payload delivery", value, toIDS)
		a.ObjectRelation = rel
		o.Attribute = append(o.Attribute, a)
	}
	add("sha256", "sha256", g.hex(64), flag)
	add("md5", "md5", g.hex(32), flag)
	add("filename", "filename", g.word(5, 10)+".exe", false)
	add("size-in-bytes", "size-in-bytes", fmt.Sprint(1024+g.rng.IntN(4<<20)), false)
	return o
}

// Kinds of single-event reports WriteEvent writes for the scan benchmarks.
const (
	KindHashes       = "hashes"        // file objects with a sha256 and a size
	KindHashesNoSize = "hashes-nosize" // sha256 attributes alone
	KindDomains      = "domains"       // domain attributes
)

// WriteEvent writes one MISP event (as {"Event": ...}) holding n indicators of one kind, all
// flagged to_ids, to path.
func WriteEvent(path, kind string, n int, seed uint64) error {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x5eed)), ns: fmt.Sprintf("-event-%d", seed)} // events of other seeds are other events
	ev := event{UUID: g.id(), Info: fmt.Sprintf("Synthetic %d %s", n, kind), Date: "2026-01-01",
		ThreatLevelID: "2", Analysis: "2", Published: true, Timestamp: "1700000000", Tag: []tag{{Name: "tlp:clear"}}}
	for range n {
		switch kind {
		case KindHashes:
			o := object{UUID: g.id(), Name: "file", MetaCat: "file"}
			for _, a := range []struct{ rel, value string }{{"sha256", g.hex(64)}, {"size-in-bytes", fmt.Sprint(1024 + g.rng.IntN(8<<20))}} {
				at := g.attr(a.rel, "Payload delivery", a.value, true)
				at.ObjectRelation = a.rel
				o.Attribute = append(o.Attribute, at)
			}
			ev.Object = append(ev.Object, o)
		case KindHashesNoSize:
			ev.Attribute = append(ev.Attribute, g.attr("sha256", "Payload delivery", g.hex(64), true))
		case KindDomains:
			ev.Attribute = append(ev.Attribute, g.attr("domain", "Network activity", g.domain(), true))
		default:
			return fmt.Errorf("kind %q: want %s, %s or %s", kind, KindHashes, KindHashesNoSize, KindDomains)
		}
	}
	body, err := json.MarshalIndent(map[string]any{"Event": ev}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, body, 0o644)
}

// WriteEvents writes count indicators of one kind spread over events event files in dir
// (event0.json, ...): a feed of many small reports, each of seed+i.
func WriteEvents(dir, kind string, count, events int, seed uint64) error {
	if events < 1 || count < events {
		return fmt.Errorf("%d indicators over %d events: want at least one event and one indicator each", count, events)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range events {
		if err := WriteEvent(filepath.Join(dir, fmt.Sprintf("event%d.json", i)), kind, count/events, seed+uint64(i)); err != nil {
			return err
		}
	}
	return nil
}
