package export

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
)

// splunkSeverity maps Sigma's level to savedsearches.conf's alert.severity (1 debug, 2 info,
// 3 low, 4 medium, 5 high, 6 critical).
var splunkSeverity = map[string]int{"informational": 2, "low": 3, "medium": 4, "high": 5, "critical": 6}

// SplunkStanza names a rule's saved search by its Sigma id, so that a changed title leaves the
// search where it is.
func SplunkStanza(id string) string { return "rulegen " + id }

// splunkQueries converts with pySigma's Splunk backend and splunk_windows. Splunk documents no
// limit on a search's length.
var splunkQueries = queryTarget{name: "splunk", backend: "splunk", pipelines: []string{"splunk_windows"}, storeAbove: SplunkStoreAbove}

// SplunkStoreAbove is the most hashes a Splunk search keeps: past it they go to the app's lookup.
// Splunk documents no limit on a search's length; this is rulegen's, as long a search as
// Elastic's rules hold.
const SplunkStoreAbove = 8000

// SplunkLookup is the app's lookup of stored hashes (lookups/<name>.csv, in transforms.conf).
const SplunkLookup = "rulegen_indicators"

// splunkLookupSearch looks a process's hashes (Sysmon's Hashes field: SHA1=…,MD5=…,SHA256=…) up
// in the app's lookup, among the hashes of the rule id.
func splunkLookupSearch(id string) string {
	return `Hashes=* | eval rulegen_hash=split(lower(Hashes), ",") | mvexpand rulegen_hash` +
		` | rex field=rulegen_hash "^(?<rulegen_algorithm>sha256|sha1|md5)=(?<rulegen_value>[0-9a-f]+)$"` +
		` | lookup ` + SplunkLookup + ` hash AS rulegen_value OUTPUT rule_id AS rulegen_rule_id` +
		` | search rulegen_rule_id="` + id + `"`
}

// exportSplunk writes a Splunk app (default/app.conf, default/savedsearches.conf): a scheduled
// search per Sigma rule (not the deprecated ones), its SPL from pySigma's Splunk backend with
// the splunk_windows pipeline.
func exportSplunk(opts Options) (*Result, error) {
	d, err := startDetections(opts, "splunk", "pySigma's Splunk backend (splunk_windows)", splunkQueries)
	if err != nil {
		return nil, err
	}
	var conf strings.Builder
	conf.WriteString("# Written by rulegen export --target splunk: one scheduled search per Sigma rule, named by its id.\n")
	// The lookup of stored hashes is always written, empty without them, so that no stale
	// one stays.
	var lookup strings.Builder
	lookup.WriteString("rule_id,algorithm,hash\n")
	for _, r := range d.rules {
		if r.hashes != nil {
			r.query = splunkLookupSearch(r.id)
			r.meta.Description += storeSummary(r.hashes, "the lookup "+SplunkLookup)
			for _, h := range r.hashes {
				lookup.WriteString(r.id + "," + h.Algorithm + "," + h.Value + "\n")
			}
		}
		writeStanza(&conf, r, d.version(r.id, r.query).Version)
	}
	files := []atomicdir.File{
		{Path: "default/app.conf", Body: []byte(splunkApp)},
		{Path: "default/savedsearches.conf", Body: []byte(conf.String())},
		{Path: "default/transforms.conf", Body: []byte("# Written by rulegen export --target splunk: the stored hashes the lookup searches look up.\n[" +
			SplunkLookup + "]\nfilename = " + SplunkLookup + ".csv\ncase_sensitive_match = false\n")},
		{Path: "lookups/" + SplunkLookup + ".csv", Body: []byte(lookup.String())},
	}
	return d.write(files, func(gone []string) atomicdir.File {
		// The saved searches to delete (DELETE /servicesNS/nobody/rulegen_detections/saved/searches/{name}).
		var names []string
		for _, id := range gone {
			names = append(names, SplunkStanza(id))
		}
		return atomicdir.File{Path: "delete.txt", Body: []byte(strings.Join(names, "\n") + "\n")}
	})
}

const splunkApp = `# Written by rulegen export --target splunk.
[install]
is_configured = true

[package]
id = rulegen_detections

[ui]
is_visible = false
label = rulegen detections

[launcher]
author = rulegen
description = Detections rulegen generated from threat reports, as Sigma rules converted by pySigma.
version = 1.0.0
`

// writeStanza writes one saved search: scheduled every five minutes over the last six, alerting
// on any result, with the rule's severity, ATT&CK techniques, id and version (in Enterprise
// Security's correlation search metadata, as Splunk's own detections carry them).
func writeStanza(b *strings.Builder, r queryRule, version int) {
	meta, id := r.meta, r.id
	severity := cmp.Or(splunkSeverity[meta.Level], 4)
	var techniques []string
	for _, tag := range meta.Tags {
		if v, ok := strings.CutPrefix(strings.ToLower(tag), "attack.t"); ok && v != "" && v[0] >= '0' && v[0] <= '9' {
			techniques = append(techniques, "T"+strings.ToUpper(v))
		}
	}
	annotations, _ := json.Marshal(map[string][]string{"mitre_attack": nonNil(techniques)})
	metadata, _ := json.Marshal(map[string]string{"detection_id": id, "detection_version": fmt.Sprint(version)})
	fmt.Fprintf(b, "\n[%s]\n", SplunkStanza(id))
	for _, kv := range [][2]string{
		{"description", r.title() + ": " + cmp.Or(meta.Description, meta.Title)},
		{"search", r.query},
		{"enableSched", "1"},
		{"cron_schedule", "*/5 * * * *"},
		{"dispatch.earliest_time", "-6m"},
		{"dispatch.latest_time", "now"},
		{"counttype", "number of events"},
		{"relation", "greater than"},
		{"quantity", "0"},
		{"alert.severity", fmt.Sprint(severity)},
		{"alert.track", "1"},
		{"action.correlationsearch.enabled", "1"},
		{"action.correlationsearch.label", r.title()},
		{"action.correlationsearch.annotations", string(annotations)},
		{"action.correlationsearch.metadata", string(metadata)},
	} {
		fmt.Fprintf(b, "%s = %s\n", kv[0], confValue(kv[1]))
	}
}

// confValue keeps a value on its line: a .conf value ends at the line's end (line breaks
// become spaces, which SPL and descriptions take alike), unless the line ends with a
// backslash, which a space after it stops.
func confValue(v string) string {
	v = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(v)
	if strings.HasSuffix(v, `\`) {
		v += " "
	}
	return v
}
