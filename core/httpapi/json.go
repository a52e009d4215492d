package httpapi

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/pycompat"
)

// The encoders below write the API's JSON (spec §2.1) by hand: keys in
// byte order at every level, compact, non-ASCII escaped, each body ending
// in "\n". Keys are written in sorted order literally.

// buffer is a pooled response buffer.
type buffer struct{ b []byte }

var buffers = sync.Pool{New: func() any { return &buffer{b: make([]byte, 0, 2048)} }}

func getBuffer() *buffer { b := buffers.Get().(*buffer); b.b = b.b[:0]; return b }

func putBuffer(b *buffer) {
	if cap(b.b) <= 1<<20 { // keep huge list buffers out of the pool
		buffers.Put(b)
	}
}

// Static header values, shared by every response (never modified).
var (
	headerJSON = []string{"application/json"}
	headerHTML = []string{"text/html; charset=utf-8"}
	// headerCache holds the X-Cache value of each cache status but
	// CacheNone.
	headerCache = func() (h [core.CacheBypass + 1][]string) {
		for s := core.CacheHit; s <= core.CacheBypass; s++ {
			h[s] = []string{s.String()}
		}
		return h
	}()
)

// cacheHeader returns the X-Cache value of s, nil for CacheNone.
func cacheHeader(s core.CacheStatus) []string {
	if int(s) < len(headerCache) {
		return headerCache[s]
	}
	return nil
}

// writeJSON writes a JSON body that already ends in "\n".
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = headerJSON
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// respond encodes one value with enc and writes it with an optional
// X-Cache header.
func respond[T any](w http.ResponseWriter, status int, cache core.CacheStatus, v T, enc func([]byte, T) []byte) {
	buf := getBuffer()
	buf.b = append(enc(buf.b, v), '\n')
	if h := cacheHeader(cache); h != nil {
		w.Header()["X-Cache"] = h
	}
	writeJSON(w, status, buf.b)
	putBuffer(buf)
}

// appendURLs encodes GET /urls (a bounded list); the unbounded lists are
// streamed by listWriter in the same shape.
var appendURLs = appendList(appendURL)

// appendList encodes a JSON array with enc for each element.
func appendList[T any](enc func([]byte, T) []byte) func([]byte, []T) []byte {
	return func(b []byte, items []T) []byte {
		b = append(b, '[')
		for i := range items {
			if i > 0 {
				b = append(b, ',')
			}
			b = enc(b, items[i])
		}
		return append(b, ']')
	}
}

func appendNullableInt(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *n, 10)
}

// appendUser encodes a user (spec §3.6).
func appendUser(b []byte, u core.User) []byte {
	b = append(b, `{"created_at":"`...)
	b = core.AppendTime(b, u.CreatedAt)
	b = append(b, `","email":`...)
	b = pycompat.AppendJSONString(b, u.Email)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, u.ID, 10)
	b = append(b, `,"username":`...)
	b = pycompat.AppendJSONString(b, u.Username)
	return append(b, '}')
}

// appendURL encodes a URL (spec §3.6, §4.12), with the link options of
// issue 19 that are set.
func appendURL(b []byte, u core.URL) []byte { return appendLink(b, &u, false) }

