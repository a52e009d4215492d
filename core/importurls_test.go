package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestImportURLReservedCodes: an imported code that is a reserved word, in
// any case, is refused with the message POST /urls gives for it, and
// nothing is stored, so that an import can never shadow a route served at
// the root (favicon.ico, robots.txt, login, ...).
func TestImportURLReservedCodes(t *testing.T) {
	ctx := t.Context()
	st := newFakeStore()
	svc := newTestService(st, ServiceConfig{})
	for _, w := range ReservedCodes {
		for _, code := range []string{w, strings.ToUpper(w), strings.ToUpper(w[:1]) + w[1:]} {
			_, _, err := svc.ImportURL(ctx, ImportedURL{ShortCode: code, OriginalURL: "https://evil.example/" + code})
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "short_code" || ve.Message != msgCodeReserved {
				t.Errorf("import of code %q: err = %v, want %q", code, err, msgCodeReserved)
			}
			// POST /urls refuses it with the same message.
			_, _, err = svc.CreateURL(ctx, CreateURLRequest{OriginalURL: "https://evil.example/" + code, ShortCode: &code})
			if len(code) >= MinCustomCodeLen && !strings.Contains(code, ".") && (err == nil || err.Error() != msgCodeReserved) {
				t.Errorf("create with code %q: err = %v, want %q", code, err, msgCodeReserved)
			}
		}
	}
	for _, u := range st.urls {
		t.Errorf("stored a link with the reserved code %q", u.ShortCode)
	}
	// A code that merely contains a reserved word is fine.
	for _, code := range []string{"admin2", "my-login", "favicon"} {
		if _, outcome, err := svc.ImportURL(ctx, ImportedURL{ShortCode: code, OriginalURL: "https://example.com/" + code}); err != nil || outcome != ImportCreated {
			t.Errorf("import of code %q = %v, %v; want created", code, outcome, err)
		}
	}
}

// FindInactiveURL finds the lowest inactive link without options or owner.
func (f *fakeStore) FindInactiveURL(ctx context.Context, original string) (URL, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.urls {
		if u.OriginalURL == original && !u.IsActive && u.UserID == nil && u.KeyID == 0 && !u.HasOptions() {
			return u, nil
		}
	}
	return URL{}, ErrNotFound
}

// TestImportURLTwiceStoresNothing: rows without a code, active or
// inactive, dated or not, are already there when imported again; a create
// of an inactive row's target still makes a new active link (the
// reference's find-if-exists only reuses active links).
func TestImportURLTwiceStoresNothing(t *testing.T) {
	ctx := t.Context()
	st := newFakeStore()
	svc := newTestService(st, ServiceConfig{})
	dated := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	rows := []ImportedURL{
		{OriginalURL: "https://example.com/inact", Inactive: true},
		{OriginalURL: "https://example.com/inact-dated", Inactive: true, CreatedAt: dated},
		{OriginalURL: "https://example.com/act"},
		{OriginalURL: "https://example.com/act-dated", CreatedAt: dated},
	}
	ids := make([]int64, len(rows))
	for round := range 3 {
		for i, in := range rows {
			u, outcome, err := svc.ImportURL(ctx, in)
			if err != nil {
				t.Fatalf("round %d: import %s: %v", round, in.OriginalURL, err)
			}
			want := ImportExisted
			if round == 0 {
				want, ids[i] = ImportCreated, u.ID
			}
			if outcome != want || u.ID != ids[i] || u.IsActive == in.Inactive {
				t.Errorf("round %d: import %s = link %d (active %v), outcome %v; want link %d, outcome %v",
					round, in.OriginalURL, u.ID, u.IsActive, outcome, ids[i], want)
			}
		}
	}
	if len(st.urls) != len(rows) {
		t.Errorf("stored %d links for %d rows imported three times", len(st.urls), len(rows))
	}
	u, created, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: "https://example.com/inact"})
	if err != nil || !created || !u.IsActive || u.ID == ids[0] {
		t.Errorf("create of an imported inactive target = link %d (active %v), created %v, %v; want a new active link", u.ID, u.IsActive, created, err)
	}
	if _, outcome, err := svc.ImportURL(ctx, rows[0]); err != nil || outcome != ImportExisted {
		t.Errorf("import after the create = %v, %v; want already there", outcome, err)
	}
}
