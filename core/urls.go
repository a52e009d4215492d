package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/curtainhq/curtain/core/pycompat"
)

// maxCodeAttempts bounds how many short codes one creation tries when the
// codes it draws are already taken (fix of Q13: the reference gave up at
// the first collision).
const maxCodeAttempts = 8

// Client-facing messages of URL creation and update (spec Appendix A).
const (
	// The URL messages name the field (%s): original_url, expired_url.
	msgURLEmpty      = "Field '%s' must not be empty"
	msgURLInvalid    = "Field '%s' must be a valid http or https URL"
	msgURLTooLong    = "Field '%s' must not exceed 2048 characters"
	msgUserIDUnknown = "Field 'user_id' must reference an existing user"
	msgCreateFailed  = "Could not create short URL"
)

// CreateURLRequest asks for a short URL (spec §4.13). The HTTP layer
// decodes it from a POST /urls body or the UI form; CreateURL applies the
// domain rules.
type CreateURLRequest struct {
	// OriginalURL is the target as sent; it is stored trimmed and must be
	// an http or https URL of at most MaxOriginalURLLen code points.
	OriginalURL string
	// Title is stored trimmed; nil or blank means no title.
	Title *string
	// UserID names the owner, nil for none. It must name an existing
	// user; an id outside the id range (see MinID) names none.
	UserID *int64
	// ShortCode, when set, is the link's custom code (see
	// MinCustomCodeLen for the rules); nil draws a generated code.
	ShortCode *string
	// RedirectStatus, when set, is the link's own redirect status: 301,
	// 302, 307 or 308.
	RedirectStatus *int
	// Lifecycle bounds when and how often the link redirects.
	Lifecycle Lifecycle
	// Tags label the link (NormaliseTags rules).
	Tags []string
	// Password, when set, protects the link (stored hashed).
	Password *string
	// Rules are the link's rule-based redirects (Rule).
	Rules []Rule
}

// hasOptions reports whether the request asks for a link with settings of
// its own, which find-if-exists never answers.
func (r CreateURLRequest) hasOptions() bool {
	return r.ShortCode != nil || r.RedirectStatus != nil || r.Lifecycle.set() || r.Password != nil || len(r.Rules) > 0
}

// msgRedirectStatus refuses a redirect status a link may not have.
const msgRedirectStatus = "Field 'redirect_status' must be 301, 302, 307 or 308"

// checkRedirectStatus checks a requested redirect status.
func checkRedirectStatus(status *int) error {
	if status != nil && !ValidRedirectStatus(*status) {
		return invalid("redirect_status", msgRedirectStatus)
	}
	return nil
}

// CreateURL creates a short URL (spec §4.13), or returns the existing
// active URL with the same original URL (created false).
func (s *Service) CreateURL(ctx context.Context, req CreateURLRequest) (u URL, created bool, err error) {
	return s.createURL(ctx, req)
}

// createURL applies spec §4.13 steps 5-10 to a type-checked request.
func (s *Service) createURL(ctx context.Context, req CreateURLRequest) (URL, bool, error) {
	original, err := s.checkOriginalURL(req.OriginalURL)
	if err != nil {
		return URL{}, false, err
	}
	title, err := normaliseTitle(req.Title)
	if err != nil {
		// The reference's database refused the title only on an insert
		// (Q11): a link to reuse still answers, its title unchanged.
		if existing, ok, ferr := s.reusable(ctx, req, original); ok || ferr != nil {
			return existing, false, ferr
		}
		return URL{}, false, err
	}
	if req.ShortCode != nil {
		if err := checkCustomCode(*req.ShortCode); err != nil {
			return URL{}, false, err
		}
	}
	if err := checkRedirectStatus(req.RedirectStatus); err != nil {
		return URL{}, false, err
	}
	if req.Lifecycle, err = s.checkLifecycle(req.Lifecycle); err != nil {
		return URL{}, false, err
	}
	tags, err := checkTags(req.Tags)
	if err != nil {
		return URL{}, false, err
	}
	if req.Rules, err = s.checkRules(req.Rules); err != nil {
		return URL{}, false, err
	}
	var passwordHash string
	if req.Password != nil {
		if passwordHash, err = s.hashPassword(*req.Password); err != nil {
			return URL{}, false, err
		}
	}
	if req.UserID != nil && !validID(*req.UserID) {
		// No link can be created for this owner, but a link to reuse
		// still answers the request.
		if existing, ok, ferr := s.reusable(ctx, req, original); ok || ferr != nil {
			return existing, false, ferr
		}
		return URL{}, false, invalid("user_id", msgUserIDUnknown)
	}
	now := s.clock()
	if req.hasOptions() {
		req.Tags = tags
		return s.createWithOptions(ctx, req, original, title, passwordHash, now)
	}
	return s.createOrFind(ctx, req.UserID, original, title, tags, CreatingKey(ctx), now)
}

