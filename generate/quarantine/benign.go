package quarantine

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"io/fs"
	"path"
	"sync"
)

// benign is the set passed-through rules are held to: see benign/SOURCES.md.
//
//go:embed benign/files benign/events
var benign embed.FS

// File is one file of the benign set.
type File struct {
	Name string
	Data []byte
}

// BenignFiles are the ordinary files of the benign set (executables, images, an archive, a
// PDF, scripts, text), by name: no passed-through YARA rule may match one, and the tests hold
// the bundled and generated rules to them too.
var BenignFiles = sync.OnceValue(func() []File {
	entries, _ := fs.ReadDir(benign, "benign/files")
	var out []File
	for _, e := range entries {
		data, err := fs.ReadFile(benign, path.Join("benign/files", e.Name()))
		if err == nil {
			out = append(out, File{Name: e.Name(), Data: data})
		}
	}
	return out // fs.ReadDir sorts by name
})

// BenignEvents are the benign set's log events (real Sysmon and Security events, flat JSON):
// no passed-through Sigma rule may fire on all of them.
var BenignEvents = sync.OnceValue(func() []map[string]any {
	entries, _ := fs.ReadDir(benign, "benign/events")
	var out []map[string]any
	for _, e := range entries {
		data, err := fs.ReadFile(benign, path.Join("benign/events", e.Name()))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 1<<16), 1<<22)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				out = append(out, ev)
			}
		}
	}
	return out
})
