package core

import "sync"

// urlMemoMax bounds how many decoded URL objects a urlMemo keeps; a full
// memo starts over.
const urlMemoMax = 8192

// urlMemo remembers, per URL id, the URL decoded from the URL object the
// cache last held, so that a cache hit whose bytes have not changed is not
// parsed again. Every use compares the cached bytes with the remembered
// ones, so the memo only ever answers with what the cache holds now: it
// saves work and is not a second cache. Safe for concurrent use; the URLs
// it returns share their pointer fields, which callers must not change.
type urlMemo struct {
	mu sync.RWMutex
	m  map[int64]memoURL
}

// memoURL is one remembered decoding: the cached bytes and their URL.
type memoURL struct {
	raw string
	u   URL
}

// get returns the URL decoded earlier from exactly raw for id.
func (m *urlMemo) get(id int64, raw []byte) (URL, bool) {
	m.mu.RLock()
	e, ok := m.m[id]
	m.mu.RUnlock()
	if !ok || e.raw != string(raw) {
		return URL{}, false
	}
	return e.u, true
}

// put remembers that raw, cached for id, decodes to u.
func (m *urlMemo) put(id int64, raw []byte, u URL) {
	m.mu.Lock()
	if m.m == nil || len(m.m) >= urlMemoMax {
		m.m = make(map[int64]memoURL)
	}
	m.m[id] = memoURL{raw: string(raw), u: u}
	m.mu.Unlock()
}
