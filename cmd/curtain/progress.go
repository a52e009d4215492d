package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/curtainhq/curtain/drivers/bunstore"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports long work: a bar when w is a terminal, otherwise a
// plain line at every tenth of the work (logs and CI keep readable).
type progress struct {
	bar   *progressbar.ProgressBar // nil when w is not a terminal
	w     io.Writer
	what  string
	total int
	done  int
	shown int // tenths already reported
}

func newProgress(w io.Writer, what string, total int) *progress {
	p := &progress{w: w, what: what, total: total}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// add records n more units done.
func (p *progress) add(n int) {
	p.done += n
	if p.bar != nil {
		_ = p.bar.Add(n)
		return
	}
	if p.total <= 0 {
		return
	}
	if tenth := p.done * 10 / p.total; tenth > p.shown {
		p.shown = tenth
		fmt.Fprintf(p.w, "%s: %d/%d (%d%%)\n", p.what, p.done, p.total, p.done*100/p.total)
	}
}

// finish clears the bar.
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// withMigrationProgress returns a context under which opening a store
// shows the migrations it applies on w ("applying migrations"); nothing is
// shown when the store is up to date.
func withMigrationProgress(ctx context.Context, w io.Writer) (context.Context, func()) {
	var bar *progress
	ctx = bunstore.WithMigrationProgress(ctx, func(done, total int, name string) {
		if bar == nil {
			bar = newProgress(w, "applying migrations", total)
		}
		bar.add(1)
	})
	return ctx, func() {
		if bar != nil {
			bar.finish()
		}
	}
}