// reusable looks up the active link a plain create of original answers
// with (spec §4.13 step 8), for a request that cannot create one; ok is
// false when there is none, or when the request has options of its own.
// Find-if-exists stays within the creating API key: one key's link is
// never handed to another key, nor to an anonymous create.
func (s *Service) reusable(ctx context.Context, req CreateURLRequest, original string) (u URL, ok bool, err error) {
	if req.hasOptions() {
		return URL{}, false, nil
	}
	u, err = s.store.FindActiveURL(ctx, original, CreatingKey(ctx))
	switch {
	case err == nil:
		return u, true, nil
	case errors.Is(err, ErrNotFound):
		return URL{}, false, nil
	}
	return URL{}, false, fmt.Errorf("find active url: %w", err)
}

// createOrFind creates a plain link (no options of its own) to original,
// or answers with the active link that FindActiveURL finds for it and the
// creating key (created false). The store looks for that link in the
// create's group transaction (CreateOrFindURL), so the lookup costs no
// round trip of its own; a code drawn for a create that finds a link is
// given back for the next create.
func (s *Service) createOrFind(ctx context.Context, userID *int64, original string, title *string, tags []string, keyID int64, now time.Time) (URL, bool, error) {
	for range maxCodeAttempts {
		n, err := s.nextCodeValue(ctx)
		if err != nil {
			return URL{}, false, err
		}
		code := ShortCode(n)
		u := URL{
			UserID:      userID,
			ShortCode:   code,
			OriginalURL: original,
			Title:       title,
			IsActive:    true,
			CreatedAt:   now,
			UpdatedAt:   now,
			KeyID:       keyID,
			Tags:        tags,
		}
		ev := Event{
			UserID:    userID,
			EventType: EventCreated,
			Timestamp: now,
			Details:   createdDetails(code, original),
		}
		found, err := s.store.CreateOrFindURL(ctx, &u, &ev)
		switch {
		case err == nil && found:
			// A link to reuse existed, or a concurrent create of the same
			// URL won: answer with it; the code goes back unused.
			s.codes.putBack(n)
			return u, false, nil
		case err == nil:
			s.invalidateCreated(ctx, u)
			return u, true, nil
		case errors.Is(err, ErrReference):
			return URL{}, false, invalid("user_id", msgUserIDUnknown)
		case errors.Is(err, ErrConflict):
			s.log.DebugContext(ctx, "short code taken, drawing another", "code", code)
			continue
		default:
			return URL{}, false, fmt.Errorf("create url %q: %w", code, err)
		}
	}
	return URL{}, false, invalid("short_code", msgCreateFailed)
}

// checkOriginalURL trims a link's target and applies spec §4.13 steps 6-7
// and the host blocklist.
func (s *Service) checkOriginalURL(raw string) (string, error) {
	return s.checkURL("original_url", raw)
}

// checkURL trims a URL a link leads to (field names it in errors) and
// checks it: not blank, http or https, at most MaxOriginalURLLen code
// points, not a blocked host.
func (s *Service) checkURL(field, raw string) (string, error) {
	u := pycompat.Strip(raw)
	switch {
	case u == "":
		return "", invalid(field, msgURLEmpty, field)
	case !ValidHTTPURL(u):
		return "", invalid(field, msgURLInvalid, field)
	case tooLong(u, MaxOriginalURLLen):
		return "", invalid(field, msgURLTooLong, field)
	case s.blocked.blocks(u):
		return "", invalid(field, msgHostBlocked, field)
	}
	return u, nil
}

