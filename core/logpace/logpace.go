// Package logpace paces repeated log lines: a warning that could come once
// per request is let through at most once per interval, with the number of
// occurrences it stands for.
package logpace

import (
	"sync"
	"time"
)

// Pacer lets a repeated log line through at most once per interval and
// counts the occurrences in between. Its zero value is ready.
type Pacer struct {
	mu    sync.Mutex
	last  time.Time
	count int
}

// Ready counts one occurrence and reports whether to log now, with the
// number of occurrences since the last log (this one included).
func (p *Pacer) Ready(now time.Time, every time.Duration) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count++
	if !p.last.IsZero() && now.Sub(p.last) < every {
		return 0, false
	}
	n := p.count
	p.last, p.count = now, 0
	return n, true
}

// Keyed is a Pacer per key, such as one per route, so that one busy
// source of a warning does not hide another. Its zero value is ready.
type Keyed struct {
	pacers sync.Map // key → *Pacer
}

// Ready is [Pacer.Ready] for key's pacer.
func (k *Keyed) Ready(key string, now time.Time, every time.Duration) (int, bool) {
	p, ok := k.pacers.Load(key)
	if !ok {
		p, _ = k.pacers.LoadOrStore(key, new(Pacer))
	}
	return p.(*Pacer).Ready(now, every)
}
