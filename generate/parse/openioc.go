package parse

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// OpenIOC (Mandiant's XML format, 1.0 and 1.1: .ioc files): a tree of Indicator groups (AND,
// OR) whose IndicatorItems each compare one term of a document (FileItem/Md5sum,
// DnsEntryItem/Host, ...) with a value. An item whose term rulegen writes rules for becomes
// a value; the hashes, name, size and path of one AND group are one file; any other item
// (a negated term, a regular expression, a part of a name, a term without a rule) is listed
// with the reason. The short description is the title, the authored date the date.

// IsOpenIOC says whether data is an OpenIOC document: XML whose root is ioc (1.0) or OpenIOC
// (1.1).
func IsOpenIOC(data []byte) bool {
	head := data[:min(len(data), 4096)]
	if firstByte(head) != '<' {
		return false
	}
	return bytes.Contains(head, []byte("schemas.mandiant.com/2010/ioc")) || bytes.Contains(head, []byte("openioc.org/schemas/OpenIOC_1.1"))
}

// iocTerms are the OpenIOC terms (Context search) rulegen writes rules for, and their types.
var iocTerms = map[string]string{
	"FileItem/Md5sum": "md5", "FileItem/Sha1sum": "sha1", "FileItem/Sha256sum": "sha256",
	"FileItem/FileName": "filename", "FileItem/FullPath": "path", "FileItem/SizeInBytes": "size-in-bytes",
	"FileItem/PEInfo/ImportHash": "imphash", "FileItem/PEInfo/ImpHash": "imphash",
	"DnsEntryItem/Host": "domain", "DnsEntryItem/RecordName": "domain", "Network/DNS": "domain",
	"PortItem/remoteIP": "ip-dst", "Network/IP": "ip-dst", "Network/URI": "url", "UrlHistoryItem/URL": "url",
	"UrlHistoryItem/HostName": "domain", "RegistryItem/Path": "regkey", "RegistryItem/KeyPath": "regkey",
	"ProcessItem/HandleList/Handle/Name": "mutex", "Email/From": "email-src",
}

// iocItem is one IndicatorItem as read.
type iocItem struct {
	pos                    report.Pos
	search, condition, raw string
	negate                 bool
}

// iocGroup is an Indicator being read: its operator and the items directly under it.
type iocGroup struct {
	and   bool
	items []iocItem
}

func readOpenIOC(name string, data []byte) (*part, error) {
	c := newCollector(name, FormatOpenIOC)
	p := &part{r: c.r}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	dec.CharsetReader = singleByteCharset
	var groups []*iocGroup
	var item *iocItem
	var text strings.Builder
	rootDay := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, _ := dec.InputPos()
			return nil, inputError(report.Pos{File: name, Line: line}, "not an OpenIOC document: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			text.Reset()
			line, _ := dec.InputPos()
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					c.unusable(report.Pos{File: name, Line: line}, a.Value, "an XML namespace of the document, not an indicator")
				}
			}
			switch t.Name.Local {
			case "ioc", "OpenIOC": // 1.1 says when it was published, 1.0 only when it last changed
				rootDay = cmp.Or(isoDay(attr(t, "published-date")), isoDay(attr(t, "last-modified")))
			case "Indicator":
				groups = append(groups, &iocGroup{and: strings.EqualFold(attr(t, "operator"), "AND")})
			case "IndicatorItem":
				item = &iocItem{pos: report.Pos{File: name, Line: line}, condition: strings.ToLower(attr(t, "condition")), negate: attr(t, "negate") == "true"}
			case "Context":
				if item != nil {
					item.search = attr(t, "search")
				}
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			value := strings.TrimSpace(text.String())
			switch t.Name.Local {
			case "short_description":
				p.title = value
			case "authored_date", "published-date":
				if day := isoDay(value); day != "" {
					p.dates = append(p.dates, day)
				}
			case "link":
				line, _ := dec.InputPos()
				for _, l := range referenceLinks(value) {
					c.reference(report.Pos{File: name, Line: line}, l)
				}
			case "Content":
				if item != nil {
					item.raw = value
				}
			case "IndicatorItem":
				switch {
				case item != nil && len(groups) > 0:
					groups[len(groups)-1].items = append(groups[len(groups)-1].items, *item)
				case item != nil: // outside any Indicator: a value of its own, never dropped
					c.iocGroup(iocGroup{items: []iocItem{*item}}, p.title)
				}
				item = nil
			case "Indicator":
				if len(groups) > 0 {
					c.iocGroup(*groups[len(groups)-1], p.title)
					groups = groups[:len(groups)-1]
				}
			}
			text.Reset()
		}
	}
	if rootDay != "" && len(p.dates) == 0 {
		p.dates = append(p.dates, rootDay)
	}
	return p, nil
}

