package bunstore

import "sync"

// maxGroup bounds how many creates share one transaction.
const maxGroup = 64

// pgGroups is how many groups may commit at once on PostgreSQL. Each
// group waits mostly for its commit's WAL flush; with several in flight
// the next group's statements run during that flush, and PostgreSQL
// flushes concurrent commits together. Since a group is two statements
// (createGroup), two in flight did better than four (larger groups, less
// CPU per create) and eight worse still. SQLite has one writer: one group.
const pgGroups = 2

// createReq is one CreateOrFindURL waiting for its group's commit.
type createReq struct {
	orig  urlRow    // the link to create, as asked
	row   urlRow    // the link created or found
	keyID int64     // the creating API key, 0: none
	event *eventRow // nil: no created event
	found bool
	err   error
	done  chan struct{} // closed when found and err are set
	lead  chan struct{} // receives once when this request is handed a slot
	// Guarded by createGroup.mu:
	led   bool // handed a slot (lead sent)
	taken bool // in a group (committing or committed)
}

// createGroup commits concurrent creates together (group commit): while
// groups commit, the creates that arrive wait and then share the next
// transaction, so that many creates pay for one durable commit. Up to
// slots groups (at least one) commit at once. There is no goroutine of its
// own: a request that finds a free slot, or is handed one, commits groups
// of waiting requests until its own is in one, then hands the slot to the
// oldest request still waiting. Its zero value is ready, with one slot.
type createGroup struct {
	slots int

	mu      sync.Mutex
	pending []*createReq
	active  int // slots held
}

// do queues r and returns when r's group has committed, committing groups
// with commit while r holds a slot.
func (g *createGroup) do(r *createReq, commit func([]*createReq)) {
	r.done = make(chan struct{})
	r.lead = make(chan struct{}, 1)
	g.mu.Lock()
	g.pending = append(g.pending, r)
	holder := g.active < max(g.slots, 1)
	if holder {
		g.active++
	}
	g.mu.Unlock()
	if !holder {
		select {
		case <-r.done:
			// Another holder committed r. A slot handed to r before that
			// (lead is sent only while r waits in pending, so before done)
			// must be passed on.
			select {
			case <-r.lead:
				g.release()
			default:
			}
			return
		case <-r.lead:
		}
	}
	for {
		g.mu.Lock()
		if r.taken {
			g.mu.Unlock()
			g.release()
			<-r.done
			return
		}
		n := min(len(g.pending), maxGroup)
		batch := g.pending[:n:n]
		g.pending = g.pending[n:]
		for _, b := range batch {
			b.taken = true
		}
		g.mu.Unlock()

		commit(batch)
		for _, b := range batch {
			close(b.done)
		}
	}
}

// release hands a held slot to the oldest waiting request not yet handed
// one, or frees it.
func (g *createGroup) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.pending {
		if !p.led {
			p.led = true
			p.lead <- struct{}{}
			return
		}
	}
	g.active--
}