// createWithOptions creates a link with settings of its own: never
// reused, and with the client's code when it chose one (a taken code is a
// validation error, not a reason to draw another).
func (s *Service) createWithOptions(ctx context.Context, req CreateURLRequest, original string, title *string, passwordHash string, now time.Time) (URL, bool, error) {
	u := URL{
		UserID:      req.UserID,
		OriginalURL: original,
		Title:       title,
		IsActive:    true,
		CreatedAt:   now,
		UpdatedAt:   now,
		KeyID:       CreatingKey(ctx),
	}
	if req.ShortCode != nil {
		u.ShortCode, u.CustomCode = *req.ShortCode, true
	}
	if req.RedirectStatus != nil {
		u.RedirectStatus = *req.RedirectStatus
	}
	u.Lifecycle, u.Tags, u.PasswordHash, u.Rules = req.Lifecycle, req.Tags, passwordHash, req.Rules
	for range maxCodeAttempts {
		if !u.CustomCode {
			code, err := s.nextCode(ctx)
			if err != nil {
				return URL{}, false, err
			}
			u.ShortCode = code
		}
		ev := Event{
			UserID:    req.UserID,
			EventType: EventCreated,
			Timestamp: now,
			Details:   createdDetails(u.ShortCode, original),
		}
		err := s.store.CreateURL(ctx, &u, &ev)
		switch {
		case err == nil:
			s.invalidateCreated(ctx, u)
			return u, true, nil
		case errors.Is(err, ErrReference):
			return URL{}, false, invalid("user_id", msgUserIDUnknown)
		case errors.Is(err, ErrConflict) && u.CustomCode:
			return URL{}, false, invalid("short_code", msgCodeTaken)
		case errors.Is(err, ErrConflict):
			continue
		default:
			return URL{}, false, fmt.Errorf("create url %q: %w", u.ShortCode, err)
		}
	}
	return URL{}, false, invalid("short_code", msgCreateFailed)
}

// normaliseTitle trims a title; a blank title is no title.
func normaliseTitle(title *string) (*string, error) {
	if title == nil {
		return nil, nil
	}
	t := pycompat.Strip(*title)
	if t == "" {
		return nil, nil
	}
	if err := storableField("title", t, MaxTitleLen); err != nil {
		return nil, err
	}
	return &t, nil
}

// createdDetails is the details text of a created event (spec §3.5).
func createdDetails(code, original string) string {
	b := make([]byte, 0, 48+len(code)+len(original))
	b = append(b, `{"short_code": `...)
	b = pycompat.AppendJSONString(b, code)
	b = append(b, `, "original_url": `...)
	b = pycompat.AppendJSONString(b, original)
	return string(append(b, '}'))
}

// updatedDetails is the details text of an updated event (spec §3.5),
// with the new original URL last when the update retargeted the link.
func updatedDetails(title *string, active, retargeted bool, original string) string {
	b := make([]byte, 0, 48)
	b = append(b, `{"title": `...)
	if title == nil {
		b = append(b, "null"...)
	} else {
		b = pycompat.AppendJSONString(b, *title)
	}
	b = append(b, `, "is_active": `...)
	b = strconv.AppendBool(b, active)
	if retargeted {
		b = append(b, `, "original_url": `...)
		b = pycompat.AppendJSONString(b, original)
	}
	return string(append(b, '}'))
}

// ListURLsRequest selects the URLs GET /urls lists; nil fields do not
// filter.
type ListURLsRequest struct {
	// UserID selects one owner's URLs; an id outside the id range has
	// none.
	UserID *int64
	// IsActive selects active or inactive URLs.
	IsActive *bool
	// Limit bounds the list; nil means the default of 100, and values are
	// clamped into 1..500.
	Limit *int64
	// Tags, AllTags and ExcludeTags filter by tag (URLFilter); a list
	// filtered by tag is not cached (X-Cache: BYPASS).
	Tags        []string
	AllTags     bool
	ExcludeTags []string
	// Newest lists the newest links first (order=newest); such a list is
	// not cached either.
	Newest bool
	// AfterID starts the list after this id in its order (URLFilter);
	// Search selects links by a part of their code, title or original
	// URL, at most maxSearchLength characters, blank meaning no search,
	// as Reader may see them (URLFilter). Such lists are not cached.
	AfterID *int64
	Search  string
	Reader  TargetAccess
}

