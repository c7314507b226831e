package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rulegen/rulegen/generate/parse"
	"github.com/rulegen/rulegen/generate/report"
)

// event is one MISP event as a pull keeps it.
type event struct {
	uuid      string
	timestamp int64
	body      []byte // canonical: {"Event": …}, keys sorted, two-space indentation
}

// errOverLimit marks an event over generate's input limits: skipped, not a failed pull.
var errOverLimit = errors.New("over the input limits")

// readEvent checks that raw is one MISP event, {"Event": {...}} with a uuid, within limits,
// and writes it in a canonical form, so that the same event always gives the same bytes: keys
// sorted, two-space indentation, numbers and strings as the server wrote them, a final newline.
func readEvent(raw []byte, limits parse.Limits) (*event, error) {
	if err := limits.CheckDepth("event", raw); err != nil {
		return nil, fmt.Errorf("%w: %v", errOverLimit, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a MISP event: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not a MISP event: more than one JSON value")
	}
	ev, ok := doc["Event"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a MISP event: no \"Event\" object (keys %s)", keyList(doc))
	}
	id, _ := ev["uuid"].(string)
	if !report.IsUUID(id) {
		return nil, fmt.Errorf("Event.uuid %q is not a uuid", truncate(id))
	}
	ts, err := eventTimestamp(ev["timestamp"])
	if err != nil {
		return nil, err
	}
	if n := attributeCount(ev); n > limits.MaxAttributes() {
		return nil, fmt.Errorf("%w: event %s has %d attributes: more than the limit of %d (--max-attributes)", errOverLimit, id, n, limits.MaxAttributes())
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"Event": ev}); err != nil {
		return nil, err
	}
	return &event{uuid: id, timestamp: ts, body: b.Bytes()}, nil
}

// eventTimestamp reads Event.timestamp, which MISP writes as a string or a number of seconds;
// an event without one has 0.
func eventTimestamp(v any) (int64, error) {
	var text string
	switch t := v.(type) {
	case nil:
		return 0, nil
	case json.Number:
		text = t.String()
	case string:
		text = t
	default:
		return 0, fmt.Errorf("Event.timestamp: want seconds since 1970, got %T", v)
	}
	n, err := parse.MISPTimestamp(text)
	if err != nil {
		return 0, fmt.Errorf("Event.timestamp %q: %v", truncate(text), err)
	}
	return n, nil
}

func keyList(m map[string]any) string {
	keys := sortedKeys(m)
	if len(keys) > 5 {
		keys = append(keys[:5], "…")
	}
	return fmt.Sprintf("%q", keys)
}

// truncate keeps a value from the outside short in a message.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// attributeCount is how many attributes an event holds, its objects' included.
func attributeCount(ev map[string]any) int {
	attrs, _ := ev["Attribute"].([]any)
	n := len(attrs)
	objects, _ := ev["Object"].([]any)
	for _, o := range objects {
		if obj, ok := o.(map[string]any); ok {
			a, _ := obj["Attribute"].([]any)
			n += len(a)
		}
	}
	return n
}
