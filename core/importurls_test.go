package core

import (
	"errors"
	"strings"
	"testing"
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
