package quarantine

import (
	"context"
	"fmt"

	"github.com/rulegen/rulegen/generate/sigma"
)

// unlikely is a value no selective rule looks for: a field holding it tells a rule that
// selects by value from one that only asks for the field.
const unlikely = "rulegen-quarantine-value-7f3a9c41"

// Sigma says why an analyst's Sigma rule must not be deployed, "" when it may: it fires on an
// event without fields, or on one whose every field it names holds a value nobody writes
// (its condition selects nothing: `not selection`, a field that need only be present or
// contain ""), or on every event of the benign logs.
func Sigma(ctx context.Context, r sigma.Rule) (string, error) {
	ev := sigma.NewEvaluator([]sigma.Rule{r})
	fires := func(event map[string]any) (bool, error) {
		names, err := ev.Matches(ctx, event)
		return len(names) > 0, err
	}
	probe := map[string]any{}
	for _, search := range r.Rule.Detection.Searches {
		for _, em := range search.EventMatchers {
			for _, fm := range em {
				probe[fm.Field] = unlikely
			}
		}
	}
	for _, event := range []map[string]any{{}, probe} {
		fired, err := fires(event)
		if err != nil {
			return "", fmt.Errorf("quarantine %s: %w", r.Name, err)
		}
		if fired {
			return "no selective condition: fires on an event that holds none of the values it looks for", nil
		}
	}
	events := BenignEvents()
	for _, event := range events {
		fired, err := fires(event)
		if err != nil {
			return "", fmt.Errorf("quarantine %s: %w", r.Name, err)
		}
		if !fired {
			return "", nil
		}
	}
	return fmt.Sprintf("fires on every one of the %d events of the benign logs", len(events)), nil
}
