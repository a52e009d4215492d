package core_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/curtainhq/curtain/core"
)

// fakePruner has n events to delete, all old, and records its calls.
type fakePruner struct {
	mu      sync.Mutex
	left    int
	befores []time.Time
}

func (p *fakePruner) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.befores = append(p.befores, before)
	n := min(limit, p.left)
	p.left -= n
	return n, nil
}

func (p *fakePruner) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.befores)
}

func TestRunRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePruner{left: 5}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		start := time.Now()
		go func() {
			core.RunRetention(ctx, p, core.RetentionConfig{MaxAge: 30 * 24 * time.Hour, Batch: 2, Interval: time.Hour})
			close(done)
		}()
		synctest.Wait()
		// 2 + 2 + 1, then an empty batch ends the pass.
		if got := p.calls(); got != 4 {
			t.Fatalf("first pass made %d calls, want 4", got)
		}
		if want := start.Add(-30 * 24 * time.Hour); !p.befores[0].Equal(want) {
			t.Errorf("before = %v, want %v", p.befores[0], want)
		}
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if got := p.calls(); got != 4 {
			t.Errorf("%d calls before the interval ended, want 4", got)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := p.calls(); got != 5 {
			t.Errorf("%d calls after the interval, want 5 (one empty pass)", got)
		}
		cancel()
		<-done
	})
}

func TestRunRetentionDisabled(t *testing.T) {
	p := &fakePruner{left: 5}
	core.RunRetention(t.Context(), p, core.RetentionConfig{}) // returns at once
	if p.calls() != 0 {
		t.Errorf("disabled retention called PruneEvents %d times", p.calls())
	}
}
