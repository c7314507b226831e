package runreport_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rulegen/rulegen/generate/internal/atomicdir"
	"github.com/rulegen/rulegen/generate/runreport"
)

// A run's summary says how the rules reached the directory when they were moved in file by
// file (a mount point), where readers could see old and new files side by side for a moment.
func TestSummarySaysFilesMovedOneByOne(t *testing.T) {
	var sum bytes.Buffer
	(&runreport.Summary{Out: "rules", Written: atomicdir.Written{Files: 1, Mode: atomicdir.PerFile}}).Write(&sum)
	if !strings.Contains(sum.String(), "moved in file by file") {
		t.Errorf("the summary does not say how the rules were written: %s", sum.String())
	}
}
