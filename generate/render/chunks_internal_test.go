package render

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rulegen/rulegen/generate/normalize"
	"github.com/rulegen/rulegen/generate/parse"
)

// A file rendered past spillBytes goes through a temporary file, or, when none can be made,
// is rendered a second time: either way it is byte for byte the file rendered in memory, and
// no temporary file is left behind.
func TestLargeFilesRenderAsSmallOnes(t *testing.T) {
	rd, err := New(Options{Author: "t"})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parse.File(filepath.Join("..", "..", "testdata", "reports", "misp", "eset_windigo_ebury.misp.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := normalize.Report(parsed, normalize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	render := func() []File {
		t.Helper()
		yaraFiles, err := rd.RenderYARA(r)
		if err != nil {
			t.Fatal(err)
		}
		sigmaFiles, err := rd.RenderSigma(r)
		if err != nil {
			t.Fatal(err)
		}
		return append(yaraFiles, sigmaFiles...)
	}
	inMemory := render()

	defer func(was int) { spillBytes = was }(spillBytes)
	spillBytes = 512
	tmp := t.TempDir()
	for _, tc := range []struct{ name, tmpdir string }{
		{"spilled", tmp},
		{"rendered twice", filepath.Join(tmp, "missing")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TMPDIR", tc.tmpdir)
			got := render()
			if len(got) != len(inMemory) {
				t.Fatalf("%d files, in memory %d", len(got), len(inMemory))
			}
			large := 0
			for i := range got {
				if got[i].Path != inMemory[i].Path || !bytes.Equal(got[i].Body, inMemory[i].Body) {
					t.Errorf("%s differs from its rendering in memory", got[i].Path)
				}
				if len(got[i].Body) > spillBytes {
					large++
				}
			}
			if large == 0 {
				t.Fatal("no file was past spillBytes: the test proves nothing")
			}
			if left, _ := os.ReadDir(tmp); len(left) > 1 || len(left) == 1 && left[0].Name() != "missing" {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
