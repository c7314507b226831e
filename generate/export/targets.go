package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
	"github.com/rulegen/rulegen/generate/runreport"
)

// Microsoft Defender for Endpoint: the CSV its portal imports (Settings > Endpoints >
// Indicators > Import), whose columns are those of Microsoft's sample file. Its import takes
// 500 indicators a file and the types FileSha1, FileSha256, IpAddress, DomainName and Url;
// no MD5, no address ranges.
var mde = &indicatorTarget{
	name:  "mde",
	batch: 500,
	// "There's a limit of 15,000 indicators per tenant" (Microsoft's indicator documentation).
	tenantLimit: 15000,
	// Audit records and alerts without blocking; Warn, Block and BlockAndRemediate act.
	actions: []string{"Audit", "Warn", "Block", "BlockAndRemediate", "Allowed"},
	kind: func(d report.Deployable) (string, string) {
		switch d.Type {
		case report.DeploySHA256:
			return "FileSha256", ""
		case report.DeploySHA1:
			return "FileSha1", ""
		case report.DeployMD5:
			return "", "Defender for Endpoint's import takes no MD5 (FileSha1 and FileSha256 only)"
		case report.DeployDomain:
			return "DomainName", ""
		case report.DeployIP:
			return "IpAddress", ""
		case report.DeployURL:
			return "Url", ""
		}
		return "", "not an indicator type Defender for Endpoint takes"
	},
	write:     mdeCSV,
	deletions: mdeDeletions,
}

// MDEColumns are the columns of Defender for Endpoint's indicator import, in its order.
var MDEColumns = []string{"IndicatorType", "IndicatorValue", "ExpirationTime", "Action", "Severity", "Title",
	"Description", "RecommendedActions", "RbacGroups", "Category", "MitreTechniques", "GenerateAlert"}

func mdeCSV(items []item, kinds []string, action string) (string, []byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(MDEColumns)
	for i, it := range items {
		expires := ""
		if it.d.Expires != "" {
			expires = it.d.Expires + "T00:00:00.0Z"
		}
		w.Write([]string{kinds[i], it.d.Value, expires, action, "Medium", title(it.report.Title),
			describe(it), "", "", "", strings.Join(it.report.Techniques, ","), "TRUE"})
	}
	w.Flush()
	return ".csv", b.Bytes(), w.Error()
}

// mdeDeletions lists what to delete in the import's first two columns: Defender's API
// deletes an indicator by its value and type.
func mdeDeletions(keys []string) (string, []byte) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"IndicatorType", "IndicatorValue"})
	for _, k := range keys {
		kind, value, _ := strings.Cut(k, "\t")
		w.Write([]string{kind, value})
	}
	w.Flush()
	return "delete.csv", b.Bytes()
}

// CrowdStrike Falcon: the body of its IOC API's create request (POST
// /iocs/entities/indicators/v1: {"indicators": [...], "comment": ...}), 200 a file, which a
// deploy step posts as they are. Falcon's custom IOCs are sha256, md5, domain, ipv4 and ipv6:
// no SHA-1, no URL.
var falcon = &indicatorTarget{
	name:  "crowdstrike",
	batch: 200,
	// detect alerts; prevent blocks (hashes only); no_action keeps the indicator for search.
	actions: []string{"detect", "prevent", "no_action"},
	kind: func(d report.Deployable) (string, string) {
		switch d.Type {
		case report.DeploySHA256:
			return "sha256", ""
		case report.DeployMD5:
			return "md5", ""
		case report.DeploySHA1:
			return "", "Falcon's custom IOCs take no SHA-1 (sha256 and md5 only)"
		case report.DeployDomain:
			return "domain", ""
		case report.DeployIP:
			if a, err := netip.ParseAddr(d.Value); err == nil && a.Is6() && !a.Is4In6() {
				return "ipv6", ""
			}
			return "ipv4", ""
		case report.DeployURL:
			return "", "Falcon's custom IOCs take no URL (its domain is exported when the report lists it)"
		}
		return "", "not an indicator type Falcon takes"
	},
	write:     falconJSON,
	deletions: falconDeletions,
}

