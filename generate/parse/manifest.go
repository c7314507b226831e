package parse

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// ReadManifest decodes a MISP feed manifest (an object keyed by event uuid) and returns its
// entries and its keys, sorted. Data that is no object, or an object none of whose keys is an
// event uuid (a vendor's own index), is not a MISP feed manifest: the error names where it is
// and, the same way every time, its keys. Keys that are not uuids are the caller's to skip.
func ReadManifest(where string, data []byte) (map[string]json.RawMessage, []string, error) {
	var manifest map[string]json.RawMessage
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, nil, fmt.Errorf("%s: not a MISP feed manifest (want an object keyed by event uuid): %v", where, err)
	}
	keys := slices.Sorted(maps.Keys(manifest))
	if len(keys) > 0 && !slices.ContainsFunc(keys, report.IsUUID) {
		return nil, nil, fmt.Errorf("%s: not a MISP feed manifest: its keys (%s) are not event uuids", where, quotedKeys(keys, 5))
	}
	return manifest, keys, nil
}

// quotedKeys lists at most n keys, quoted.
func quotedKeys(keys []string, n int) string {
	var parts []string
	for i, k := range keys {
		if i == n {
			parts = append(parts, "…")
			break
		}
		if len(k) > 60 {
			k = k[:60] + "…"
		}
		parts = append(parts, strconv.Quote(k))
	}
	return strings.Join(parts, ", ")
}
