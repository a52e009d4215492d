package httpapi

import (
	"errors"
	"net/http"
	"slices"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/pycompat"
)

// A password-protected link shows its targets (original_url, expired_url,
// each rule's target and the same members of its events' details) only to
// a request that may change it: one with a valid write key that owns the
// link (its rotations included) or an admin key. Everyone else reads the
// link with those values null. Open links are rendered as they always
// were; the key is looked up only when a protected link is to be shown,
// once per request.

// targetMembers are the members of an event's details that name a target
// of its link.
var targetMembers = []string{"expired_url", "original_url", "target"}

// noStore is the Cache-Control of an answer that shows a protected link's
// targets: no shared cache may keep it for a request without the key.
var noStore = []string{"private, no-store"}

// targetView decides, for one request, which protected links it sees the
// targets of.
type targetView struct {
	a *api
	w http.ResponseWriter
	r *http.Request
	// looked reports that key holds the request's key: nil for none, an
	// invalid one, or one that changes no link (read scope).
	looked bool
	key    *requestKey
	// shows remembers the answer for each protected link asked about.
	shows map[int64]bool
}

func (a *api) targetView(w http.ResponseWriter, r *http.Request) targetView {
	return targetView{a: a, w: w, r: r}
}

// hides reports whether the targets of link u are hidden from the request.
// An open link's are not, at the cost of one comparison.
func (v *targetView) hides(u *core.URL) (bool, error) {
	if u.PasswordHash == "" {
		return false, nil
	}
	return v.hidesProtected(u.ID)
}

// hidesProtected reports whether the targets of link id, which has a
// password, are hidden from the request; when they are shown the answer
// is marked private.
func (v *targetView) hidesProtected(id int64) (bool, error) {
	shown, ok := v.shows[id]
	if !ok {
		var err error
		if shown, err = v.mayChange(id); err != nil {
			return true, err
		}
		if v.shows == nil {
			v.shows = map[int64]bool{}
		}
		v.shows[id] = shown
	}
	if shown {
		v.w.Header()["Cache-Control"] = noStore
	}
	return !shown, nil
}

// mayChange reports whether the request's key may change link id.
func (v *targetView) mayChange(id int64) (bool, error) {
	k, err := v.requestKey()
	if k == nil || err != nil {
		return false, err
	}
	if k.admin {
		return true, nil
	}
	owner, err := v.a.opts.Auth.Keys.URLOwner(v.r.Context(), id)
	if err != nil {
		return false, err
	}
	return owner == k.id, nil
}

// requestKey returns the key the request presents when it is valid and
// may change links (write or admin scope), looked up once; nil otherwise.
// A read never fails for its key: an unknown or revoked one (counted as
// a failed attempt, see findKey) reads as no key.
func (v *targetView) requestKey() (*requestKey, error) {
	if v.looked {
		return v.key, nil
	}
	v.looked = true
	secret := presentedKey(v.r)
	if secret == "" {
		return nil, nil
	}
	k, err := v.a.findKey(v.w, v.r, secret)
	var limited *rateLimitedError
	switch {
	case errors.Is(err, errKeyInvalid), errors.As(err, &limited):
		return nil, nil
	case err != nil:
		return nil, err
	case !k.Has(core.ScopeWrite):
		return nil, nil
	}
	v.key = &requestKey{id: k.Owner(), admin: k.Has(core.ScopeAdmin)}
	return v.key, nil
}

// access says whose protected links' targets the request may see.
func (v *targetView) access() (core.TargetAccess, error) {
	k, err := v.requestKey()
	if k == nil || err != nil {
		return core.TargetAccess{}, err
	}
	return core.TargetAccess{All: k.admin, Owner: k.id}, nil
}

