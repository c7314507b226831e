package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/render"
)

// cache keeps the outcomes of each input file, so that a rerun over inputs that did not change
// neither renders nor re-checks them. An entry is keyed by everything that shapes the outcome:
// the rulegen binary, every setting, the input's path and content. An entry that does not
// decode, whose checksum or key does not match, is ignored: the input is processed anew.
type cache struct {
	dir         string
	fingerprint [32]byte
}

// cachedOutcome is an Outcome as the cache keeps it: without the report, with its rule names.
// An entry holds the outcomes' metadata (gob, Files without their bodies) and then the bodies
// as they are, so that a hit decodes little and copies nothing.
type cachedOutcome struct {
	Tally    *Tally
	Files    []render.File // Body left out of the metadata; see Lens
	Lens     []int
	Withheld string
	Rules    int
	Names    []string
}

// maxCachedInput leaves large inputs (a whole feed in one file) to be processed every time:
// their outcomes would be held in memory to be cached.
const maxCachedInput = 32 << 20

// newCache opens the cache in dir for a run with opts; nil for the feed layout.
func newCache(dir string, opts Options) (*cache, error) {
	if opts.Render.Layout == render.LayoutFeed {
		return nil, nil // the feed layout's shared rules need every report's samples
	}
	h := sha256.New()
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if err := hashFile(h, exe); err != nil {
		return nil, err
	}
	if err := writeSettings(h, reflect.ValueOf(opts)); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c := &cache{dir: dir}
	h.Sum(c.fingerprint[:0])
	return c, nil
}

// writeSettings writes a run's settings into h whole, so that no setting can shape rules and
// be left out of the key: every field, by name and value, maps in key order, structs field by
// field, but fields tagged cache:"-" (how a run goes, not what it makes) and the file trees a
// setting names (cache:"tree": a file system; cache:"dirs": directories), hashed by content.
func writeSettings(h io.Writer, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			fmt.Fprintf(h, "\x00%s:", f.Name)
			var err error
			switch f.Tag.Get("cache") {
			case "-":
				continue
			case "tree":
				if fsys, ok := v.Field(i).Interface().(fs.FS); ok && fsys != nil {
					err = hashTree(h, fsys)
				}
			case "dirs":
				for _, d := range v.Field(i).Interface().([]string) {
					if err = hashTree(h, os.DirFS(d)); err != nil {
						err = fmt.Errorf("%s: %w", d, err)
						break
					}
				}
			default:
				err = writeSettings(h, v.Field(i))
			}
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		fmt.Fprintf(h, "map%d{", len(keys))
		for _, k := range keys {
			fmt.Fprintf(h, "%q=", fmt.Sprint(k))
			if err := writeSettings(h, v.MapIndex(k)); err != nil {
				return err
			}
		}
		fmt.Fprint(h, "}")
	case reflect.Slice, reflect.Array:
		fmt.Fprintf(h, "list%d[", v.Len())
		for i := range v.Len() {
			if err := writeSettings(h, v.Index(i)); err != nil {
				return err
			}
		}
		fmt.Fprint(h, "]")
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			fmt.Fprint(h, "nil")
			return nil
		}
		return writeSettings(h, v.Elem())
	case reflect.String:
		fmt.Fprintf(h, "%q", v.String())
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		fmt.Fprintf(h, "%v", v)
	default: // a func or a channel shapes no rule by its value: tag it cache:"-"
		return fmt.Errorf("a setting of kind %s cannot be keyed", v.Kind())
	}
	return nil
}

func hashFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}

// hashTree hashes every file of fsys with its name, in name order.
func hashTree(h io.Writer, fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "\x00%s\x00%d\x00", p, len(data))
		h.Write(data)
		return nil
	})
}

// key is an input's cache key.
func (c *cache) key(path string, data []byte) [32]byte {
	h := sha256.New()
	h.Write(c.fingerprint[:])
	fmt.Fprintf(h, "%d\x00%s\x00", len(path), path)
	h.Write(data)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *cache) file(k [32]byte) string {
	name := hex.EncodeToString(k[:])
	return filepath.Join(c.dir, name[:2], name+".gob")
}

// get returns an input's cached outcomes, or false: missing, corrupt or someone else's.
func (c *cache) get(k [32]byte) ([]cachedOutcome, bool) {
	data, err := os.ReadFile(c.file(k))
	if err != nil || len(data) < 64 || !bytes.Equal(data[:32], k[:]) {
		return nil, false
	}
	sum := sha256.Sum256(data[64:])
	if !bytes.Equal(data[32:64], sum[:]) {
		return nil, false
	}
	rest := data[64:]
	n, size := binary.Uvarint(rest)
	if size <= 0 || n > uint64(len(rest)-size) {
		return nil, false
	}
	var outs []cachedOutcome
	if err := gob.NewDecoder(bytes.NewReader(rest[size : size+int(n)])).Decode(&outs); err != nil {
		return nil, false
	}
	bodies := rest[size+int(n):]
	for i := range outs {
		o := &outs[i]
		if o.Tally == nil || len(o.Lens) != len(o.Files) {
			return nil, false
		}
		for j, l := range o.Lens {
			if l < 0 || l > len(bodies) {
				return nil, false
			}
			o.Files[j].Body, bodies = bodies[:l:l], bodies[l:]
		}
	}
	if len(bodies) != 0 {
		return nil, false
	}
	return outs, true
}

// put stores an input's outcomes, whole or not at all; a cache that cannot be written only
// costs the next run its time.
func (c *cache) put(k [32]byte, outs []cachedOutcome) {
	meta := make([]cachedOutcome, len(outs))
	var bodies [][]byte
	for i, o := range outs {
		meta[i] = o
		meta[i].Files = make([]render.File, len(o.Files))
		meta[i].Lens = make([]int, len(o.Files))
		for j, f := range o.Files {
			meta[i].Files[j] = render.File{Path: f.Path}
			meta[i].Lens[j] = len(f.Body)
			bodies = append(bodies, f.Body)
		}
	}
	var encoded bytes.Buffer
	if gob.NewEncoder(&encoded).Encode(meta) != nil {
		return
	}
	payload := binary.AppendUvarint(nil, uint64(encoded.Len()))
	payload = append(payload, encoded.Bytes()...)
	for _, b := range bodies {
		payload = append(payload, b...)
	}
	sum := sha256.Sum256(payload)
	path := c.file(k)
	if os.MkdirAll(filepath.Dir(path), 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(append(append(k[:32:32], sum[:]...), payload...))
	if cerr := tmp.Close(); err == nil && cerr == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}