// FalconIOC is one indicator of Falcon's IOC API.
type FalconIOC struct {
	Type            string   `json:"type"`
	Value           string   `json:"value"`
	Action          string   `json:"action"`
	Platforms       []string `json:"platforms"`
	Severity        string   `json:"severity"`
	Expiration      string   `json:"expiration,omitempty"`
	Description     string   `json:"description"`
	Source          string   `json:"source"`
	Tags            []string `json:"tags"`
	Filename        string   `json:"filename,omitempty"`
	AppliedGlobally bool     `json:"applied_globally"`
}

// FalconRequest is the body of a create request.
type FalconRequest struct {
	Comment    string      `json:"comment"`
	Indicators []FalconIOC `json:"indicators"`
}

func falconJSON(items []item, kinds []string, action string) (string, []byte, error) {
	req := FalconRequest{Comment: "rulegen export"}
	for i, it := range items {
		ioc := FalconIOC{Type: kinds[i], Value: it.d.Value, Action: action, Platforms: []string{"windows", "mac", "linux"},
			Severity: "medium", Description: describe(it), Source: "rulegen", Tags: falconTags(it.report),
			AppliedGlobally: true}
		if action == "prevent" && kinds[i] != "sha256" && kinds[i] != "md5" {
			ioc.Action = "detect" // Falcon prevents by hash only
		}
		if it.d.Expires != "" {
			ioc.Expiration = it.d.Expires + "T00:00:00Z"
		}
		if kinds[i] == "sha256" || kinds[i] == "md5" {
			ioc.Filename = it.d.Name
		}
		req.Indicators = append(req.Indicators, ioc)
	}
	body, err := json.MarshalIndent(req, "", "  ")
	return ".json", append(body, '\n'), err
}

// falconTags name the report and its techniques: Falcon's IOC management filters by tag.
func falconTags(ri *runreport.ReportIndex) []string {
	tags := []string{"rulegen"}
	if ri.TLP != "" {
		tags = append(tags, "TLP:"+strings.ToUpper(ri.TLP))
	}
	return append(tags, ri.Techniques...)
}

// falconDeletions lists the type and value of each indicator to delete: Falcon's API deletes
// by id, which a deploy step finds by type and value (GET .../queries/indicators/v1 with a
// filter type:'x'+value:'y').
func falconDeletions(keys []string) (string, []byte) {
	type gone struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	var list []gone
	for _, k := range keys {
		kind, value, _ := strings.Cut(k, "\t")
		list = append(list, gone{kind, value})
	}
	body, _ := json.MarshalIndent(list, "", "  ")
	return "delete.json", append(body, '\n')
}

// title is the indicator's title as EDR consoles show it: the report's, cut to 250 bytes, and
// never a spreadsheet formula (a report's title is a third party's text, and these CSV files
// get opened in spreadsheets).
func title(t string) string {
	if len(t) > 250 {
		t = strings.ToValidUTF8(t[:250], "")
	}
	if t != "" && strings.ContainsRune("=+-@\t\r", rune(t[0])) {
		t = "'" + t
	}
	return t
}

// describe says what an indicator is and where it comes from.
func describe(it item) string {
	what := map[report.DeployableType]string{report.DeploySHA256: "Sample", report.DeploySHA1: "Sample", report.DeployMD5: "Sample",
		report.DeployDomain: "Domain", report.DeployIP: "Address", report.DeployURL: "URL"}[it.d.Type]
	s := fmt.Sprintf("%s of %s", what, it.report.Title)
	if it.d.Name != "" {
		s = fmt.Sprintf("%s (%s) of %s", what, it.d.Name, it.report.Title)
	}
	if it.report.Date != "" {
		s += " (" + it.report.Date + ")"
	}
	return s + "; rulegen report " + it.report.ID
}
