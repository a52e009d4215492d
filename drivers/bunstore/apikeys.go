package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

var _ core.KeyStore = (*Store)(nil)

type apiKeyRow struct {
	bun.BaseModel `bun:"table:api_keys,alias:k"`

	ID        int64      `bun:"id,pk,autoincrement"`
	Name      string     `bun:"name,notnull"`
	Hash      string     `bun:"hash,notnull"`
	Scopes    string     `bun:"scopes,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	RevokedAt *time.Time `bun:"revoked_at"`
	// ReplacedBy is the key that replaced this one, NULL (0) for none
	// (migration 000140).
	ReplacedBy int64 `bun:"replaced_by,nullzero"`
}

func (r apiKeyRow) key() core.APIKey {
	k := core.APIKey{ID: r.ID, Name: r.Name, Hash: r.Hash, Scopes: strings.Split(r.Scopes, ","), CreatedAt: r.CreatedAt.UTC(), ReplacedBy: r.ReplacedBy}
	if r.RevokedAt != nil {
		t := r.RevokedAt.UTC()
		k.RevokedAt = &t
	}
	return k
}

type apiKeyURLRow struct {
	bun.BaseModel `bun:"table:api_key_urls,alias:ku"`

	URLID int64 `bun:"url_id,pk"`
	KeyID int64 `bun:"key_id,notnull"`
}

// CreateAPIKey inserts k and sets k.ID.
func (s *Store) CreateAPIKey(ctx context.Context, k *core.APIKey) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	row := apiKeyRow{Name: k.Name, Hash: k.Hash, Scopes: strings.Join(k.Scopes, ","), CreatedAt: k.CreatedAt}
	if _, err := s.db.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
		return wrapf(err, "create api key")
	}
	k.ID = row.ID
	return nil
}

// APIKeyByHash returns the key with this hash, with the key it acts as:
// one more query for a key that was replaced.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (core.APIKey, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var row apiKeyRow
	if err := s.db.NewSelect().Model(&row).Where("k.hash = ?", hash).Scan(ctx); err != nil {
		return core.APIKey{}, wrapf(err, "get api key")
	}
	k := row.key()
	k.ActsAs = k.ID
	if k.ReplacedBy != 0 {
		err := s.db.NewRaw(chainEnd("SELECT id, replaced_by, 0 FROM api_keys WHERE id = ?"), k.ReplacedBy).Scan(ctx, &k.ActsAs)
		if err != nil {
			return core.APIKey{}, wrapf(err, "get api key %d's newest rotation", k.ID)
		}
	}
	return k, nil
}

// chainEnd is the query of the newest key of a rotation chain: start
// selects the first key as (id, replaced_by, 0), and the replacements are
// followed to the last (at most 1000 of them, against a loop, which
// RotateAPIKey never makes: a key is replaced by a newer one, once).
func chainEnd(start string) string {
	return "WITH RECURSIVE chain (id, next, depth) AS (" + start +
		" UNION ALL SELECT k.id, k.replaced_by, chain.depth + 1 FROM api_keys AS k JOIN chain ON k.id = chain.next WHERE chain.depth < 1000)" +
		" SELECT id FROM chain ORDER BY depth DESC LIMIT 1"
}

// ListAPIKeys returns every key by id.
func (s *Store) ListAPIKeys(ctx context.Context) ([]core.APIKey, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var rows []apiKeyRow
	if err := s.db.NewSelect().Model(&rows).OrderExpr("k.id ASC").Scan(ctx); err != nil {
		return nil, wrapf(err, "list api keys")
	}
	keys := make([]core.APIKey, len(rows))
	for i, r := range rows {
		keys[i] = r.key()
	}
	return keys, nil
}

// RevokeAPIKey marks the key revoked; a missing key is core.ErrNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64, t time.Time) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	res, err := s.db.NewUpdate().Model((*apiKeyRow)(nil)).Set("revoked_at = COALESCE(revoked_at, ?)", t.UTC()).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return wrapf(err, "revoke api key")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return wrapf(sql.ErrNoRows, "revoke api key %d", id)
	}
	return nil
}

// RotateAPIKey inserts next as the replacement of key id and moves id's
// links to it, in one transaction. Only a key neither revoked nor
// replaced is rotated: the update that records the replacement says so,
// so that two rotations of one key at once cannot both succeed.
// reuse_key, derived from the creating key, is left as is: find-if-exists
// looks a key's links up by owner first (findReusable), and no create
// runs under the old id any more, so no create collides with it.
func (s *Store) RotateAPIKey(ctx context.Context, id int64, next *core.APIKey) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row := apiKeyRow{Name: next.Name, Hash: next.Hash, Scopes: strings.Join(next.Scopes, ","), CreatedAt: next.CreatedAt}
		if _, err := tx.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model((*apiKeyRow)(nil)).Set("replaced_by = ?", row.ID).
			Where("id = ?", id).Where("revoked_at IS NULL").Where("replaced_by IS NULL").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return whyNotRotated(ctx, tx, id)
		}
		if _, err := tx.NewUpdate().Model((*apiKeyURLRow)(nil)).Set("key_id = ?", row.ID).Where("key_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		next.ID = row.ID
		return nil
	})
	return wrapf(err, "rotate api key %d", id)
}

// whyNotRotated returns why key id could not be rotated: it is missing,
// revoked or already replaced.
func whyNotRotated(ctx context.Context, tx bun.Tx, id int64) error {
	var old apiKeyRow
	switch err := tx.NewSelect().Model(&old).Where("k.id = ?", id).Scan(ctx); {
	case err != nil:
		return err
	case old.RevokedAt != nil:
		return core.ErrKeyRevoked
	case old.ReplacedBy != 0:
		return fmt.Errorf("%w by key %d", core.ErrKeyReplaced, old.ReplacedBy)
	}
	return fmt.Errorf("key %d changed while it was rotated: %w", id, core.ErrConflict)
}

// SetURLOwner records the key that created the link.
func (s *Store) SetURLOwner(ctx context.Context, urlID, keyID int64) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	row := apiKeyURLRow{URLID: urlID, KeyID: keyID}
	if _, err := s.db.NewInsert().Model(&row).On("CONFLICT (url_id) DO NOTHING").Exec(ctx); err != nil {
		return wrapf(err, "set url owner")
	}
	return nil
}

// URLOwner returns the newest key of the rotations of the key that
// created the link, 0 when none did, in one query. A link recorded under
// a key that was replaced (created with it while it was being rotated)
// belongs to its replacement all the same.
func (s *Store) URLOwner(ctx context.Context, urlID int64) (int64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var owner int64
	err := s.db.NewRaw(chainEnd("SELECT k.id, k.replaced_by, 0 FROM api_key_urls AS ku JOIN api_keys AS k ON k.id = ku.key_id WHERE ku.url_id = ?"), urlID).
		Scan(ctx, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, wrapf(err, "get url owner")
	}
	return owner, nil
}
