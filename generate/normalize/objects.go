package normalize

import (
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// contextRelations describe an object rather than detect it (a file's size and name, a
// connection's port, a registry value's name and data). MISP rarely flags them to_ids; they
// are used whenever their object has a flagged attribute, so a file keeps its size guard and
// an address keeps its port.
var contextRelations = map[string]bool{
	"filename": true, "size-in-bytes": true, "fullpath": true, "path": true,
	"port": true, "dst-port": true, "name": true, "data": true,
	"yara": true, "sigma": true, // a yara or sigma object's rule, when its name is flagged
}

// object handles a MISP object: what belongs together (a file's hashes, name and size; an
// address and its port; a key and its value) becomes one indicator.
func (n *normalizer) object(o report.Object) {
	if len(o.Attributes) == 0 {
		n.r.Skipped = append(n.r.Skipped, report.Skipped{Value: o.Name, Kind: "object", Reason: "object without attributes", Source: o.Pos})
		return
	}
	attrs := n.usable(o)
	if len(attrs) == 0 {
		return // every attribute is already in the skip list, with its reason
	}
	switch o.Name {
	case "file":
		if f, ok := n.fileObject(o, attrs); ok {
			n.r.Files = append(n.r.Files, f)
		}
	case "domain-ip", "ip-port", "network-connection":
		n.connectionObject(attrs)
	case "registry-key":
		n.registryObject(attrs)
	case "url":
		n.urlObject(attrs)
	case "yara", "sigma":
		// The rule is the object: its flagged parts (MISP flags the rule name, as ESET's
		// events do) make its rule count.
		for _, a := range attrs {
			switch a.Type {
			case "yara":
				n.r.YARARules = append(n.r.YARARules, a)
			case "sigma":
				n.r.SigmaRules = append(n.r.SigmaRules, a)
			}
		}
	default:
		for _, a := range attrs {
			n.attribute(a)
		}
	}
}

// usable returns the attributes of o that may become rules and records why the others do not.
// The attributes it returns count as flagged for detection.
func (n *normalizer) usable(o report.Object) []report.Attribute {
	flagged := slices.ContainsFunc(o.Attributes, func(a report.Attribute) bool { return a.ToIDS && !a.Deleted })
	out := make([]report.Attribute, 0, len(o.Attributes)) // one allocation, not one per attribute
	for _, a := range o.Attributes {
		switch {
		case o.Deleted || a.Deleted:
			n.r.Skip(a, ReasonDeleted)
		case a.Unusable != "":
			n.r.Skip(a, a.Unusable)
		case n.tooLong(a):
		case !flagged && !n.opts.AllAttributes && (indicatorType(a.Type) || contextRelations[a.Rel()]):
			n.r.Skip(a, ReasonNotFlagged) // nothing in the object is meant for detection
		case !flagged && !n.opts.AllAttributes && a.Type != "link": // links are references: used
			n.r.Skip(a, skipReason(a.Type))
		case a.ToIDS || n.opts.AllAttributes || !indicatorType(a.Type) || flagged && contextRelations[a.Rel()]:
			a.ToIDS = true
			out = append(out, a)
		default:
			n.r.Skip(a, ReasonNotFlagged)
		}
	}
	return out
}

// connectionObject reads domain-ip, ip-port and network-connection objects: each destination
// address with each destination port, and the destination names.
func (n *normalizer) connectionObject(attrs []report.Attribute) {
	var ips, ports []report.Attribute
	for _, a := range attrs {
		switch rel := a.Rel(); rel {
		case "domain", "hostname", "hostname-dst":
			if isPlaceholder(a.Value) {
				n.r.Skip(a, ReasonPlaceholder)
			} else if a.Type == "domain" {
				n.domain(a, "domain", a.Value)
			} else {
				n.domain(a, "hostname", a.Value)
			}
		case "ip", "ip-dst":
			ips = append(ips, a)
		case "port", "dst-port":
			ports = append(ports, a)
		case "ip-src", "hostname-src", "src-port":
			n.r.Skip(a, "source side of the connection (usually the victim), not an indicator")
		default:
			n.attribute(a)
		}
	}
	for _, ip := range ips {
		if isPlaceholder(ip.Value) {
			n.r.Skip(ip, ReasonPlaceholder)
			continue
		}
		if len(ports) == 0 {
			n.endpoint(ip, ip.Value, "")
		}
		for _, p := range ports {
			n.endpoint(ip, ip.Value, p.Value)
		}
	}
	if len(ips) == 0 {
		for _, p := range ports {
			n.r.Skip(p, "port without an address in its object")
		}
	}
}

// registryObject joins a registry-key object's key, value name and data into one value.
func (n *normalizer) registryObject(attrs []report.Attribute) {
	var key *report.Attribute
	var name, data []report.Attribute
	for i, a := range attrs {
		switch a.Rel() {
		case "key", "regkey":
			if key == nil {
				key = &attrs[i]
			} else {
				n.attribute(a)
			}
		case "name":
			name = append(name, a)
		case "data":
			data = append(data, a)
		default:
			n.attribute(a)
		}
	}
	if key == nil {
		for _, a := range append(name, data...) {
			n.r.Skip(a, "registry value name or data without its key")
		}
		return
	}
	if isPlaceholder(key.Value) {
		n.r.Skip(*key, ReasonPlaceholder)
		return
	}
	path := strings.TrimRight(strings.TrimSpace(key.Value), `\`)
	if len(name) > 0 && strings.TrimSpace(name[0].Value) != "" {
		path += `\` + strings.TrimSpace(name[0].Value)
	}
	value := ""
	if len(data) > 0 {
		value = data[0].Value
	}
	registry(n.r, *key, path, value)
}

// urlObject uses the object's url; its parts (domain, host, port, path) are the same
// indicator cut up, and are used on their own only when the object has no url.
func (n *normalizer) urlObject(attrs []report.Attribute) {
	hasURL := slices.ContainsFunc(attrs, func(a report.Attribute) bool { return a.Rel() == "url" })
	if !hasURL {
		n.connectionObject(attrs)
		return
	}
	for _, a := range attrs {
		if a.Rel() == "url" {
			n.attribute(a)
		} else {
			n.r.Skip(a, "part of its object's url")
		}
	}
}

func (n *normalizer) fileObject(o report.Object, attrs []report.Attribute) (report.File, bool) {
	r := n.r
	f := report.File{Pos: o.Pos}
	var pathText []report.Attribute // free text that may be the file's path
	dir := ""                       // MISP's "path" relation: the directory, without the name
	for _, a := range attrs {
		if isPlaceholder(a.Value) {
			r.Skip(a, ReasonPlaceholder)
			continue
		}
		if a.Rel() == "path" {
			dir = strings.TrimRight(strings.TrimSpace(a.Value), `\`)
			continue
		}
		if err := n.fileAttribute(&f, a, &pathText); err != "" {
			r.Skip(a, err)
		}
	}
	for _, a := range pathText {
		if f.Path == "" && looksLikePathOf(a.Value, f.Name) {
			f.Path = strings.TrimSpace(a.Value)
		} else {
			r.Skip(a, "free text, not an indicator")
		}
	}
	if f.Path == "" && dir != "" && f.Name != "" {
		f.Path = dir + `\` + f.Name
	}
	if f.Name == "" && f.Path != "" {
		f.Name = f.Path[strings.LastIndex(f.Path, `\`)+1:]
	}
	f.PathTail = pathTail(f.Path)
	switch {
	case f.MD5 != "" || f.SHA1 != "" || f.SHA256 != "":
		f.Role = report.RoleSample
	case f.Name != "":
		f.Role = report.RoleDropped
	default:
		r.Skipped = append(r.Skipped, report.Skipped{Value: o.Name, Kind: "object", Reason: "file object with neither a usable hash nor a file name", Source: o.Pos})
		return f, false
	}
	return f, true
}

// fileAttribute sets one field of f; it returns why the attribute was not used, or "".
func (n *normalizer) fileAttribute(f *report.File, a report.Attribute, pathText *[]report.Attribute) string {
	rel := a.Rel()
	switch {
	case report.RenderedHashLength(rel) > 0:
		if err := n.setHash(f, rel, a.Value); err != nil {
			return err.Error()
		}
	case rel == "malware-sample":
		name, hash, _ := strings.Cut(a.Value, "|")
		if err := n.setHash(f, "md5", hash); err != nil {
			return err.Error()
		}
		if f.Name == "" {
			f.Name, _ = checkFileName(name)
		}
	case rel == "filename":
		name, err := checkFileName(a.Value)
		if err != nil {
			return err.Error()
		}
		f.Name = name
	case rel == "size-in-bytes":
		size, err := checkSize(a.Value)
		if err != nil {
			return err.Error()
		}
		f.Size = size
	case rel == "fullpath":
		f.Path = strings.TrimSpace(a.Value)
	case rel == "text":
		*pathText = append(*pathText, a)
	default:
		return skipReason(rel)
	}
	return ""
}

// looksLikePathOf says whether free text is a Windows path to the named file. Reports often
// put a dropped file's location in a file object's text field.
func looksLikePathOf(text, name string) bool {
	text = strings.TrimSpace(text)
	if pathTail(text) == "" {
		return false
	}
	return name == "" || strings.HasSuffix(strings.ToLower(text), `\`+strings.ToLower(name))
}