// hiddenLinks reports which of urls the request may not see the targets
// of; nil when it sees them all (no protected link among them).
func (v *targetView) hiddenLinks(urls []core.URL) ([]bool, error) {
	var hidden []bool
	for i := range urls {
		h, err := v.hides(&urls[i])
		if err != nil {
			return nil, err
		}
		if h {
			if hidden == nil {
				hidden = make([]bool, len(urls))
			}
			hidden[i] = true
		}
	}
	return hidden, nil
}

// hideEvents hides what hideEvent hides of each event.
func (v *targetView) hideEvents(events []core.Event) error {
	for i := range events {
		if err := v.hideEvent(&events[i]); err != nil {
			return err
		}
	}
	return nil
}

// hideEvent nulls the target members of the details of an event about a
// protected link that the request may not see.
func (v *targetView) hideEvent(e *core.Event) error {
	if !e.URLProtected || e.URLID == nil {
		return nil
	}
	hide, err := v.hidesProtected(*e.URLID)
	if hide {
		e.Details = hiddenDetails(e.Details)
	}
	return err
}

// respondURL answers one link, its targets hidden from a request that
// may not see them.
func (a *api) respondURL(w http.ResponseWriter, r *http.Request, cache core.CacheStatus, u core.URL) error {
	return respondTargets(a, w, r, cache, u.PasswordHash != "", u.ID, u, appendURL, appendHiddenURL)
}

// respondTargets answers v about link id with shown, or with hidden when
// the link is protected and the request may not see its targets.
func respondTargets[T any](a *api, w http.ResponseWriter, r *http.Request, cache core.CacheStatus, protected bool, id int64, v T, shown, hidden func([]byte, T) []byte) error {
	if protected {
		view := a.targetView(w, r)
		hide, err := view.hidesProtected(id)
		if err != nil {
			return err
		}
		if hide {
			shown = hidden
		}
	}
	respond(w, http.StatusOK, cache, v, shown)
	return nil
}

// respondURLs answers a list of links, as respondURL answers one.
func (v *targetView) respondURLs(cache core.CacheStatus, urls []core.URL) error {
	hidden, err := v.hiddenLinks(urls)
	if err != nil {
		return err
	}
	if hidden == nil {
		respond(v.w, http.StatusOK, cache, urls, appendURLs)
		return nil
	}
	respond(v.w, http.StatusOK, cache, urls, func(b []byte, urls []core.URL) []byte {
		b = append(b, '[')
		for i := range urls {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendLink(b, &urls[i], hidden[i])
		}
		return append(b, ']')
	})
	return nil
}

// appendHiddenURL encodes a protected link with its targets null.
func appendHiddenURL(b []byte, u core.URL) []byte { return appendLink(b, &u, true) }

// appendHiddenRules encodes rules with each target null: a rule's
// "target", and the "url" of each of its weighted "targets".
func appendHiddenRules(b []byte, rules []core.Rule) []byte {
	v, err := pycompat.ParseJSON([]byte(core.EncodeRules(rules)))
	if err != nil {
		return append(b, "[]"...) // EncodeRules writes valid JSON
	}
	for i := range v.Items {
		rule := &v.Items[i]
		nullMembers(rule, "target")
		for j := range rule.Members {
			if rule.Members[j].Key == "targets" {
				for k := range rule.Members[j].Value.Items {
					nullMembers(&rule.Members[j].Value.Items[k], "url")
				}
			}
		}
	}
	return v.AppendSorted(b)
}

// hiddenDetails returns an event's details with their target members
// null; details that are not a JSON object are returned as they are.
func hiddenDetails(details string) string {
	v, err := pycompat.ParseJSON([]byte(details))
	if err != nil || v.Kind != pycompat.JSONObject {
		return details
	}
	nullMembers(&v, targetMembers...)
	return string(v.AppendPython(nil))
}

// nullMembers sets the members of object v named in keys to null.
func nullMembers(v *pycompat.JSONValue, keys ...string) {
	for i := range v.Members {
		if slices.Contains(keys, v.Members[i].Key) {
			v.Members[i].Value = pycompat.JSONValue{}
		}
	}
}
