package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws a bar on stderr while a run reads its inputs, when stderr is a terminal.
type progress struct {
	w        io.Writer
	total    int
	done     atomic.Int64
	quit     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newProgress(stderr io.Writer) *progress {
	return &progress{w: stderr, quit: make(chan struct{})}
}

// start draws the bar for total inputs, when stderr is a terminal.
func (p *progress) start(total int) {
	p.total = total
	f, ok := p.w.(*os.File)
	if !ok {
		return
	}
	if info, err := f.Stat(); err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return
	}
	p.wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.quit:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-tick.C:
				p.draw(f)
			}
		}
	})
}

func (p *progress) inputDone() { p.done.Add(1) }

func (p *progress) draw(w io.Writer) {
	const width = 30
	done := int(p.done.Load())
	filled := width * done / max(p.total, 1)
	fmt.Fprintf(w, "\r[%s%s] %d/%d inputs", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, p.total)
}

// stop ends the bar and clears its line; calling it again does nothing.
func (p *progress) stop() {
	p.stopOnce.Do(func() {
		close(p.quit)
		p.wg.Wait()
	})
}