// maxSearchLength bounds ListURLsRequest.Search, in characters.
const maxSearchLength = 100

// ListURLs lists URLs (spec §4.14). A list is cached per filter for the
// default limit of 100 (the spec's key), which also answers every smaller
// limit by truncation, and under a ":limit:500" key for larger limits,
// so a cached list never answers with the wrong length (fix of Q6). A
// list filtered by tag, searched, paged after an id or newest first is
// read from the store every time (listUncached).
func (s *Service) ListURLs(ctx context.Context, p ListURLsRequest) ([]URL, CacheStatus, error) {
	if p.UserID != nil && !validID(*p.UserID) {
		return []URL{}, CacheMiss, nil
	}
	f := URLFilter{UserID: p.UserID, IsActive: p.IsActive, Newest: p.Newest}
	p.Search = pycompat.Strip(p.Search)
	if len(p.Tags) > 0 || len(p.ExcludeTags) > 0 || p.Newest || p.AfterID != nil || p.Search != "" {
		return s.listUncached(ctx, f, p)
	}
	limit := defaultURLListLimit
	if p.Limit != nil {
		limit = int(min(max(*p.Limit, 1), maxURLListLimit))
	}
	wide := limit > defaultURLListLimit
	f.Limit = defaultURLListLimit
	if wide {
		f.Limit = maxURLListLimit
	}
	key := listKey(f.UserID, f.IsActive, wide)
	if raw, ok := s.cacheGet(ctx, key); ok {
		if urls, ok := decodeURLList(raw); ok {
			return urls[:min(len(urls), limit)], CacheHit, nil
		}
	}
	urls, err := s.store.ListURLs(ctx, f)
	if err != nil {
		return nil, CacheNone, fmt.Errorf("list urls: %w", err)
	}
	if urls == nil {
		urls = []URL{}
	}
	s.cacheSet(ctx, key, encodeURLList(urls), ttlURLList)
	return urls[:min(len(urls), limit)], CacheMiss, nil
}

// GetURL returns one URL (spec §4.15), from the cache when it can.
func (s *Service) GetURL(ctx context.Context, id int64) (URL, CacheStatus, error) {
	key := urlKey(id)
	if raw, ok := s.cacheGet(ctx, key); ok {
		if u, ok := s.urls.get(id, raw); ok {
			return u, CacheHit, nil
		}
		if v, err := pycompat.ParseJSON(raw); err == nil {
			if u, ok := decodeURL(v); ok {
				s.urls.put(id, raw, u)
				return u, CacheHit, nil
			}
		}
	}
	u, err := s.loadURL(ctx, id)
	if err != nil {
		return URL{}, CacheNone, err
	}
	s.cacheSet(ctx, key, appendURLPython(nil, u), ttlURL)
	return u, CacheMiss, nil
}

// listUncached lists URLs filtered by tag or search, newest first or
// after an id, from the store alone: such lists are not cached, so no
// write has to know which of them to forget.
func (s *Service) listUncached(ctx context.Context, f URLFilter, p ListURLsRequest) ([]URL, CacheStatus, error) {
	f.Search, f.Reader, f.AfterID = p.Search, p.Reader, p.AfterID
	if utf8.RuneCountInString(f.Search) > maxSearchLength || strings.IndexFunc(f.Search, unicode.IsControl) >= 0 {
		return nil, CacheNone, invalid("q", "Query parameter 'q' must be at most %d characters, none of them a control character", maxSearchLength)
	}
	var ok bool
	if f.Tags, ok = NormaliseTags(p.Tags); !ok {
		return nil, CacheNone, invalid("tags", "Query parameter 'tags' must list at most 10 tags of 1 to 32 letters, digits, '-' or '_'")
	}
	if f.ExcludeTags, ok = NormaliseTags(p.ExcludeTags); !ok {
		return nil, CacheNone, invalid("exclude_tags", "Query parameter 'exclude_tags' must list at most 10 tags of 1 to 32 letters, digits, '-' or '_'")
	}
	f.AllTags = p.AllTags
	f.Limit = defaultURLListLimit
	if p.Limit != nil {
		f.Limit = int(min(max(*p.Limit, 1), maxURLListLimit))
	}
	urls, err := s.store.ListURLs(ctx, f)
	if err != nil {
		return nil, CacheNone, fmt.Errorf("list urls: %w", err)
	}
	if urls == nil {
		urls = []URL{}
	}
	return urls, CacheBypass, nil
}

