package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/curtainhq/curtain/core/pycompat"
)

// RedirectTarget is where a short code leads.
type RedirectTarget struct {
	// OriginalURL is the stored URL, not yet converted to URI form.
	OriginalURL string
	URLID       int64
	// Status is the redirect's status: the link's own, else the
	// deployment's (Redirect always sets it).
	Status int
	// CacheControl is the Cache-Control value to send, "" for none: a
	// max-age on permanent redirects when the deployment sets one.
	CacheControl string
	// linkStatus is the link's own status, 0 for none, and life its
	// lifecycle bounds, nil for none; they are what the cache keeps.
	linkStatus int
	life       *Lifecycle
	// guard holds the link's password hash and rules, nil for an open
	// link (one pointer, so that open links carry nothing more).
	guard *linkGuard
	// lockedOut marks the expired target of a password-protected link.
	lockedOut bool
}

// ExpiredProtected reports whether t is the expired target of a
// password-protected link that is outside its time bounds or past its
// visit limit: its password form, shown before, may still be posted.
func (t RedirectTarget) ExpiredProtected() bool { return t.lockedOut }

// linkGuard is what a link with a password or rules keeps in its cached
// target (issue 19).
type linkGuard struct {
	// passwordHash is the link's password hash, "" for none.
	passwordHash string
	// rules are its rule-based redirects, nil for none.
	rules []Rule
}

// newLinkGuard returns the guard of a link, nil when it has neither a
// password nor rules.
func newLinkGuard(passwordHash string, rules []Rule) *linkGuard {
	if passwordHash == "" && len(rules) == 0 {
		return nil
	}
	return &linkGuard{passwordHash: passwordHash, rules: rules}
}

// http302 is the status of a redirect to an expired link's target: never
// permanent, since the link may be renewed.
const http302 = 302

// ValidRedirectStatus reports whether status is one a link or a
// deployment may redirect with: 301, 302, 307 or 308.
func ValidRedirectStatus(status int) bool {
	return status == 301 || status == 302 || status == 307 || status == 308
}

// resolve fills the status and Cache-Control of a target from its link's
// status and the deployment's settings.
func (s *Service) resolve(t *RedirectTarget) {
	t.Status = t.linkStatus
	if t.Status == 0 {
		t.Status = s.redirectStatus
	}
	if t.Status == 301 || t.Status == 308 {
		t.CacheControl = s.permanentCache
	}
}

// clickStoreTimeout bounds the synchronous click insert of a Service
// configured without a click recorder.
const clickStoreTimeout = 5 * time.Second

// ClickSource is what a redirect records of its client: the visitor identity
// (address or keyed hash), and the User-Agent and Referer headers, each
// "" when absent or not to be stored.
type ClickSource struct {
	Visitor   string
	UserAgent string
	Referrer  string
	// Country is the client's ISO country code, "" when unknown.
	Country string
	// Agent is the class of the User-Agent header when the header itself
	// is not stored (privacy.store_user_agent off), so that the click is
	// still told a bot's or a person's; the zero AgentClass otherwise,
	// and the store classifies UserAgent.
	Agent AgentClass
}

// Bounds of the headers a click keeps, in bytes.
const (
	maxUserAgentLen = 512
	maxReferrerLen  = 2048
)

