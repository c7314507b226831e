//go:build cgo

package yara

// #include <yara.h>
// static const char *rulegen_yara_version(void) { return YR_VERSION; }
import "C"

// LibraryVersion is the version of the libyara this binary was built against (and, in a
// static build, contains).
func LibraryVersion() string { return C.GoString(C.rulegen_yara_version()) }
