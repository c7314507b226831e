package render

import (
	"bufio"
	"os"
	"runtime"
)

// spillBytes is the size past which a rendered file is spilled to a temporary file rather
// than held in pieces and joined (a variable for the tests).
var spillBytes = 32 << 20

const chunkSize = 1 << 20

// chunks collects what a template writes, so that the file ends up in one buffer of exactly
// its size: a growing buffer would hold up to twice a file of hundreds of megabytes (a bulk
// list's rules) beside the report. Up to keep bytes it holds pieces of at most chunkSize and
// joins them once; past keep it writes everything to a temporary file and reads it back, so
// the file is never in memory twice, nor rendered twice. If no temporary file can be
// written it only counts, and bytes says the file must be rendered again.
type chunks struct {
	full  [][]byte
	cur   []byte
	size  int
	keep  int
	spill *os.File
	w     *bufio.Writer
	// counting: the spill failed; what is written is only counted.
	counting bool
}

func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	c.size += n
	if c.size > c.keep && c.spill == nil && !c.counting {
		c.startSpill()
	}
	switch {
	case c.counting:
		return n, nil
	case c.spill != nil:
		if _, err := c.w.Write(p); err != nil {
			c.stopSpill()
		}
		return n, nil
	}
	for len(p) > 0 {
		if len(c.cur) == cap(c.cur) {
			if c.cur != nil {
				c.full = append(c.full, c.cur)
			}
			c.cur = make([]byte, 0, min(chunkSize, max(4096, 2*c.size)))
		}
		k := copy(c.cur[len(c.cur):cap(c.cur)], p)
		c.cur = c.cur[:len(c.cur)+k]
		p = p[k:]
	}
	return n, nil
}

// startSpill moves what is held into a temporary file, or starts counting when none can be
// made.
func (c *chunks) startSpill() {
	f, err := os.CreateTemp("", "rulegen-render-*")
	if err != nil {
		c.stopSpill()
		return
	}
	c.spill, c.w = f, bufio.NewWriterSize(f, chunkSize)
	for _, piece := range append(c.full, c.cur) {
		if _, err := c.w.Write(piece); err != nil {
			c.stopSpill()
			return
		}
	}
	c.full, c.cur = nil, nil
}

// stopSpill lets what is held go and counts from now on.
func (c *chunks) stopSpill() {
	c.counting = true
	c.full, c.cur, c.w = nil, nil, nil
	c.discard()
}

// discard removes the temporary file, if any.
func (c *chunks) discard() {
	if c.spill != nil {
		c.spill.Close()
		os.Remove(c.spill.Name())
		c.spill = nil
	}
}

// bytes is the file in one buffer of its size, with room for the final newline newFile may
// add; ok is false when it was only counted.
func (c *chunks) bytes() (out []byte, ok bool) {
	if c.counting {
		return nil, false
	}
	if c.spill != nil {
		// What rendered a file this size (the template's data, hundreds of megabytes for a bulk
		// list) is garbage now: collected before the buffer is made, the buffer takes its place
		// instead of adding to it at the run's peak.
		runtime.GC()
	}
	out = make([]byte, c.size, c.size+1)
	if c.spill == nil {
		at := 0
		for _, piece := range append(c.full, c.cur) {
			at += copy(out[at:], piece)
		}
		return out, true
	}
	if err := c.w.Flush(); err != nil {
		return nil, false
	}
	if n, _ := c.spill.ReadAt(out, 0); n != c.size {
		return nil, false
	}
	c.discard()
	return out, true
}
