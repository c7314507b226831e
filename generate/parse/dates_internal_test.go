package parse

import (
	"slices"
	"testing"
)

// The dates a text mentions: ISO days standing apart or starting a date and time, and dates
// written out in English; never a day that is none, nor digits inside a longer word.
func TestDatesIn(t *testing.T) {
	text := "Seen 2024-01-02, 2024-08-22T09:00:00Z and x2023-01-01; 2024-13-01, 2024-02-30 and 12024-01-01 are none.\n" +
		"Published on 1 May 2024, updated June 3rd, 2023 and Mar. 14th, 2022; 12 Marching 2021 and 31 April 2020 are none.\n" +
		"Build 20240102 and version 2024.1 neither. 2019-12-31"
	want := []string{"2024-01-02", "2024-08-22", "2024-05-01", "2023-06-03", "2022-03-14", "2019-12-31"}
	if got := datesIn(text); !slices.Equal(got, want) {
		t.Errorf("datesIn: %q, want %q", got, want)
	}
}
