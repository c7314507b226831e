package normalize

import (
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// object handles a MISP object: file objects become one File; the attributes of other objects
// are read one by one.
func object(r *report.Report, o report.Object) {
	if o.Name != "file" {
		for _, a := range o.Attributes {
			attribute(r, a)
		}
		return
	}
	if f, ok := fileObject(r, o); ok {
		r.Files = append(r.Files, f)
	}
}

func fileObject(r *report.Report, o report.Object) (report.File, bool) {
	f := report.File{Pos: o.Pos}
	var pathText []report.Attribute // free text that may be the file's path
	dir := ""                       // MISP's "path" relation: the directory, without the name
	for _, a := range o.Attributes {
		if isPlaceholder(a.Value) {
			r.Skip(a, "placeholder, not a value")
			continue
		}
		if a.Rel() == "path" {
			dir = strings.TrimRight(strings.TrimSpace(a.Value), `\`)
			continue
		}
		if err := fileAttribute(&f, a, &pathText); err != "" {
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
		f.Role = "sample"
	case f.Name != "":
		f.Role = "dropped"
	default:
		r.Skipped = append(r.Skipped, report.Skipped{Value: o.Name, Kind: "object", Reason: "file object with neither a usable hash nor a file name", Source: o.Pos})
		return f, false
	}
	return f, true
}

// fileAttribute sets one field of f; it returns why the attribute was not used, or "".
func fileAttribute(f *report.File, a report.Attribute, pathText *[]report.Attribute) string {
	rel := a.Rel()
	switch {
	case hashLengths[rel] > 0:
		if err := setHash(f, rel, a.Value); err != nil {
			return err.Error()
		}
	case rel == "malware-sample":
		name, hash, _ := strings.Cut(a.Value, "|")
		if err := setHash(f, "md5", hash); err != nil {
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