// CheckURL reports ErrURLNotFound when no URL has id, from the store and
// without filling the cache: a write refused for its body checks that its
// URL exists first (spec §4.16), and leaves the caches as they were.
func (s *Service) CheckURL(ctx context.Context, id int64) error {
	_, err := s.loadURL(ctx, id)
	return err
}

// loadURL reads a URL from the store, mapping a missing one to
// ErrURLNotFound.
func (s *Service) loadURL(ctx context.Context, id int64) (URL, error) {
	return getRow(ctx, s.store.GetURL, id, ErrURLNotFound, "url")
}

// UpdateURLRequest changes a URL (spec §4.16); fields left unset keep
// their value.
type UpdateURLRequest struct {
	// SetTitle reports that Title replaces the title: trimmed, and nil or
	// blank clears it.
	SetTitle bool
	Title    *string
	// IsActive, when set, enables or disables the link.
	IsActive *bool
	// OriginalURL, when set, retargets the link (issue 19), with the rules
	// of CreateURLRequest.OriginalURL; every cache forgets the old target.
	OriginalURL *string
	// SetRedirectStatus reports that RedirectStatus replaces the link's
	// redirect status: nil returns the link to the deployment's.
	SetRedirectStatus bool
	RedirectStatus    *int
	// Lifecycle changes the link's bounds; the result is checked as a
	// whole (valid_until after valid_since).
	Lifecycle LifecycleChange
	// SetTags reports that Tags replace the link's tags (nil or empty
	// clears them).
	SetTags bool
	Tags    []string
	// SetPassword reports that Password replaces the link's password: nil
	// removes it.
	SetPassword bool
	Password    *string
	// SetRules reports that Rules replace the link's rules (nil or empty
	// clears them).
	SetRules bool
	Rules    []Rule
}

// empty reports a request that changes nothing.
func (r UpdateURLRequest) empty() bool {
	return !r.SetTitle && r.IsActive == nil && r.OriginalURL == nil && !r.SetRedirectStatus && !r.Lifecycle.set() && !r.SetTags && !r.SetPassword && !r.SetRules
}

// UpdateURL changes a URL's title and active flag (spec §4.16). A request
// that sets nothing returns the URL unchanged, without an event.
func (s *Service) UpdateURL(ctx context.Context, id int64, req UpdateURLRequest) (URL, error) {
	u, err := s.loadURL(ctx, id)
	if err != nil {
		return URL{}, err
	}
	if req.empty() {
		return u, nil
	}
	previous := u.OriginalURL
	if req.OriginalURL != nil {
		if u.OriginalURL, err = s.checkOriginalURL(*req.OriginalURL); err != nil {
			return URL{}, err
		}
	}
	if req.SetTitle {
		if u.Title, err = normaliseTitle(req.Title); err != nil {
			return URL{}, err
		}
	}
	if req.IsActive != nil {
		u.IsActive = *req.IsActive
	}
	if req.SetRedirectStatus {
		if err := checkRedirectStatus(req.RedirectStatus); err != nil {
			return URL{}, err
		}
		u.RedirectStatus = 0
		if req.RedirectStatus != nil {
			u.RedirectStatus = *req.RedirectStatus
		}
	}
	if c := req.Lifecycle; c.set() {
		l := u.Lifecycle
		c.ValidSince.apply(&l.ValidSince)
		c.ValidUntil.apply(&l.ValidUntil)
		c.MaxVisits.apply(&l.MaxVisits)
		c.ExpiredURL.apply(&l.ExpiredURL)
		if u.Lifecycle, err = s.checkLifecycle(l); err != nil {
			return URL{}, err
		}
	}
	if req.SetTags {
		if u.Tags, err = checkTags(req.Tags); err != nil {
			return URL{}, err
		}
	}
	if req.SetRules {
		if u.Rules, err = s.checkRules(req.Rules); err != nil {
			return URL{}, err
		}
	}
	if req.SetPassword {
		u.PasswordHash = ""
		if req.Password != nil {
			if u.PasswordHash, err = s.hashPassword(*req.Password); err != nil {
				return URL{}, err
			}
		}
	}
	u.UpdatedAt = s.clock()
	ev := Event{
		URLID:     &u.ID,
		UserID:    u.UserID,
		EventType: EventUpdated,
		Timestamp: u.UpdatedAt,
		Details:   updatedDetails(u.Title, u.IsActive, u.OriginalURL != previous, u.OriginalURL),
	}
	if err := rowErr(s.store.UpdateURL(ctx, u, &ev), ErrURLNotFound, "update url", id); err != nil {
		return URL{}, err
	}
	s.invalidateChanged(ctx, urlKeys(u))
	return u, nil
}

