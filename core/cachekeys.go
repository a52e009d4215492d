package core

import (
	"strconv"
	"time"
)

// Cache TTLs fixed by spec §6.1.
const (
	ttlURL       = 300 * time.Second
	ttlRedirect  = 300 * time.Second
	ttlURLList   = 120 * time.Second
	ttlAnalytics = 120 * time.Second
)

// Key prefixes of the response cache (spec §6.1). They are shared with the
// reference implementation, so that both can run against one cache.
const (
	keyURL       = URLKeyPrefix
	keyURLList   = "cache:url:list"
	keyAnalytics = "cache:analytics:url:"
)

// URLKeyPrefix starts the cache keys of everything read from the urls
// table: URL objects (cache:url:<id>), lists (cache:url:list…) and
// redirect targets (RedirectKeyPrefix). A write to a URL invalidates keys
// under it only (and its analytics).
const URLKeyPrefix = "cache:url:"

// RedirectKeyPrefix starts the cache key of every redirect target
// (cache:url:redirect:<code>), the hot keys of the redirect path.
const RedirectKeyPrefix = "cache:url:redirect:"

// List limits of GET /urls (spec §4.14).
const (
	defaultURLListLimit = 100
	maxURLListLimit     = 500
)

// wideListSuffix marks the cached list that serves limits above the
// default. The spec's own keys (no suffix) hold the list for the default
// limit of 100, which also serves every smaller limit by truncation, so a
// cached list always answers exactly the limit asked for (fix of Q6) while
// invalidation stays a fixed, small set of keys.
const wideListSuffix = ":limit:500"

func urlKey(id int64) string         { return keyURL + strconv.FormatInt(id, 10) }
func redirectKey(code string) string { return RedirectKeyPrefix + code }
func analyticsKey(id int64) string   { return keyAnalytics + strconv.FormatInt(id, 10) }

// listKey returns the cache key of a GET /urls result for a filter:
// cache:url:list[:user:U][:is_active:true|false][:limit:500].
func listKey(userID *int64, isActive *bool, wide bool) string {
	k := keyURLList
	if userID != nil {
		k += ":user:" + strconv.FormatInt(*userID, 10)
	}
	if isActive != nil {
		k += ":is_active:" + strconv.FormatBool(*isActive)
	}
	if wide {
		k += wideListSuffix
	}
	return k
}

// appendListKeys appends every list key of one owner (nil: the global
// lists): each is_active variant, for both the default and the wide limit.
func appendListKeys(keys []string, owner *int64) []string {
	t, f := true, false
	for _, active := range []*bool{nil, &t, &f} {
		keys = append(keys, listKey(owner, active, false), listKey(owner, active, true))
	}
	return keys
}

// urlKeys returns the keys invalidated when a URL changes (spec §6.3):
// its detail, redirect and analytics entries and every list that can hold
// it, global and per owner.
func urlKeys(u URL) []string {
	keys := make([]string, 0, 15)
	keys = append(keys, urlKey(u.ID), redirectKey(u.ShortCode), analyticsKey(u.ID))
	return appendURLListKeys(keys, u)
}

// appendURLListKeys appends the keys of every list that can hold u,
// global and per owner.
func appendURLListKeys(keys []string, u URL) []string {
	keys = appendListKeys(keys, nil)
	if u.UserID != nil {
		keys = appendListKeys(keys, u.UserID)
	}
	return keys
}