// clickHeader returns a request header as a click keeps it: valid UTF-8
// (the click-shard contract's strings must be; a client may send any
// bytes) and at most max bytes, cut at a character boundary.
func clickHeader(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// Redirect resolves a short code (spec §4.18) from the cache, or from the
// store when the cache misses: unknown and inactive codes are
// ErrURLNotFound. When record is true (false for HEAD requests, fix of
// Q17) the click is handed to the click recorder; it is stored durably by
// the stream consumer alone, keyed by its click id, so no redirect is
// counted twice (fix of Q1). A click the recorder refuses (its queue
// stayed full for its bounded wait) is not stored: the recorder counts it
// and the service logs it, paced, so that no hidden synchronous work slows
// the redirect. Only a Service configured without a recorder stores each
// click synchronously. A recorder in the durable click mode
// (ClickAcknowledger) returns once the click is stored; when it cannot
// store it, Redirect fails with an error wrapping ErrClickNotStored (a 503)
// instead of acknowledging a click that may be lost.
func (s *Service) Redirect(ctx context.Context, code string, src ClickSource, record bool) (RedirectTarget, CacheStatus, error) {
	return s.RedirectWith(ctx, code, src, record, nil)
}

// RedirectWith is Redirect with what the request says of the visitor. A
// link with a password or rules needs v: without it (Redirect passes
// nil) the call fails with ErrVisitRequired before recording anything,
// and the caller calls again with a Visit, so that an open link never
// pays for building one. A password-protected link redirects (and counts
// the click) only once v gives its password, else it fails with
// ErrPasswordRequired or ErrPasswordWrong. A link's rules then choose
// the target (the first that matches, else the link's URL), recorded
// with the click.
func (s *Service) RedirectWith(ctx context.Context, code string, src ClickSource, record bool, v Visit) (RedirectTarget, CacheStatus, error) {
	if !plausibleCode(code) {
		return RedirectTarget{}, CacheNone, ErrURLNotFound
	}
	key := redirectKey(code)
	status := CacheMiss
	var t RedirectTarget
	raw, hit := s.cacheGet(ctx, key)
	if hit {
		if t, hit = decodePlainRedirect(raw); !hit {
			t, hit = s.decodeTarget(code, raw)
		}
	}
	if hit {
		status = CacheHit
	} else {
		u, err := s.store.GetURLByCode(ctx, code)
		switch {
		case errors.Is(err, ErrNotFound):
			return RedirectTarget{}, CacheNone, ErrURLNotFound
		case err != nil:
			return RedirectTarget{}, CacheNone, fmt.Errorf("redirect: %w", err)
		case !u.IsActive:
			return RedirectTarget{}, CacheNone, ErrURLNotFound
		}
		t = RedirectTarget{OriginalURL: u.OriginalURL, URLID: u.ID, linkStatus: u.RedirectStatus, guard: newLinkGuard(u.PasswordHash, u.Rules)}
		if u.Lifecycle.set() {
			t.life = &u.Lifecycle
		}
		s.cacheSet(ctx, key, encodeRedirect(t), ttlRedirect)
	}
	s.resolve(&t)
	if t.life != nil && t.life.outside(s.clock()) {
		return s.expiredTarget(t, status)
	}
	limited := t.life != nil && t.life.MaxVisits != nil
	if limited && t.guard != nil {
		// An exhausted protected link sends visitors to its expired
		// target without asking for the password, as an expired one does.
		if err := s.claimVisit(ctx, t.URLID, *t.life.MaxVisits, code, true); err != nil {
			return s.unclaimed(t, status, err)
		}
	}
	var rule, target string
	if t.guard != nil {
		if v == nil {
			return RedirectTarget{}, status, ErrVisitRequired
		}
		var err error
		if rule, target, err = s.applyGuard(ctx, t.guard, code, src.Visitor, v); err != nil {
			return RedirectTarget{}, status, err
		}
		if target != "" {
			t.OriginalURL = target
		}
	}
	claimed := false
	if limited {
		// Claimed after the password check, so that a wrong password
		// uses up no visit.
		claimed = s.countsVisit(src, record)
		if err := s.claimVisit(ctx, t.URLID, *t.life.MaxVisits, code, !claimed); err != nil {
			return s.unclaimed(t, status, err)
		}
	}
	if record {
		at := s.clock()
		s.marks.click(t.URLID)
		s.noteClicked(t.URLID)
		c := Click{ID: newClickID(at), Code: code, Visitor: src.Visitor, At: at, Rule: rule, Target: target,
			UserAgent: clickHeader(src.UserAgent, maxUserAgentLen), Referrer: clickHeader(src.Referrer, maxReferrerLen), Country: src.Country,
			Agent: src.Agent, URLID: t.URLID}
		if err := s.recordClick(ctx, c); err != nil {
			if claimed {
				s.releaseVisit(ctx, t.URLID, code)
			}
			return RedirectTarget{}, CacheNone, err
		}
	}
	return t, status, nil
}

// countsVisit reports whether a visit of a link with a visit limit uses
// one up: a recorded visit (not a HEAD) of a person, or of an HTTP tool
// or library someone ran (curl, python-requests). A crawler's or a
// link-preview fetcher's visit (as ServiceConfig.ClassifyAgent tells
// them, and as the breakdowns count them) only checks that a visit is
// left (a peek), so it gets what a person would (the target, or the
// expired answer once the link is exhausted) and is recorded as a bot
// click, but the person the link was sent to still finds the visit
// (docs/api.md, "Lifecycle"). The header is classified here, for
// limited links only, unless the host sent its class in its place.
func (s *Service) countsVisit(src ClickSource, record bool) bool {
	if !record {
		return false
	}
	a := src.Agent
	if !a.Known() && s.classifyAgent != nil {
		a = s.classifyAgent(src.UserAgent)
	}
	return a.Bot == "" || a.Tool
}

// unclaimed answers a visit claimVisit refused: the expired target once
// the link is exhausted, else the error.
func (s *Service) unclaimed(t RedirectTarget, status CacheStatus, err error) (RedirectTarget, CacheStatus, error) {
	if errors.Is(err, errExhausted) {
		return s.expiredTarget(t, status)
	}
	return RedirectTarget{}, CacheNone, err
}

// expiredTarget answers a visit of a link outside its time bounds or past
// its visit limit: its expired URL, else the deployment's, else 404. Such
// visits are not redirects of the link, so nothing is recorded.
func (s *Service) expiredTarget(t RedirectTarget, status CacheStatus) (RedirectTarget, CacheStatus, error) {
	to := s.expiredURL
	if t.life.ExpiredURL != nil {
		to = *t.life.ExpiredURL
	}
	if to == "" {
		return RedirectTarget{}, CacheNone, ErrURLNotFound
	}
	protected := t.guard != nil && t.guard.passwordHash != ""
	return RedirectTarget{OriginalURL: to, URLID: t.URLID, Status: http302, lockedOut: protected}, status, nil
}

// applyGuard checks the password of a protected link and applies its
// rules: it returns the matching rule's name and the target it chose,
// both "" when no rule matched.
func (s *Service) applyGuard(ctx context.Context, g *linkGuard, code, visitor string, v Visit) (rule, target string, err error) {
	if g.passwordHash != "" {
		if err := s.checkPassword(ctx, g.passwordHash, v); err != nil {
			return "", "", err
		}
	}
	if g.rules == nil {
		return "", "", nil
	}
	sticky := visitor
	if sticky == "" {
		sticky = v.ClientIP().String()
	}
	rule, target, _ = pickRule(g.rules, v, s.clock(), code, sticky)
	return rule, target, nil
}

// plausibleCode reports whether code could be stored: non-empty, valid
// UTF-8 without NUL, at most MaxShortCodeLen characters.
func plausibleCode(code string) bool {
	if code == "" || len(code) > 4*MaxShortCodeLen {
		return false
	}
	n := 0
	for _, r := range code {
		if r == 0 || r == utf8.RuneError {
			return false
		}
		n++
	}
	return n <= MaxShortCodeLen
}

// recordClick hands c to the recorder; without one it stores c itself.
// It returns an error only when the recorder acknowledges clicks (the
// durable click mode) and could not store c: the redirect then fails
// rather than answer 302 for a click that may be lost. When the client
// went away during that wait, the error says so and nothing is logged:
// no redirect was refused.
func (s *Service) recordClick(ctx context.Context, c Click) error {
	if s.clicks != nil {
		err := s.clicks.Record(ctx, c)
		if err == nil {
			return nil
		}
		if a, ok := s.clicks.(ClickAcknowledger); ok && a.AcknowledgesClicks() {
			if ClientGone(ctx, err) {
				return fmt.Errorf("record click: %w", err)
			}
			if n, ok := s.refusedLog.Ready(s.clock(), time.Second); ok {
				s.log.WarnContext(ctx, "redirects refused: their clicks could not be stored durably", "clicks", n, "error", err)
			}
			return fmt.Errorf("record click: %w: %w", err, ErrClickNotStored)
		}
		if n, ok := s.refusedLog.Ready(s.clock(), time.Second); ok {
			s.log.WarnContext(ctx, "clicks lost: the click recorder refused them", "clicks", n, "error", err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clickStoreTimeout)
	defer cancel()
	if _, err := s.store.InsertClicks(ctx, []ClickEvent{{Click: c}}); err != nil {
		if n, ok := s.lostLog.Ready(s.clock(), time.Second); ok {
			s.log.ErrorContext(ctx, "clicks lost: the store did not take them", "clicks", n, "error", err)
		}
	}
	return nil
}

// newClickID returns the id of a click made at: 32 hex digits, the time
// in milliseconds since the epoch (12 digits), then 80 random bits. Ids of
// clicks made together sort together, so the events table's unique index
// on click ids takes a batch at its right edge, in pages it keeps in
// memory, rather than at random places across an index that outgrows the
// cache: a 1000-click insert into a 1.3 M-event table took 47-61 ms with
// random ids, 32-40 ms with these. It is cheap (no system call) and
// unique for every practical purpose.
func newClickID(at time.Time) string {
	const hexDigits = "0123456789abcdef"
	var b [32]byte
	ms := uint64(at.UnixMilli())
	for i := 11; i >= 0; i-- {
		b[i] = hexDigits[ms&0xf]
		ms >>= 4
	}
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 27; i >= 12; i-- {
		b[i] = hexDigits[hi&0xf]
		hi >>= 4
	}
	for i := 31; i >= 28; i-- {
		b[i] = hexDigits[lo&0xf]
		lo >>= 4
	}
	return string(b[:])
}

// Layout of a cached redirect target, as the reference writes it
// (spec Appendix B): {"original_url": "…", "url_id": N}. A link with its
// own redirect status adds `, "redirect_status": S` at the end, which the
// general parse reads.
const (
	redirectPrefix = `{"original_url": "`
	redirectMiddle = `, "url_id": `
)

func encodeRedirect(t RedirectTarget) []byte {
	b := make([]byte, 0, len(redirectPrefix)+len(t.OriginalURL)+len(redirectMiddle)+16)
	b = append(b, `{"original_url": `...)
	b = pycompat.AppendJSONString(b, t.OriginalURL)
	b = append(b, redirectMiddle...)
	b = strconv.AppendInt(b, t.URLID, 10)
	if t.linkStatus != 0 {
		b = append(b, `, "redirect_status": `...)
		b = strconv.AppendInt(b, int64(t.linkStatus), 10)
	}
	if t.life != nil {
		b = appendLifecyclePython(b, *t.life)
	}
	if g := t.guard; g != nil && g.passwordHash != "" {
		b = append(b, `, "password_hash": `...)
		b = pycompat.AppendJSONString(b, g.passwordHash)
	}
	if g := t.guard; g != nil && g.rules != nil {
		b = append(b, `, "rules": `...)
		b = pycompat.AppendJSONString(b, EncodeRules(g.rules))
	}
	return append(b, '}')
}

// decodeRedirect reads a cached redirect target. The exact layout written
// by encodeRedirect (and the reference) is read without a general parse;
// anything else goes through pycompat.ParseJSON. A value that is not a target is a
// miss.
func decodeRedirect(raw []byte) (RedirectTarget, bool) {
	if t, ok := decodePlainRedirect(raw); ok {
		return t, true
	}
	return decodeRedirectOptions(raw)
}

// decodeTarget reads code's cached entry that decodePlainRedirect does
// not, remembering the general parse (s.targets), so that a link with
// options (a password, rules, bounds) is not parsed on every visit.
func (s *Service) decodeTarget(code string, raw []byte) (RedirectTarget, bool) {
	if t, ok := s.targets.get(code, raw); ok {
		return t, true
	}
	t, ok := decodeRedirectOptions(raw)
	if ok {
		s.targets.put(code, raw, t)
	}
	return t, ok
}

// decodePlainRedirect reads the exact layout written by encodeRedirect
// (and the reference) for a link without options, without a general
// parse.
func decodePlainRedirect(raw []byte) (RedirectTarget, bool) {
	if rest, ok := bytes.CutPrefix(raw, []byte(redirectPrefix)); ok {
		if end := bytes.IndexByte(rest, '"'); end >= 0 {
			text := rest[:end]
			if tail, ok := bytes.CutPrefix(rest[end+1:], []byte(redirectMiddle)); ok && plainJSONText(text) {
				if id, ok := parseDigits(tail); ok {
					return RedirectTarget{OriginalURL: string(text), URLID: id}, true
				}
			}
		}
	}
	return RedirectTarget{}, false
}

// decodeRedirectOptions reads any cached target with pycompat.ParseJSON.
func decodeRedirectOptions(raw []byte) (RedirectTarget, bool) {
	v, err := pycompat.ParseJSON(raw)
	if err != nil || v.Kind != pycompat.JSONObject {
		return RedirectTarget{}, false
	}
	original, ok := stringField(v, "original_url")
	if !ok {
		return RedirectTarget{}, false
	}
	id, ok := intField(v, "url_id")
	if !ok {
		return RedirectTarget{}, false
	}
	t := RedirectTarget{OriginalURL: original, URLID: id}
	if _, has := v.Get("redirect_status"); has {
		st, ok := intField(v, "redirect_status")
		if !ok || !ValidRedirectStatus(int(st)) {
			return RedirectTarget{}, false
		}
		t.linkStatus = int(st)
	}
	life, ok := readLifecycle(v)
	if !ok {
		return RedirectTarget{}, false
	}
	if life.set() {
		t.life = &life
	}
	var hash string
	if _, has := v.Get("password_hash"); has {
		if hash, ok = stringField(v, "password_hash"); !ok || hash == "" {
			return RedirectTarget{}, false
		}
	}
	var rules []Rule
	if _, has := v.Get("rules"); has {
		text, ok := stringField(v, "rules")
		if !ok {
			return RedirectTarget{}, false
		}
		var err error
		if rules, err = DecodeRules(text); err != nil || len(rules) == 0 {
			return RedirectTarget{}, false
		}
	}
	t.guard = newLinkGuard(hash, rules)
	return t, true
}

// plainJSONText reports whether b is the body of a JSON string that needs
// no unescaping: printable ASCII without backslash.
func plainJSONText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

// parseDigits parses `N}` where N is a non-negative decimal integer.
func parseDigits(b []byte) (int64, bool) {
	if len(b) < 2 || len(b) > 19 || b[len(b)-1] != '}' {
		return 0, false
	}
	var n int64
	for _, c := range b[:len(b)-1] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n >= 0
}