// DeleteURL deletes a URL and its events (spec §4.17).
func (s *Service) DeleteURL(ctx context.Context, id int64) error {
	u, err := s.loadURL(ctx, id)
	if err != nil {
		return err
	}
	if err := rowErr(s.store.DeleteURL(ctx, id), ErrURLNotFound, "delete url", id); err != nil {
		return err
	}
	s.invalidateChanged(ctx, urlKeys(u))
	s.deleteClicks(ctx, u.ShortCode)
	return nil
}

// deleteClicks asks every click shard that can (ClickDeleter) to forget
// code (fix of Q34). Every shard is asked, not only the code's ring owner,
// since failover may have put its clicks elsewhere. The URL is gone
// already, so a shard that fails is logged and left for the consumer,
// which drops the stream entries of deleted URLs.
func (s *Service) deleteClicks(ctx context.Context, code string) {
	for _, sh := range s.shardList() {
		d, ok := sh.Shard.(ClickDeleter)
		if !ok {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, shardTimeout)
		err := d.Delete(cctx, []string{code})
		cancel()
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			s.log.WarnContext(ctx, "click data of a deleted url left on its shard", "shard", sh.Name, "error", err)
		}
	}
}

// appendURLPython appends u as the reference caches it: its API object in
// Python's json.dumps layout and the reference's key order.
func appendURLPython(b []byte, u URL) []byte {
	b = append(b, `{"id": `...)
	b = strconv.AppendInt(b, u.ID, 10)
	b = append(b, `, "user_id": `...)
	if u.UserID == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *u.UserID, 10)
	}
	b = append(b, `, "short_code": `...)
	b = pycompat.AppendJSONString(b, u.ShortCode)
	b = append(b, `, "original_url": `...)
	b = pycompat.AppendJSONString(b, u.OriginalURL)
	b = append(b, `, "title": `...)
	if u.Title == nil {
		b = append(b, "null"...)
	} else {
		b = pycompat.AppendJSONString(b, *u.Title)
	}
	b = append(b, `, "is_active": `...)
	b = strconv.AppendBool(b, u.IsActive)
	b = append(b, `, "created_at": "`...)
	b = AppendTime(b, u.CreatedAt)
	b = append(b, `", "updated_at": "`...)
	b = AppendTime(b, u.UpdatedAt)
	b = append(b, '"')
	// Link options follow the reference's members, only when set.
	if u.RedirectStatus != 0 {
		b = append(b, `, "redirect_status": `...)
		b = strconv.AppendInt(b, int64(u.RedirectStatus), 10)
	}
	b = appendLifecyclePython(b, u.Lifecycle)
	if len(u.Tags) > 0 {
		b = append(b, `, "tags": [`...)
		for i, t := range u.Tags {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = pycompat.AppendJSONString(b, t)
		}
		b = append(b, ']')
	}
	if u.PasswordHash != "" {
		b = append(b, `, "password_hash": `...)
		b = pycompat.AppendJSONString(b, u.PasswordHash)
	}
	if len(u.Rules) > 0 {
		b = append(b, `, "rules": `...)
		b = pycompat.AppendJSONString(b, EncodeRules(u.Rules))
	}
	return append(b, '}')
}

