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

// TestImportURLTagsAndLifecycle: an imported link keeps its tags and
// bounds, checked and normalised as POST /urls checks them (the same
// messages); a link with bounds needs a code; a second import of the same
// rows stores nothing.
func TestImportURLTagsAndLifecycle(t *testing.T) {
	ctx := t.Context()
	st := newFakeStore()
	svc := newTestService(st, ServiceConfig{})
	since := time.Date(2030, 1, 1, 2, 0, 0, 0, time.FixedZone("+02", 2*3600))
	until := since.Add(48*time.Hour + 500*time.Millisecond)
	visits := int64(100)
	expired := "  https://example.com/over "
	in := ImportedURL{
		ShortCode: "bounded", OriginalURL: "https://example.com/bounded", CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Tags:      []string{"News", "beta", "news"},
		Lifecycle: Lifecycle{ValidSince: &since, ValidUntil: &until, MaxVisits: &visits, ExpiredURL: &expired},
	}
	tagged := ImportedURL{OriginalURL: "https://example.com/tagged", Tags: []string{"b", "a"}}
	for round := range 2 {
		want := ImportCreated
		if round > 0 {
			want = ImportExisted
		}
		for _, in := range []ImportedURL{in, tagged} {
			if _, outcome, err := svc.ImportURL(ctx, in); err != nil || outcome != want {
				t.Fatalf("round %d: import %s = %v, %v; want %v", round, in.OriginalURL, outcome, err, want)
			}
		}
	}
	if len(st.urls) != 2 {
		t.Errorf("stored %d links, want 2", len(st.urls))
	}
	u, err := st.GetURLByCode(ctx, "bounded")
	if err != nil {
		t.Fatal(err)
	}
	l := u.Lifecycle
	if strings.Join(u.Tags, ",") != "beta,news" || l.ValidSince == nil || !l.ValidSince.Equal(since) || l.ValidSince.Location() != time.UTC ||
		l.ValidUntil == nil || !l.ValidUntil.Equal(until.Truncate(time.Second)) || l.MaxVisits == nil || *l.MaxVisits != 100 ||
		l.ExpiredURL == nil || *l.ExpiredURL != "https://example.com/over" {
		t.Errorf("stored tags %q, lifecycle %+v; want the import's, normalised", u.Tags, l)
	}
	for _, u := range st.urls {
		if u.OriginalURL == tagged.OriginalURL && strings.Join(u.Tags, ",") != "a,b" {
			t.Errorf("link without a code stored tags %q, want a,b", u.Tags)
		}
	}

	zero, past := int64(0), since.Add(-time.Hour)
	bad := "ftp://example.com/"
	for _, tt := range []struct {
		in         ImportedURL
		field, msg string
	}{
		{ImportedURL{ShortCode: "badtag", OriginalURL: "https://example.com/1", Tags: []string{"no spaces"}}, "tags", msgTags},
		{ImportedURL{ShortCode: "window", OriginalURL: "https://example.com/2", Lifecycle: Lifecycle{ValidSince: &since, ValidUntil: &past}}, "valid_until", msgUntilBeforeSince},
		{ImportedURL{ShortCode: "zero", OriginalURL: "https://example.com/3", Lifecycle: Lifecycle{MaxVisits: &zero}}, "max_visits", msgMaxVisits},
		{ImportedURL{ShortCode: "expurl", OriginalURL: "https://example.com/4", Lifecycle: Lifecycle{ExpiredURL: &bad}}, "expired_url", ""},
		{ImportedURL{OriginalURL: "https://example.com/5", Lifecycle: Lifecycle{MaxVisits: &visits}}, "short_code", msgImportBoundsCode},
		{ImportedURL{OriginalURL: "https://example.com/6", Inactive: true, Lifecycle: Lifecycle{ValidUntil: &until}}, "short_code", msgImportBoundsCode},
		{ImportedURL{OriginalURL: "https://example.com/7", CreatedAt: time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)}, "created_at", ""},
		{ImportedURL{ShortCode: "bigyear", OriginalURL: "https://example.com/8", Lifecycle: Lifecycle{ValidUntil: ptrTo(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))}}, "valid_until", ""},
	} {
		_, _, err := svc.ImportURL(ctx, tt.in)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field || (tt.msg != "" && ve.Message != tt.msg) {
			t.Errorf("import %s: err = %v, want field %s %q", tt.in.OriginalURL, err, tt.field, tt.msg)
		}
	}
	if len(st.urls) != 2 {
		t.Errorf("refused imports stored links: %d, want 2", len(st.urls))
	}
}

// TestImportURLCreationTimeInRange: a source's creation time that falls
// outside the years 1 to 9999 in UTC (Unix seconds far ahead, an offset
// past 9999-12-31) is refused, coded or not, and nothing is stored: the
// stores could not read such a link back, and it broke GET /urls.
func TestImportURLCreationTimeInRange(t *testing.T) {
	ctx := t.Context()
	st := newFakeStore()
	svc := newTestService(st, ServiceConfig{})
	late := time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -5*3600))
	early := time.Date(1, 1, 1, 1, 0, 0, 0, time.FixedZone("", 5*3600))
	for _, in := range []ImportedURL{
		{ShortCode: "late1", OriginalURL: "https://example.com/late", CreatedAt: late},
		{OriginalURL: "https://example.com/late", CreatedAt: late},
		{ShortCode: "early1", OriginalURL: "https://example.com/early", CreatedAt: early},
	} {
		_, _, err := svc.ImportURL(ctx, in)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "created_at" {
			t.Errorf("import %q created %v: err = %v, want a created_at validation error", in.ShortCode, in.CreatedAt, err)
		}
	}
	if len(st.urls) != 0 {
		t.Errorf("refused imports stored %d links", len(st.urls))
	}
}
