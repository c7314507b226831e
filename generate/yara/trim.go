//go:build cgo

package yara

// #include <stdlib.h>
// #ifdef __GLIBC__
// #include <malloc.h>
// static void rulegen_trim(void) { malloc_trim(0); }
// #else
// static void rulegen_trim(void) {}
// #endif
import "C"

// trimCHeap hands the C heap's free pages back to the system. A compiler that parsed
// megabytes of rules leaves libyara's allocator holding what it freed, which glibc keeps
// unless asked: a large source's pieces would otherwise add hundreds of megabytes to a run's
// peak memory.
func trimCHeap() { C.rulegen_trim() }

// releaseCompilers destroys the idle compilers and trims the C heap.
func releaseCompilers() {
	for {
		select {
		case c := <-checkers.idle:
			c.Destroy()
		default:
			trimCHeap()
			return
		}
	}
}
