package synthfeed

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// A repository of vendors' publications, as ESET's and Volexity's are laid out, and the same
// values as MISP events: what the vendor readers' speed is measured against. Each publication
// is a folder: README.adoc (a table of samples with names and sizes, a table of addresses with
// ports, names and first-seen dates, mutexes), iocs.csv (URLs and more names, Volexity's
// columns) and samples.sha256 (the samples' hashes again, as ESET ships them).

// publication is one campaign's values.
type publication struct {
	title, date string
	samples     []pubSample
	endpoints   []pubEndpoint
	domains     []string // in iocs.csv
	urls        []string // in iocs.csv
	mutexes     []string
}

type pubSample struct {
	sha256, name string
	size         int
}

type pubEndpoint struct {
	ip, domain, firstSeen string
	port                  int
}

// WritePublications writes n publications into dir/publications/<date>-campaign-<i>/ and the
// same values as n MISP events into dir/misp/<i>.json.
func WritePublications(dir string, n int, seed uint64) error {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x5eed)), ns: "-publications"}
	for _, sub := range []string{"publications", "misp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	for i := range n {
		p := g.publication(i)
		folder := filepath.Join(dir, "publications", fmt.Sprintf("%s-campaign-%d", p.date, i))
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return err
		}
		for name, body := range map[string]string{"README.adoc": p.asciiDoc(), "iocs.csv": p.csv(), "samples.sha256": p.hashList()} {
			if err := os.WriteFile(filepath.Join(folder, name), []byte(body), 0o644); err != nil {
				return err
			}
		}
		event, err := json.MarshalIndent(map[string]any{"Event": g.asEvent(p)}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "misp", fmt.Sprintf("%d.json", i)), event, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) publication(i int) publication {
	p := publication{title: fmt.Sprintf("Campaign %d %s", i, g.word(5, 10)), date: fmt.Sprintf("2026-%02d-%02d", 1+i%12, 1+i%28)}
	for range 20 {
		p.samples = append(p.samples, pubSample{g.hex(64), g.word(5, 10) + ".exe", 1024 + g.rng.IntN(4<<20)})
	}
	for range 6 {
		p.endpoints = append(p.endpoints, pubEndpoint{g.ip(), g.domain(), fmt.Sprintf("2025-%02d-%02d", 1+g.rng.IntN(12), 1+g.rng.IntN(28)), 443 + g.rng.IntN(9000)})
	}
	for range 6 {
		p.domains = append(p.domains, g.domain())
		p.urls = append(p.urls, "https://"+g.domain()+"/"+g.word(4, 10)+".php?id="+g.hex(8))
	}
	p.mutexes = []string{"Global\\" + g.word(4, 8) + "_" + g.hex(8), "Local\\" + g.word(4, 8) + "_" + g.hex(8)}
	return p
}

// defang writes a value as publications do: dots in brackets, hxxp.
func defang(v string) string {
	return strings.ReplaceAll(strings.Replace(v, "https://", "hxxps://", 1), ".", "[.]")
}

func (p publication) asciiDoc() string {
	var b strings.Builder
	fmt.Fprintf(&b, "= %s -- Indicators of Compromise\n:revdate: %s\n\nThe analysis of %s.\n\n== Samples\n\n[options=\"header\"]\n|===\n| SHA-256 | Filename | Size | Description\n", p.title, p.date, p.title)
	for _, s := range p.samples {
		fmt.Fprintf(&b, "| `%s` | `%s` | %d | Loader\n", strings.ToUpper(s.sha256), s.name, s.size)
	}
	b.WriteString("|===\n\n== Network indicators\n\n[options=\"header\"]\n|===\n| IP address | Port | Domain | First seen | Details\n")
	for _, e := range p.endpoints {
		fmt.Fprintf(&b, "| %s | %d | `+%s+` | %s | C&C server.\n", defang(e.ip), e.port, defang(e.domain), e.firstSeen)
	}
	b.WriteString("|===\n\n== Mutexes created by the loader\n")
	for _, m := range p.mutexes {
		fmt.Fprintf(&b, "- `%s`\n", m)
	}
	return b.String()
}

func (p publication) csv() string {
	var b strings.Builder
	b.WriteString("value,entity_type,description\n")
	for _, d := range p.domains {
		fmt.Fprintf(&b, "%s,hostname,\"Suspected C2, seen in %s\"\n", d, p.title)
	}
	for _, u := range p.urls {
		fmt.Fprintf(&b, "%s,url,Download URL\n", defang(u))
	}
	return b.String()
}

func (p publication) hashList() string {
	var b strings.Builder
	for _, s := range p.samples {
		b.WriteString(s.sha256 + "\n")
	}
	return b.String()
}

// asEvent is the publication as a MISP event: the same values, flagged.
func (g *gen) asEvent(p publication) event {
	ev := event{UUID: g.id(), Info: p.title + " -- Indicators of Compromise", Date: p.date, ThreatLevelID: "2", Analysis: "2", Published: true, Timestamp: "1700000000",
		Tag: []tag{{Name: "tlp:clear"}}}
	for _, s := range p.samples {
		o := object{UUID: g.id(), Name: "file", MetaCat: "file"}
		for _, a := range []struct{ rel, value string }{{"sha256", s.sha256}, {"filename", s.name}, {"size-in-bytes", fmt.Sprint(s.size)}} {
			at := g.attr(a.rel, "Payload delivery", a.value, a.rel == "sha256")
			at.ObjectRelation = a.rel
			o.Attribute = append(o.Attribute, at)
		}
		ev.Object = append(ev.Object, o)
	}
	for _, e := range p.endpoints {
		ev.Attribute = append(ev.Attribute, g.attr("ip-dst|port", "Network activity", fmt.Sprintf("%s|%d", e.ip, e.port), true),
			g.attr("domain", "Network activity", e.domain, true))
	}
	for _, d := range p.domains {
		ev.Attribute = append(ev.Attribute, g.attr("hostname", "Network activity", d, true))
	}
	for _, u := range p.urls {
		ev.Attribute = append(ev.Attribute, g.attr("url", "Network activity", u, true))
	}
	for _, m := range p.mutexes {
		ev.Attribute = append(ev.Attribute, g.attr("mutex", "Artifacts dropped", m, true))
	}
	return ev
}

// WriteHashList writes a bulk hash list of n lines to path, as malware databases publish
// them: sha256sum's "hash  name", distinct seeded hashes, one name each.
func WriteHashList(path string, n int, seed uint64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d", seed, i))
		fmt.Fprintf(w, "%x  sample_%07d.exe\n", sum, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
