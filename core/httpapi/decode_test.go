package httpapi

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/pycompat"
)

// TestShortenFormMatchesJSON checks that the UI form is decoded with the
// rules of POST /urls (fix of Q5); the service's own rules (valid URL,
// existing user) are tested in core with the decoded requests.
func TestShortenFormMatchesJSON(t *testing.T) {
	tests := []struct {
		name string
		form map[string]string
		want core.CreateURLRequest
		err  string // error message, or "" for success
	}{
		{"ok", map[string]string{"original_url": "  https://x/a  ", "title": " t "}, core.CreateURLRequest{OriginalURL: "  https://x/a  ", Title: ptr(" t ")}, ""},
		{"long_url alias", map[string]string{"long_url": "https://x/b"}, core.CreateURLRequest{OriginalURL: "https://x/b"}, ""},
		{"missing", map[string]string{}, core.CreateURLRequest{}, "Field 'original_url' is required"},
		{"blank", map[string]string{"original_url": "   "}, core.CreateURLRequest{}, "Field 'original_url' must not be empty"},
		{"not integer user", map[string]string{"original_url": "https://x", "user_id": "abc"}, core.CreateURLRequest{}, "Field 'user_id' must be an integer"},
		{"huge user saturates", map[string]string{"original_url": "https://x/c", "user_id": "99999999999999999999"}, core.CreateURLRequest{OriginalURL: "https://x/c", UserID: ptr[int64](math.MaxInt64)}, ""},
		{"user trimmed", map[string]string{"original_url": "https://x/d", "user_id": " 5 "}, core.CreateURLRequest{OriginalURL: "https://x/d", UserID: ptr[int64](5)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeShortenForm(tt.form)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("decodeShortenForm error = %v, want %q", err, tt.err)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); err != nil || diff != "" {
				t.Errorf("decodeShortenForm = %v, diff (-want +got):\n%s", err, diff)
			}
		})
	}
}

func TestDecodeUsersCSVErrors(t *testing.T) {
	tests := []struct {
		name, csv, want string
	}{
		{"invalid utf-8", "username,email\nb\xffb,b@x.io\n", "CSV file must be UTF-8 encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeUsersCSV([]byte(tt.csv))
			var ve *core.ValidationError
			if !errors.As(err, &ve) || ve.Message != tt.want {
				t.Errorf("decodeUsersCSV error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDecodeUsersCSVRows(t *testing.T) {
	rows, err := decodeUsersCSV([]byte("\xef\xbb\xbfid,username,email,created_at\n5, bob ,b@x.io,2026-01-02 03:04:05\n,ann,a@x.io,\n"))
	if err != nil || len(rows) != 2 {
		t.Fatalf("decodeUsersCSV = %+v, %v", rows, err)
	}
	if r := rows[0]; r.Line != 2 || r.ID == nil || *r.ID != 5 || r.Username != " bob " || r.CreatedAt == nil ||
		r.CreatedAt.Format("2006-01-02 15:04:05") != "2026-01-02 03:04:05" {
		t.Errorf("row 1 = %+v", r)
	}
	// An id that is not an integer reaches the service as 0, which it
	// refuses with the id range message (core's TestImportUsersErrors).
	if bad, err := decodeUsersCSV([]byte("id,username,email\nx1,bob,b@x.io\n")); err != nil || len(bad) != 1 || bad[0].ID == nil || *bad[0].ID != 0 {
		t.Errorf("decodeUsersCSV(id x1) = %+v, %v; want id 0", bad, err)
	}
	if r := rows[1]; r.Line != 3 || r.ID != nil || r.CreatedAt != nil || r.BadCreatedAt || r.Username != "ann" {
		t.Errorf("row 2 = %+v", r)
	}
	// A created_at that is not a time is marked for the service, which
	// refuses it in the reference's order (core's TestImportUsersErrors).
	if bad, err := decodeUsersCSV([]byte("username,email,created_at\nann,a@x.io,yesterday\n")); err != nil || len(bad) != 1 || !bad[0].BadCreatedAt || bad[0].CreatedAt != nil {
		t.Errorf("decodeUsersCSV(created_at yesterday) = %+v, %v; want BadCreatedAt", bad, err)
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzDecodeURLBodies feeds arbitrary JSON to the decoders of the link
// bodies: they never panic, and every error is a ValidationError with a
// message, as writeError needs it (its field may be "", the name of an
// unknown member "").
func FuzzDecodeURLBodies(f *testing.F) {
	for _, seed := range []string{
		`{"original_url":"https://x","title":"t","user_id":1,"short_code":"abc","redirect_status":301}`,
		`{"original_url":" ","long_url":"https://y"}`,
		`{"valid_since":"2026-01-02T03:04:05","valid_until":null,"max_visits":99999999999999999999,"expired_url":5,"tags":["a",1]}`,
		`{"is_active":true,"tags":null,"zeta":1}`, `[]`, `0`, `"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := pycompat.ParseJSON(data)
		if err != nil {
			return
		}
		check := func(what string, err error) {
			if err == nil {
				return
			}
			var ve *core.ValidationError
			if !errors.As(err, &ve) || ve.Message == "" {
				t.Fatalf("%s(%s) error %v is not a ValidationError with a message", what, data, err)
			}
		}
		_, err = decodeCreateURL(&v)
		check("decodeCreateURL", err)
		_, err = decodeUpdateURL(&v)
		check("decodeUpdateURL", err)
		_, err = decodeCreateUser(&v)
		check("decodeCreateUser", err)
		_, err = decodeCreateEvent(&v)
		check("decodeCreateEvent", err)
	})
}