// singleByteCharset reads the encodings OpenIOC files declare besides UTF-8: ASCII as it is,
// Latin-1 and Windows-1252 byte by byte (their printable range is Unicode's first 256 code
// points but for 0x80-0x9f, which IOCs do not use).
func singleByteCharset(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "us-ascii", "ascii", "utf-8", "utf8":
		return in, nil
	case "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		data, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, c := range data {
			b.WriteRune(rune(c))
		}
		return strings.NewReader(b.String()), nil
	}
	return nil, fmt.Errorf("encoding %q: rulegen reads OpenIOC in UTF-8, ASCII or Latin-1", label)
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// iocGroup adds an Indicator's items: the file terms of an AND group as one file, each other
// item as a value of its own or a reasoned skip.
func (c *collector) iocGroup(g iocGroup, comment string) {
	var file []report.Attribute
	var pos report.Pos
	for _, it := range g.items {
		v, reason := iocValue(it)
		switch {
		case reason != "":
			c.unusable(it.pos, it.raw, reason)
		case g.and && isFilePart(v.typ):
			if len(file) == 0 {
				pos = it.pos
			}
			file = append(file, report.Attribute{Type: v.typ, Relation: relationOf(v.typ), Value: v.value, ToIDS: true, Pos: it.pos})
		default:
			c.value(it.pos, v, comment, report.Seen{})
		}
	}
	if len(file) > 0 {
		c.r.Objects = append(c.r.Objects, object("file", pos, comment, report.Seen{}, file))
	}
}

// iocValue is the typed value of an item, or why it is none.
func iocValue(it iocItem) (typed, string) {
	term := it.search
	typ, known := iocTerms[term]
	switch {
	case it.raw == "":
		return typed{}, "an OpenIOC term without a value"
	case it.negate || strings.HasPrefix(it.condition, "isnot") || strings.HasPrefix(it.condition, "doesnot"):
		return typed{}, fmt.Sprintf("a negated OpenIOC term (%s %s): rules match what is there", term, it.condition)
	case !known:
		return typed{}, fmt.Sprintf("an OpenIOC term rulegen writes no rule for (%s)", term)
	case it.condition == "matches":
		return typed{}, fmt.Sprintf("an OpenIOC regular expression (%s matches): rulegen writes no rule from a pattern", term)
	case it.condition != "is" && it.condition != "" && !partialAllowed(typ, it.raw):
		return typed{}, fmt.Sprintf("part of a value (%s %s): rules match whole values", term, it.condition)
	}
	value := strings.TrimSpace(it.raw)
	if typ == "domain" || typ == "ip-dst" || typ == "url" {
		// The term says a network value; its shape says which (a host term may hold an address).
		v, ok := valueOf(value)
		if !ok || v.typ != "domain" && v.typ != "hostname" && v.typ != "ip-dst" && v.typ != "url" {
			return typed{}, fmt.Sprintf("not a network value, though its term (%s) says one", term)
		}
		return v, ""
	}
	return typed{typ, value}, ""
}

// partialAllowed says whether a contains/starts-with term can still be read whole: a hash of
// its full length, or a registry path or mutex name, which rules match as substrings anyway.
func partialAllowed(typ, value string) bool {
	switch typ {
	case "md5", "sha1", "sha256", "imphash":
		return report.HashLength(typ) == len(strings.TrimSpace(value)) || typ == "imphash" && len(strings.TrimSpace(value)) == 32
	case "regkey", "mutex":
		return true
	}
	return false
}
