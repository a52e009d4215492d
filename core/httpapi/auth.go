package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
)

// Auth configures API keys on the write routes. The zero value is off:
// anyone may write, as in the reference.
type Auth struct {
	// RequireAPIKey (auth.require_api_key) makes every write route (POST,
	// PUT, DELETE) require a key with the write or admin scope, sent as
	// X-API-Key or Authorization: Bearer. Links remember the key that
	// created them; only that key or an admin key may change or delete
	// them, or post events about them. Changing or deleting a user needs
	// an admin key.
	RequireAPIKey bool
	// Keys stores the keys (the store, when it has the capability).
	Keys core.KeyStore
}

// requestKey is the API key a request was authenticated with.
type requestKey struct {
	id    int64 // the key it acts as (core.APIKey.Owner)
	admin bool
}

// apiKeyIDKey carries the request's *requestKey in its context.
type apiKeyIDKey struct{}

func keyOf(ctx context.Context) *requestKey {
	k, _ := ctx.Value(apiKeyIDKey{}).(*requestKey)
	return k
}

// apiKeyID returns the id of the API key the request acts as (a rotated
// key acts as its newest replacement), or "" when it carries none.
func apiKeyID(ctx context.Context) string {
	if k := keyOf(ctx); k != nil {
		return strconv.FormatInt(k.id, 10)
	}
	return ""
}

var (
	errKeyRequired = &httpError{status: http.StatusUnauthorized, message: "API key required"}
	errKeyInvalid  = &httpError{status: http.StatusUnauthorized, message: "Invalid API key"}
	errKeyScope    = &httpError{status: http.StatusForbidden, message: "API key lacks the write scope"}
	errKeyAdmin    = &httpError{status: http.StatusForbidden, message: "API key lacks the admin scope"}
	errNotOwner    = &httpError{status: http.StatusForbidden, message: "URL belongs to another API key"}
)

// presentedKey returns the key sent as X-API-Key or Authorization: Bearer.
func presentedKey(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("X-API-Key")); k != "" {
		return k
	}
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// authenticated returns h behind the API-key check of route r, or h
// itself when keys are not required or r only reads.
func (a *api) authenticated(r route, h bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	if !a.opts.Auth.RequireAPIKey || r.method == http.MethodGet || strings.HasPrefix(r.name, "redirect.") {
		// Reads and redirects stay open: a visitor posting a link's
		// password form holds no key.
		return h
	}
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		secret := presentedKey(req.Request)
		if secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="curtain"`)
			return errKeyRequired
		}
		k, err := a.findKey(w, req.Request, secret)
		if err != nil {
			return err
		}
		if !k.Has(core.ScopeWrite) {
			return errKeyScope
		}
		// A key that was rotated acts as its newest replacement, which
		// owns its links (curtain keys rotate).
		rk := &requestKey{id: k.Owner(), admin: k.Has(core.ScopeAdmin)}
		switch r.name {
		case "users.update", "users.delete":
			if !rk.admin {
				return errKeyAdmin
			}
		case "urls.update", "urls.delete":
			if err := a.checkOwner(req.Context(), rk, pathID(req.Param("id"))); err != nil {
				return err
			}
		}
		ctx := core.WithCreatingKey(context.WithValue(req.Context(), apiKeyIDKey{}, rk), rk.id)
		req = req.WithContext(ctx)
		return h(w, req)
	}
}

// findKey returns the valid (known, unrevoked) key secret, sent with r,
// and records it for the access log. An unknown or revoked key is
// errKeyInvalid and counts against the client's failed attempts; past
// them the answer is the 429, without a lookup.
func (a *api) findKey(w http.ResponseWriter, r *http.Request, secret string) (core.APIKey, error) {
	if a.opts.Auth.Keys == nil {
		return core.APIKey{}, errKeyInvalid
	}
	hash := core.HashAPIKey(secret)
	addr := a.limitClient(r, a.opts.RateLimits.Shared != nil)
	if err := a.keyGuard.refused(addr, hash, time.Now()); err != nil {
		return core.APIKey{}, err
	}
	k, err := a.opts.Auth.Keys.APIKeyByHash(r.Context(), hash)
	switch {
	case errors.Is(err, core.ErrNotFound), err == nil && k.RevokedAt != nil:
		return core.APIKey{}, a.keyFailed(r, addr, hash)
	case err != nil:
		return core.APIKey{}, err
	}
	a.keyGuard.succeeded(hash, time.Now())
	if kr, ok := w.(apiKeyRecorder); ok {
		kr.recordKey(k.ID)
	}
	return k, nil
}

// checkOwner lets key k change link id, or post events about it, only if
// it created the link or is an admin key. A link that does not exist is
// its 404.
func (a *api) checkOwner(ctx context.Context, k *requestKey, id int64) error {
	if k.admin {
		return nil
	}
	owner, err := a.opts.Auth.Keys.URLOwner(ctx, id)
	if err != nil {
		return err
	}
	if owner == k.id {
		return nil
	}
	if owner == 0 {
		if _, _, err := a.svc.GetURL(ctx, id); err != nil {
			return err
		}
	}
	return errNotOwner
}