func encodeURLList(urls []URL) []byte {
	b := make([]byte, 0, 2+len(urls)*256)
	b = append(b, '[')
	for i, u := range urls {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendURLPython(b, u)
	}
	return append(b, ']')
}

func decodeURLList(raw []byte) ([]URL, bool) {
	v, err := pycompat.ParseJSON(raw)
	if err != nil || v.Kind != pycompat.JSONArray {
		return nil, false
	}
	urls := make([]URL, 0, len(v.Items))
	for _, item := range v.Items {
		u, ok := decodeURL(item)
		if !ok {
			return nil, false
		}
		urls = append(urls, u)
	}
	return urls, true
}

// decodeURL reads a cached URL object. Anything unexpected makes the entry
// a miss rather than an error (the reference answered 500, spec §6.2).
func decodeURL(v pycompat.JSONValue) (URL, bool) {
	if v.Kind != pycompat.JSONObject {
		return URL{}, false
	}
	var u URL
	var ok bool
	if u.ID, ok = intField(v, "id"); !ok {
		return URL{}, false
	}
	if u.UserID, ok = nullableIntField(v, "user_id"); !ok {
		return URL{}, false
	}
	if u.ShortCode, ok = stringField(v, "short_code"); !ok {
		return URL{}, false
	}
	if u.OriginalURL, ok = stringField(v, "original_url"); !ok {
		return URL{}, false
	}
	if t, _ := v.Get("title"); t.Kind == pycompat.JSONString {
		u.Title = &t.Text
	} else if t.Kind != pycompat.JSONNull {
		return URL{}, false
	}
	a, _ := v.Get("is_active")
	if a.Kind != pycompat.JSONBool {
		return URL{}, false
	}
	u.IsActive = a.Bool
	if u.CreatedAt, ok = timeField(v, "created_at"); !ok {
		return URL{}, false
	}
	if u.UpdatedAt, ok = timeField(v, "updated_at"); !ok {
		return URL{}, false
	}
	if _, has := v.Get("redirect_status"); has {
		st, ok := intField(v, "redirect_status")
		if !ok || !ValidRedirectStatus(int(st)) {
			return URL{}, false
		}
		u.RedirectStatus = int(st)
	}
	if u.Lifecycle, ok = readLifecycle(v); !ok {
		return URL{}, false
	}
	if tags, has := v.Get("tags"); has {
		if tags.Kind != pycompat.JSONArray {
			return URL{}, false
		}
		for _, t := range tags.Items {
			if t.Kind != pycompat.JSONString {
				return URL{}, false
			}
			u.Tags = append(u.Tags, t.Text)
		}
	}
	if _, has := v.Get("password_hash"); has {
		if u.PasswordHash, ok = stringField(v, "password_hash"); !ok {
			return URL{}, false
		}
	}
	if _, has := v.Get("rules"); has {
		text, ok := stringField(v, "rules")
		if !ok {
			return URL{}, false
		}
		var err error
		if u.Rules, err = DecodeRules(text); err != nil {
			return URL{}, false
		}
	}
	return u, true
}

func intField(v pycompat.JSONValue, key string) (int64, bool) {
	f, _ := v.Get(key)
	n, ok, overflow := f.Int64()
	return n, ok && !overflow
}

func nullableIntField(v pycompat.JSONValue, key string) (*int64, bool) {
	f, present := v.Get(key)
	if !present {
		return nil, false
	}
	if f.Kind == pycompat.JSONNull {
		return nil, true
	}
	n, ok, overflow := f.Int64()
	if !ok || overflow {
		return nil, false
	}
	return &n, true
}

func stringField(v pycompat.JSONValue, key string) (string, bool) {
	f, _ := v.Get(key)
	return f.Text, f.Kind == pycompat.JSONString
}

func timeField(v pycompat.JSONValue, key string) (time.Time, bool) {
	f, _ := v.Get(key)
	if f.Kind != pycompat.JSONString {
		return time.Time{}, false
	}
	t, err := time.Parse(TimeLayout, f.Text)
	return t, err == nil
}
