package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// API key scopes. A write key may create, change and delete its own
// links; an admin key may change and delete any; a read key is refused
// on every write route.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
	ScopeAdmin = "admin"
)

// APIKeyPrefix starts every API key, so that leaked keys are easy to
// recognise (and to scan for).
const APIKeyPrefix = "ck_"

// APIKey is a stored API key: never the key itself, only its SHA-256.
type APIKey struct {
	ID        int64
	Name      string
	Hash      string // hex SHA-256 of the key
	Scopes    []string
	CreatedAt time.Time
	RevokedAt *time.Time
	// ReplacedBy is the key that replaced this one (RotateAPIKey), 0 for
	// none.
	ReplacedBy int64
	// ActsAs is the key whose links this one acts on: the newest key of
	// its rotations (ReplacedBy followed to the end). APIKeyByHash sets
	// it; 0 means the key itself.
	ActsAs int64
}

// Owner is the id a request made with k acts as: the newest key of its
// rotations, which owns the links k and the keys before it created.
func (k APIKey) Owner() int64 {
	if k.ActsAs != 0 {
		return k.ActsAs
	}
	return k.ID
}

// Errors of RotateAPIKey: a revoked key is not rotated, nor a key already
// replaced (its replacement is rotated instead). Both match ErrConflict.
var (
	ErrKeyRevoked  = fmt.Errorf("the key is revoked: %w", ErrConflict)
	ErrKeyReplaced = fmt.Errorf("the key was already replaced: %w", ErrConflict)
)

// Has reports whether the key grants scope; admin grants every scope and
// write grants read.
func (k APIKey) Has(scope string) bool {
	switch {
	case slices.Contains(k.Scopes, ScopeAdmin):
		return true
	case scope == ScopeRead:
		return slices.Contains(k.Scopes, ScopeRead) || slices.Contains(k.Scopes, ScopeWrite)
	}
	return slices.Contains(k.Scopes, scope)
}

// KeyStore is the optional Store capability that keeps API keys and the
// owner key of each link created with one. Missing keys are ErrNotFound;
// a link without an owner reports owner 0.
type KeyStore interface {
	// CreateAPIKey inserts k and sets k.ID.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash returns the key with this hash, revoked or not, with
	// ActsAs set.
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	// ListAPIKeys returns every key by id.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey marks the key revoked at t; revoking twice keeps the
	// first time.
	RevokeAPIKey(ctx context.Context, id int64, t time.Time) error
	// RotateAPIKey replaces key id by next, in one transaction: it
	// inserts next (setting next.ID), records it as id's replacement and
	// makes it the owner of every link id owned. Key id stays valid and
	// acts as next from then on. A missing key is ErrNotFound, a revoked
	// one ErrKeyRevoked, one already replaced ErrKeyReplaced.
	RotateAPIKey(ctx context.Context, id int64, next *APIKey) error
	// SetURLOwner records that the key created the link.
	SetURLOwner(ctx context.Context, urlID, keyID int64) error
	// URLOwner returns the key that owns the link: the newest key of the
	// rotations of the key that created it, 0 when no key did.
	URLOwner(ctx context.Context, urlID int64) (int64, error)
}

// NewAPIKey returns a fresh random key (256 bits) and its stored form.
func NewAPIKey(name string, scopes []string, now time.Time) (secret string, k APIKey, err error) {
	scopes, err = ParseScopes(strings.Join(scopes, ","))
	if err != nil {
		return "", APIKey{}, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", APIKey{}, fmt.Errorf("generate api key: %w", err)
	}
	secret = APIKeyPrefix + hex.EncodeToString(b)
	return secret, APIKey{Name: name, Hash: HashAPIKey(secret), Scopes: scopes, CreatedAt: now.UTC().Truncate(time.Microsecond)}, nil
}

// HashAPIKey is the stored form of a key: its hex SHA-256 (the key is
// random and long, so a plain hash is enough).
func HashAPIKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ParseScopes parses a comma-separated scope list.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for sc := range strings.SplitSeq(s, ",") {
		sc = strings.ToLower(strings.TrimSpace(sc))
		switch sc {
		case "":
			continue
		case ScopeRead, ScopeWrite, ScopeAdmin:
			if !slices.Contains(out, sc) {
				out = append(out, sc)
			}
		default:
			return nil, fmt.Errorf("unknown scope %q: use read, write or admin", sc)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scope: use read, write or admin")
	}
	slices.Sort(out)
	return out, nil
}

// creatingKeyCtx is the context key of WithCreatingKey.
type creatingKeyCtx struct{}

// WithCreatingKey returns ctx carrying the id of the API key a request
// authenticated with: links created under ctx belong to that key, and
// find-if-exists reuses only that key's links.
func WithCreatingKey(ctx context.Context, keyID int64) context.Context {
	return context.WithValue(ctx, creatingKeyCtx{}, keyID)
}

// CreatingKey returns the API key id of WithCreatingKey, 0 when none.
func CreatingKey(ctx context.Context) int64 {
	id, _ := ctx.Value(creatingKeyCtx{}).(int64)
	return id
}
