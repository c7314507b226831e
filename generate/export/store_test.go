package export

import (
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/sigma"
)

const processRule = `title: 'Many samples - Malware Process Execution'
id: 1c0ffee0-8a53-4c5e-9d43-6a1f0b0c2e11
status: experimental
description: 'Detects processes started from the samples of Many samples.'
author: rulegen
date: 2026-12-01
tags:
    - detection.emerging-threats
logsource:
    product: %s
    category: process_creation
detection:
    selection_image:
        Image|endswith:
            - '\evil.exe'
    selection_hash:
        Hashes|contains:
            - 'SHA256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF'
            - 'MD5=0123456789ABCDEF0123456789ABCDEF'
            - 'IMPHASH=95B9201A814833A97185A4D67FDC3904'
    selection_hash_2:
        Hashes|contains:
            - 'SHA256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF'
            - 'SHA1=0123456789ABCDEF0123456789ABCDEF01234567'
    condition: %s
falsepositives:
    - Unlikely
level: high
`

// A Windows process rule's SHA-256, SHA-1 and MD5 values go to the store, each once, in lower
// case; what it detects besides (a path, an imphash a lookup of whole hashes cannot take) stays
// a valid Sigma rule without them.
func TestStoreHashesTakesWholeHashesAndLeavesTheRest(t *testing.T) {
	hashes, rest, ok := storeHashes([]byte(sprintf(processRule, "windows", "1 of selection_*")))
	if !ok || len(hashes) != 3 {
		t.Fatalf("ok %v, hashes %v", ok, hashes)
	}
	for _, h := range hashes {
		if h.Value != strings.ToLower(h.Value) || !strings.Contains(strings.ToLower(processRule), strings.ToLower(strings.ToUpper(h.Algorithm)+"="+h.Value)) {
			t.Errorf("stored %+v", h)
		}
		if strings.Contains(strings.ToLower(string(rest)), h.Value) {
			t.Errorf("the rest still holds %s:\n%s", h.Value, rest)
		}
	}
	if !strings.Contains(string(rest), `\evil.exe`) || !strings.Contains(string(rest), "IMPHASH=95B9201A814833A97185A4D67FDC3904") {
		t.Errorf("the rest lost what the rule detects besides its hashes:\n%s", rest)
	}
	if _, err := sigma.Load("rest", rest); err != nil {
		t.Errorf("the rest is no valid Sigma rule: %v\n%s", err, rest)
	}
	// Not Windows; selections that must all match; hashes the condition leaves out.
	for _, refused := range [][2]string{{"linux", "1 of selection_*"}, {"windows", "selection_image and selection_hash"}, {"windows", "selection_image"}} {
		if _, _, ok := storeHashes([]byte(sprintf(processRule, refused[0], refused[1]))); ok {
			t.Errorf("stored the hashes of a rule on %s with the condition %q", refused[0], refused[1])
		}
	}
}

func sprintf(format string, args ...string) string {
	for _, a := range args {
		format = strings.Replace(format, "%s", a, 1)
	}
	return format
}
