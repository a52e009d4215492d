package seed

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
)

// seedDir holds the reference seed files, relative to this package.
const seedDir = "../../../shared/seed-data"

func ptr[T any](v T) *T { return &v }

func utc(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestLoadDirReferenceSeed(t *testing.T) {
	if _, err := os.Stat(seedDir); errors.Is(err, os.ErrNotExist) {
		t.Skipf("reference seed directory %s is absent; nothing to check", seedDir)
	}
	batch, err := LoadDir(seedDir)
	if err != nil {
		t.Fatalf("LoadDir(%q) error: %v", seedDir, err)
	}
	if got, want := len(batch.Users), 400; got != want {
		t.Errorf("users = %d, want %d", got, want)
	}
	if got, want := len(batch.URLs), 2000; got != want {
		t.Errorf("urls = %d, want %d", got, want)
	}
	if got, want := len(batch.Events), 3422; got != want {
		t.Fatalf("events = %d, want %d", got, want)
	}

	wantURL := core.URL{
		ID: 1, UserID: ptr[int64](1), ShortCode: "d5DnL5",
		OriginalURL: "https://hackstack.io/jade/uplink/1", Title: ptr("Ops review river"),
		IsActive: true, CreatedAt: utc("2025-10-14 15:07:51"), UpdatedAt: utc("2026-01-22 14:39:15"),
	}
	if diff := cmp.Diff(wantURL, batch.URLs[0]); diff != "" {
		t.Errorf("urls row 1 mismatch (-want +got):\n%s", diff)
	}
	wantEvent := core.Event{
		ID: 1, URLID: ptr[int64](1), UserID: ptr[int64](1), EventType: "created",
		Timestamp: utc("2025-10-14 15:07:51"),
		Details:   `{"short_code":"d5DnL5","original_url":"https://hackstack.io/jade/uplink/1"}`,
	}
	if diff := cmp.Diff(wantEvent, batch.Events[0]); diff != "" {
		t.Errorf("events row 1 mismatch (-want +got):\n%s", diff)
	}

	byID := map[int64]core.User{}
	for _, u := range batch.Users {
		byID[u.ID] = u
	}
	if a, b := byID[284].Email, byID[300].Email; a != "embercanyon83@example.com" || b != a {
		t.Errorf("emails of users 284 and 300 = %q, %q, want both embercanyon83@example.com", a, b)
	}

	active, types := 0, map[string]int{}
	for _, u := range batch.URLs {
		if u.IsActive {
			active++
		}
		if u.CreatedAt.Location() != time.UTC {
			t.Fatalf("url %d created_at location = %v, want UTC", u.ID, u.CreatedAt.Location())
		}
	}
	for _, e := range batch.Events {
		types[e.EventType]++
	}
	if active != 1633 {
		t.Errorf("active urls = %d, want 1633", active)
	}
	if diff := cmp.Diff(map[string]int{"created": 2000, "updated": 1206, "deleted": 216}, types); diff != "" {
		t.Errorf("event types mismatch (-want +got):\n%s", diff)
	}
}

func TestParseURLs(t *testing.T) {
	in := "\ufeffid,user_id,short_code,original_url,title,is_active,created_at,updated_at,extra\n" +
		"7,,abc,https://x.test/a,,TRUE,2025-01-02T03:04:05,2025-01-02 03:04:05.25,zzz\n" +
		"8,3,def,https://x.test/b,T,false,2025-01-02 03:04:05,2025-01-02 03:04:05,\n" +
		"9,3,ghi,https://x.test/c,T,yes,2025-01-02 03:04:05,2025-01-02 03:04:05,\n"
	got, err := ParseURLs(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParseURLs error: %v", err)
	}
	want := []core.URL{
		{ID: 7, ShortCode: "abc", OriginalURL: "https://x.test/a", Title: ptr(""), IsActive: true,
			CreatedAt: utc("2025-01-02 03:04:05"), UpdatedAt: utc("2025-01-02 03:04:05").Add(250 * time.Millisecond)},
		{ID: 8, UserID: ptr[int64](3), ShortCode: "def", OriginalURL: "https://x.test/b", Title: ptr("T"),
			CreatedAt: utc("2025-01-02 03:04:05"), UpdatedAt: utc("2025-01-02 03:04:05")},
		{ID: 9, UserID: ptr[int64](3), ShortCode: "ghi", OriginalURL: "https://x.test/c", Title: ptr("T"),
			CreatedAt: utc("2025-01-02 03:04:05"), UpdatedAt: utc("2025-01-02 03:04:05")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseURLs mismatch (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		parse func(string) error
		in    string
		want  string
	}{
		{
			name:  "bad user id",
			parse: func(s string) error { _, err := ParseUsers(strings.NewReader(s)); return err },
			in:    "id,username,email,created_at\n1,a,a@b.c,2025-01-01 00:00:00\nx,b,b@c.d,2025-01-01 00:00:00\n",
			want:  `line 3, column id: id "x" is not a positive integer`,
		},
		{
			name:  "bad time",
			parse: func(s string) error { _, err := ParseUsers(strings.NewReader(s)); return err },
			in:    "id,username,email,created_at\n1,a,a@b.c,01/02/2025\n",
			want:  `line 2, column created_at: time "01/02/2025" is not in the layout YYYY-MM-DD HH:MM:SS`,
		},
		{
			name:  "year 0",
			parse: func(s string) error { _, err := ParseUsers(strings.NewReader(s)); return err },
			in:    "id,username,email,created_at\n1,a,a@b.c,2025-01-01 00:00:00\n2,b,b@c.d,0000-06-01 00:00:00\n",
			want:  `line 3, column created_at: time "0000-06-01 00:00:00" must be between 0001-01-01 00:00:00 and 9999-12-31 23:59:59 (UTC)`,
		},
		{
			name:  "event in year 0",
			parse: func(s string) error { _, err := ParseEvents(strings.NewReader(s)); return err },
			in:    "id,url_id,user_id,event_type,timestamp,details\n1,1,,x,0000-12-31T23:59:59.5,{}\n",
			want:  `line 2, column timestamp: time "0000-12-31T23:59:59.5" must be between 0001-01-01 00:00:00 and 9999-12-31 23:59:59 (UTC)`,
		},
		{
			name:  "missing column",
			parse: func(s string) error { _, err := ParseEvents(strings.NewReader(s)); return err },
			in:    "id,url_id,user_id,event_type,timestamp\n",
			want:  "line 1, column details: missing column in header",
		},
		{
			name:  "multi-line quoted field counts lines",
			parse: func(s string) error { _, err := ParseEvents(strings.NewReader(s)); return err },
			in:    "id,url_id,user_id,event_type,timestamp,details\n1,1,,x,2025-01-01 00:00:00,\"a\nb\"\n2,zz,,x,2025-01-01 00:00:00,{}\n",
			want:  `line 4, column url_id: id "zz" is not a positive integer`,
		},
		{
			name:  "wrong field count",
			parse: func(s string) error { _, err := ParseUsers(strings.NewReader(s)); return err },
			in:    "id,username,email,created_at\n1,a,a@b.c\n",
			want:  "line 2: wrong number of fields",
		},
		{
			name:  "empty input",
			parse: func(s string) error { _, err := ParseURLs(strings.NewReader(s)); return err },
			in:    "",
			want:  "line 1: missing header row",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(tt.in)
			if err == nil {
				t.Fatalf("error = nil, want %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
			if _, ok := errors.AsType[*ParseError](err); !ok {
				t.Errorf("error %T is not a *ParseError", err)
			}
		})
	}
}

func TestLoadDirNamesFile(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		UsersFile:  "id,username,email,created_at\n1,a,a@b.c,2025-01-01 00:00:00\n",
		URLsFile:   "id,user_id,short_code,original_url,title,is_active,created_at,updated_at\n1,1,abc,https://x.test,t,True,2025-01-01 00:00:00,bad\n",
		EventsFile: "id,url_id,user_id,event_type,timestamp,details\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadDir(dir)
	want := `urls.csv: line 2, column updated_at: time "bad" is not in the layout YYYY-MM-DD HH:MM:SS`
	if err == nil || err.Error() != want {
		t.Fatalf("LoadDir error = %v, want %q", err, want)
	}

	if err := os.Remove(filepath.Join(dir, EventsFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, URLsFile), []byte("id,user_id,short_code,original_url,title,is_active,created_at,updated_at\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadDir without events.csv error = %v, want os.ErrNotExist", err)
	}
}

func FuzzParseEvents(f *testing.F) {
	f.Add("id,url_id,user_id,event_type,timestamp,details\n1,1,,created,2025-01-01 00:00:00,\"{}\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		events, err := ParseEvents(strings.NewReader(in))
		if err != nil {
			if _, ok := errors.AsType[*ParseError](err); !ok {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			return
		}
		for _, e := range events {
			if e.ID < 1 || e.Timestamp.Location() != time.UTC {
				t.Fatalf("event %+v has a bad id or time zone", e)
			}
		}
	})
}

// FuzzParseUsersAndURLs feeds the same arbitrary text to the users and the
// URLs parsers of the seed importer: each either parses it or returns a
// *ParseError, never panics, and parsed rows have valid ids and UTC times.
func FuzzParseUsersAndURLs(f *testing.F) {
	f.Add("id,username,email,created_at\n1,a,a@b.c,2025-01-01 00:00:00\n")
	f.Add("id,user_id,short_code,original_url,title,is_active,created_at,updated_at\n1,,abc,https://x.io,,True,2025-01-01 00:00:00,2025-01-01T00:00:00.5\n")
	f.Add("id,username\n\"1\n")
	f.Fuzz(func(t *testing.T, in string) {
		isParseError := func(err error) bool {
			_, ok := errors.AsType[*ParseError](err)
			return ok
		}
		users, err := ParseUsers(strings.NewReader(in))
		if err != nil && !isParseError(err) {
			t.Fatalf("ParseUsers error %T %v is not a *ParseError", err, err)
		}
		for _, u := range users {
			if u.ID < 1 || u.CreatedAt.Location() != time.UTC {
				t.Fatalf("user %+v has a bad id or time zone", u)
			}
		}
		urls, err := ParseURLs(strings.NewReader(in))
		if err != nil && !isParseError(err) {
			t.Fatalf("ParseURLs error %T %v is not a *ParseError", err, err)
		}
		for _, u := range urls {
			if u.ID < 1 || u.CreatedAt.Location() != time.UTC || u.UpdatedAt.Location() != time.UTC {
				t.Fatalf("URL %+v has a bad id or time zone", u)
			}
		}
	})
}
