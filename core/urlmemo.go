package core

import "sync"

// urlMemoMax bounds how many decoded values a memo keeps; a full memo
// starts over.
const urlMemoMax = 8192

// urlMemo remembers, per URL id, the URL decoded from the URL object the
// cache last held (GetURL).
type urlMemo = decodeMemo[int64, URL]

// targetMemo remembers, per short code, the redirect target decoded from
// a cached entry that the fast path of decodeRedirect does not read (a
// link with options: a password, rules, bounds).
type targetMemo = decodeMemo[string, RedirectTarget]

// decodeMemo remembers, per key, the value decoded from the bytes the
// cache last held, so that a cache hit whose bytes have not changed is not
// parsed again. Every use compares the cached bytes with the remembered
// ones, so the memo only ever answers with what the cache holds now: it
// saves work and is not a second cache. Safe for concurrent use; the
// values it returns share their pointer fields, which callers must not
// change.
type decodeMemo[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]memoEntry[V]
}

// memoEntry is one remembered decoding: the cached bytes and their value.
type memoEntry[V any] struct {
	raw string
	v   V
}

// get returns the value decoded earlier from exactly raw for key.
func (m *decodeMemo[K, V]) get(key K, raw []byte) (V, bool) {
	m.mu.RLock()
	e, ok := m.m[key]
	m.mu.RUnlock()
	if !ok || e.raw != string(raw) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put remembers that raw, cached for key, decodes to v.
func (m *decodeMemo[K, V]) put(key K, raw []byte, v V) {
	m.mu.Lock()
	if m.m == nil || len(m.m) >= urlMemoMax {
		m.m = make(map[K]memoEntry[V])
	}
	m.m[key] = memoEntry[V]{raw: string(raw), v: v}
	m.mu.Unlock()
}
