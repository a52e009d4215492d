package bunstore

import "sync"

// maxGroup bounds how many creates share one transaction.
const maxGroup = 64

// createReq is one CreateOrFindURL waiting for its group's commit.
type createReq struct {
	row   urlRow
	keyID int64     // the creating API key, 0: none
	event *eventRow // nil: no created event
	found bool
	err   error
	done  chan struct{} // closed when found and err are set
	lead  chan struct{} // receives once when this request must commit a group
}

// createGroup commits concurrent creates together (group commit): while
// one group's transaction commits, the creates that arrive wait and then
// share the next transaction, so that many creates pay for one durable
// commit. There is no goroutine of its own: the first waiting request
// commits a group, then hands the turn to the oldest request still
// waiting. Its zero value is ready.
type createGroup struct {
	mu      sync.Mutex
	pending []*createReq
	busy    bool // a group is committing; false only when pending is empty
}

// do queues r and returns when r's group has committed, committing groups
// with commit when it is r's turn.
func (g *createGroup) do(r *createReq, commit func([]*createReq)) {
	r.done = make(chan struct{})
	r.lead = make(chan struct{}, 1)
	g.mu.Lock()
	g.pending = append(g.pending, r)
	leader := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !leader {
		select {
		case <-r.done:
			return
		case <-r.lead:
		}
	}
	// r is first in pending now: the first to arrive, or handed the turn.
	g.mu.Lock()
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()

	commit(batch)
	for _, b := range batch {
		close(b.done)
	}

	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].lead <- struct{}{}
	} else {
		g.busy = false
	}
	g.mu.Unlock()
}