// appendLink encodes a URL as appendURL does; hidden writes its targets
// (original_url, expired_url, the rules' targets) as null, for a reader
// of a password-protected link who may not see them (targetView).
func appendLink(b []byte, u *core.URL, hidden bool) []byte {
	life := &u.Lifecycle
	b = append(b, `{"created_at":"`...)
	b = core.AppendTime(b, u.CreatedAt)
	b = append(b, '"')
	// Link options (issue 19) appear only when set, in key order, so a
	// link without them has exactly the reference's shape.
	if life.ExpiredURL != nil {
		b = append(b, `,"expired_url":`...)
		b = appendTarget(b, *life.ExpiredURL, hidden)
	}
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, u.ID, 10)
	b = append(b, `,"is_active":`...)
	b = strconv.AppendBool(b, u.IsActive)
	if life.MaxVisits != nil {
		b = append(b, `,"max_visits":`...)
		b = strconv.AppendInt(b, *life.MaxVisits, 10)
	}
	b = append(b, `,"original_url":`...)
	b = appendTarget(b, u.OriginalURL, hidden)
	if u.PasswordHash != "" {
		// The hash never leaves the service: clients see only that
		// there is a password.
		b = append(b, `,"password_protected":true`...)
	}
	if u.RedirectStatus != 0 {
		b = append(b, `,"redirect_status":`...)
		b = strconv.AppendInt(b, int64(u.RedirectStatus), 10)
	}
	if len(u.Rules) > 0 {
		b = append(b, `,"rules":`...)
		if hidden {
			b = appendHiddenRules(b, u.Rules)
		} else {
			b = append(b, core.EncodeRules(u.Rules)...)
		}
	}
	b = append(b, `,"short_code":`...)
	b = pycompat.AppendJSONString(b, u.ShortCode)
	if len(u.Tags) > 0 {
		b = append(b, `,"tags":[`...)
		for i, t := range u.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = pycompat.AppendJSONString(b, t)
		}
		b = append(b, ']')
	}
	b = append(b, `,"title":`...)
	if u.Title == nil {
		b = append(b, "null"...)
	} else {
		b = pycompat.AppendJSONString(b, *u.Title)
	}
	b = append(b, `,"updated_at":"`...)
	b = core.AppendTime(b, u.UpdatedAt)
	b = append(b, `","user_id":`...)
	b = appendNullableInt(b, u.UserID)
	if life.ValidSince != nil {
		b = append(b, `,"valid_since":"`...)
		b = append(core.AppendTime(b, *life.ValidSince), '"')
	}
	if life.ValidUntil != nil {
		b = append(b, `,"valid_until":"`...)
		b = append(core.AppendTime(b, *life.ValidUntil), '"')
	}
	return append(b, '}')
}

// appendTarget encodes a target URL, or null when it is hidden.
func appendTarget(b []byte, target string, hidden bool) []byte {
	if hidden {
		return append(b, "null"...)
	}
	return pycompat.AppendJSONString(b, target)
}

// appendEvent encodes an event (spec §3.6): details are the stored text
// parsed, or the raw text as a string when it is not JSON.
func appendEvent(b []byte, e core.Event) []byte {
	b = append(b, `{"details":`...)
	if v, err := pycompat.ParseJSON([]byte(e.Details)); err == nil {
		b = v.AppendSorted(b)
	} else {
		b = pycompat.AppendJSONString(b, e.Details)
	}
	b = append(b, `,"event_type":`...)
	b = pycompat.AppendJSONString(b, e.EventType)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"timestamp":"`...)
	b = core.AppendTime(b, e.Timestamp)
	b = append(b, `","url_id":`...)
	b = appendNullableInt(b, e.URLID)
	b = append(b, `,"user_id":`...)
	b = appendNullableInt(b, e.UserID)
	return append(b, '}')
}

// appendAnalytics encodes the eight analytics fields (spec §4.22).
func appendAnalytics(b []byte, a core.Analytics) []byte { return appendAnalyticsOf(b, &a, false) }

// appendHiddenAnalytics encodes the analytics of a protected link with
// original_url null, for a reader who may not see it (targetView).
func appendHiddenAnalytics(b []byte, a core.Analytics) []byte { return appendAnalyticsOf(b, &a, true) }

