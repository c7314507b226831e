package pipeline

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// The cache key holds every setting whole: each field of Options, and of the structs in it,
// changes the key when it changes, but those tagged cache:"-". A field added to any of them is
// in the key, and checked here, without anyone listing it.
func TestCacheKeyHoldsEverySetting(t *testing.T) {
	key := func(o Options) [32]byte {
		h := sha256.New()
		if err := writeSettings(h, reflect.ValueOf(o)); err != nil {
			t.Fatal(err)
		}
		var k [32]byte
		h.Sum(k[:0])
		return k
	}
	base := key(Options{})
	if key(Options{}) != base {
		t.Fatal("the same settings give two keys")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "list.json"), []byte(`{"name": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	checked := 0
	var visit func(path []string, index []int, typ reflect.Type)
	visit = func(path []string, index []int, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := f.Tag.Get("cache")
			if tag == "-" {
				continue
			}
			idx, name := append(append([]int{}, index...), i), append(append([]string{}, path...), f.Name)
			if f.Type.Kind() == reflect.Struct {
				visit(name, idx, f.Type)
				continue
			}
			var o Options
			field := reflect.ValueOf(&o).Elem().FieldByIndex(idx)
			switch {
			case tag == "tree":
				field.Set(reflect.ValueOf(fstest.MapFS{"yara/_network.tmpl": {Data: []byte("x")}}))
			case tag == "dirs":
				field.Set(reflect.ValueOf([]string{dir}))
			default:
				setNonZero(t, strings.Join(name, "."), field)
			}
			if key(o) == base {
				t.Errorf("%s changes no cache key", strings.Join(name, "."))
			}
			checked++
		}
	}
	visit(nil, nil, reflect.TypeOf(Options{}))
	if checked < 15 {
		t.Errorf("only %d settings checked", checked)
	}
}

func setNonZero(t *testing.T, name string, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		setNonZero(t, name, k)
		setNonZero(t, name, e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Slice:
		e := reflect.New(v.Type().Elem()).Elem()
		setNonZero(t, name, e)
		v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), e))
	default:
		t.Fatalf("%s: no test value for a %s: give the test one, or tag the field cache:\"-\" if it shapes no rule", name, v.Kind())
	}
}
