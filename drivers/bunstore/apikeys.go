package bunstore

import (
	"context"
	"database/sql"
	"errors"
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
}

func (r apiKeyRow) key() core.APIKey {
	k := core.APIKey{ID: r.ID, Name: r.Name, Hash: r.Hash, Scopes: strings.Split(r.Scopes, ","), CreatedAt: r.CreatedAt.UTC()}
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
	row := apiKeyRow{Name: k.Name, Hash: k.Hash, Scopes: strings.Join(k.Scopes, ","), CreatedAt: k.CreatedAt}
	if _, err := s.db.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
		return wrapf(err, "create api key")
	}
	k.ID = row.ID
	return nil
}

// APIKeyByHash returns the key with this hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (core.APIKey, error) {
	var row apiKeyRow
	if err := s.db.NewSelect().Model(&row).Where("k.hash = ?", hash).Scan(ctx); err != nil {
		return core.APIKey{}, wrapf(err, "get api key")
	}
	return row.key(), nil
}

// ListAPIKeys returns every key by id.
func (s *Store) ListAPIKeys(ctx context.Context) ([]core.APIKey, error) {
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

// SetURLOwner records the key that created the link.
func (s *Store) SetURLOwner(ctx context.Context, urlID, keyID int64) error {
	row := apiKeyURLRow{URLID: urlID, KeyID: keyID}
	if _, err := s.db.NewInsert().Model(&row).On("CONFLICT (url_id) DO NOTHING").Exec(ctx); err != nil {
		return wrapf(err, "set url owner")
	}
	return nil
}

// URLOwner returns the key that created the link, 0 when none did.
func (s *Store) URLOwner(ctx context.Context, urlID int64) (int64, error) {
	var row apiKeyURLRow
	err := s.db.NewSelect().Model(&row).Where("ku.url_id = ?", urlID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, wrapf(err, "get url owner")
	}
	return row.KeyID, nil
}