func appendAnalyticsOf(b []byte, a *core.Analytics, hidden bool) []byte {
	b = append(b, `{"click_count":`...)
	b = strconv.AppendInt(b, a.ClickCount, 10)
	b = append(b, `,"event_counts":{`...)
	for i, k := range slices.Sorted(maps.Keys(a.EventCounts)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = pycompat.AppendJSONString(b, k)
		b = append(b, ':')
		b = strconv.AppendInt(b, a.EventCounts[k], 10)
	}
	b = append(b, `},"latest_event_at":`...)
	if a.LatestEventAt == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = core.AppendTime(b, *a.LatestEventAt)
		b = append(b, '"')
	}
	b = append(b, `,"original_url":`...)
	b = appendTarget(b, a.OriginalURL, hidden)
	b = append(b, `,"redirect_count":`...)
	b = strconv.AppendInt(b, a.RedirectCount, 10)
	b = append(b, `,"short_code":`...)
	b = pycompat.AppendJSONString(b, a.ShortCode)
	b = append(b, `,"total_events":`...)
	b = strconv.AppendInt(b, a.TotalEvents, 10)
	b = append(b, `,"url_id":`...)
	b = strconv.AppendInt(b, a.URLID, 10)
	return append(b, '}')
}

// appendRealtime encodes the realtime figures: hourly buckets keyed by
// their core.HourLayout label (chronological, which is also byte order).
func appendRealtime(b []byte, rt core.Realtime) []byte {
	b = append(b, `{"hourly":{`...)
	for i, h := range rt.Hourly {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = h.Hour.UTC().AppendFormat(b, core.HourLayout)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, h.Clicks, 10)
	}
	b = append(b, `},"total_clicks":`...)
	b = strconv.AppendInt(b, rt.TotalClicks, 10)
	b = append(b, `,"unique_visitors":`...)
	b = strconv.AppendInt(b, rt.UniqueVisitors, 10)
	return append(b, '}')
}

// health is the body of GET /health.
type health struct{ instance string }

func appendHealth(b []byte, h health) []byte {
	b = append(b, `{"instance":`...)
	b = pycompat.AppendJSONString(b, h.instance)
	return append(b, `,"status":"ok"}`...)
}

// appendCount encodes the bulk import result {"count":N}.
func appendCount(b []byte, n int) []byte {
	b = append(b, `{"count":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '}')
}

// appendBreakdown encodes GET /urls/{id}/analytics/breakdown, keys sorted
// (spec §2.1) at every level.
func appendBreakdown(b []byte, bd core.Breakdown) []byte {
	b = append(b, `{"bots":`...)
	b = strconv.AppendInt(b, bd.Bots, 10)
	b = append(b, `,"clicks":`...)
	b = strconv.AppendInt(b, bd.Clicks, 10)
	b = append(b, `,"dimensions":{`...)
	for i, d := range slices.Sorted(maps.Keys(bd.Dimensions)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = pycompat.AppendJSONString(b, d)
		b = append(b, ":["...)
		for j, v := range bd.Dimensions[d] {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"clicks":`...)
			b = strconv.AppendInt(b, v.N, 10)
			b = append(b, `,"value":`...)
			b = pycompat.AppendJSONString(b, v.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `},"from":`...)
	if bd.From == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = core.AppendTime(b, *bd.From)
		b = append(b, '"')
	}
	b = append(b, `,"granularity":`...)
	b = pycompat.AppendJSONString(b, bd.Granularity)
	b = append(b, `,"humans":`...)
	b = strconv.AppendInt(b, bd.Humans, 10)
	b = append(b, `,"period":`...)
	b = pycompat.AppendJSONString(b, bd.Period)
	b = append(b, `,"series":[`...)
	for i, p := range bd.Series {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"at":"`...)
		b = core.AppendTime(b, p.At)
		b = append(b, `","bots":`...)
		b = strconv.AppendInt(b, p.Bots, 10)
		b = append(b, `,"humans":`...)
		b = strconv.AppendInt(b, p.Humans, 10)
		b = append(b, '}')
	}
	b = append(b, `],"short_code":`...)
	b = pycompat.AppendJSONString(b, bd.ShortCode)
	b = append(b, `,"unique_visitors":`...)
	b = strconv.AppendInt(b, bd.UniqueVisitors, 10)
	b = append(b, `,"url_id":`...)
	b = strconv.AppendInt(b, bd.URLID, 10)
	return append(b, '}')
}
