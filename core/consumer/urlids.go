package consumer

import (
	"context"
	"sync"

	"github.com/curtainhq/curtain/core"
)

// maxCachedCodes bounds urlIDs: past it the cache starts afresh.
const maxCachedCodes = 100_000

// urlIDs remembers the URL id of each short code the consumer resolved, so
// that a batch of clicks on known codes needs no lookup in the store. An
// entry can go stale only when its code is deleted and created again; the
// insert then finds no URL for the stale id and stores fewer clicks than
// it was given, and storeBatch resolves the batch afresh (see there).
type urlIDs struct {
	mu  sync.Mutex
	ids map[string]int64
}

// resolve maps each code of codes that exists to its URL id, from the
// cache where it can, else from store. cached reports whether any id came
// from the cache.
func (u *urlIDs) resolve(ctx context.Context, store core.Store, codes []string) (ids map[string]int64, cached bool, err error) {
	ids = make(map[string]int64, len(codes))
	var missing []string
	u.mu.Lock()
	for _, code := range codes {
		if id, ok := u.ids[code]; ok {
			ids[code] = id
			cached = true
		} else {
			missing = append(missing, code)
		}
	}
	u.mu.Unlock()
	if len(missing) == 0 {
		return ids, cached, nil
	}
	found, err := store.URLIDsByCode(ctx, missing)
	if err != nil {
		return nil, false, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ids == nil || len(u.ids)+len(found) > maxCachedCodes {
		u.ids = make(map[string]int64, len(found))
	}
	for code, id := range found {
		ids[code] = id
		u.ids[code] = id
	}
	return ids, cached, nil
}

// forget drops codes from the cache.
func (u *urlIDs) forget(codes []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, code := range codes {
		delete(u.ids, code)
	}
}
