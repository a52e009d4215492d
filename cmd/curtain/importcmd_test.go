package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/curtainhq/curtain/internal/testenv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/drivers/postgres"
	"github.com/curtainhq/curtain/drivers/sqlite"
)

// importSample is a sample export of core/importer/testdata.
func importSample(name string) string {
	return filepath.Join("..", "..", "core", "importer", "testdata", name)
}

// TestImport runs `curtain import` on every sample export into one store,
// on SQLite and on PostgreSQL, and checks the report and then the links
// through the HTTP API.
func TestImport(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) (flags []string, store func() core.Store)
	}{
		{"sqlite", importSQLite},
		{"postgres", importPostgres},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "postgres" && testing.Short() {
				t.Skip("PostgreSQL; skipped with -short")
			}
			flags, openStore := tt.open(t)
			imp := func(format, file string) string {
				t.Helper()
				var stdout, stderr strings.Builder
				args := append([]string{"import", "--format", format}, flags...)
				args = append(args, file)
				if err := run(t.Context(), args, nil, &stdout, &stderr); err != nil {
					t.Fatalf("curtain import --format %s %s: %v\n%s", format, file, err, stderr.String())
				}
				return stdout.String()
			}
			for _, step := range []struct {
				format, file string
				want         []string
			}{
				{"bitly", "bitly.json", []string{
					"2 links created, 0 already there, 2 skipped",
					"entry 3 (2ftpXyz): Field 'original_url' must be a valid http or https URL",
					`entry 4: unreadable creation time "yesterday"`,
				}},
				{"bitly", "bitly.json", []string{"0 links created, 2 already there, 2 skipped"}},
				{"bitly", "bitly.csv", []string{"0 links created, 2 already there, 1 skipped", "line 4: no target URL"}},
				{"yourls", "yourls.json", []string{
					"2 links created, 0 already there, 1 skipped",
					"entry 3 (this-keyword-is-far-too-long): short code must be 1 to 16 letters",
				}},
				// Tags and bounds are kept; a tag Curtain refuses is left
				// out, bounds it refuses skip the link.
				{"shlink", "shlink.json", []string{
					"3 links created, 0 already there, 3 skipped",
					"entry 4 (backwards): Field 'valid_until' must be after 'valid_since'",
					"entry 5 (novisits): Field 'max_visits' must be a positive integer",
					`entry 6: unreadable validSince "some day"`,
					"Imported without these settings of the source:\n" +
						`  entry 3 (sale24): tags "summer sale" (not 1 to 32 letters, digits, '-' or '_'); domain doma.in` + "\n",
				}},
				{"shlink", "shlink.json", []string{"0 links created, 3 already there, 3 skipped"}},
				{"kutt", "kutt.json", []string{
					"1 links created, 0 already there, 3 skipped",
					"entry 2: password-protected at the source",
					"entry 3: banned at the source",
					// "docs" is a route: a reserved word, as for POST /urls.
					"entry 4 (docs): Field 'short_code' is a reserved word",
				}},
				{"csv", "links.csv", []string{"3 links created, 0 already there, 1 skipped", "line 4 (c/slash): short code must be"}},
				{"csv", "lifecycle.csv", []string{
					"3 links created, 0 already there, 4 skipped",
					`line 4: unreadable valid_since "next week"`,
					`line 5: unreadable max_visits "lots"`,
					"line 6 (zero): Field 'max_visits' must be a positive integer",
					"line 7: a link with valid_since, valid_until, max_visits or expired_url needs a short code",
					"line 3 (many): tags k, l (beyond the 10 a link may have)",
				}},
				{"csv", "lifecycle.csv", []string{"0 links created, 3 already there, 4 skipped"}},
			} {
				out := imp(step.format, importSample(step.file))
				for _, w := range step.want {
					if !strings.Contains(out, w) {
						t.Errorf("import %s: report lacks %q:\n%s", step.file, w, out)
					}
				}
				// Bitly's tags are kept, not reported as left out.
				if step.format == "bitly" && strings.Contains(out, "Imported without") {
					t.Errorf("import %s: reports settings left out:\n%s", step.file, out)
				}
			}
			taken := filepath.Join(t.TempDir(), "taken.csv")
			os.WriteFile(taken, []byte("original_url,short_code\nhttps://other.example/,ozh\n"), 0o600)
			if out := imp("csv", taken); !strings.Contains(out, "line 2 (ozh): short code is already used by a link to another URL") {
				t.Errorf("import of a taken code:\n%s", out)
			}
			// Reserved words are refused as POST /urls refuses them,
			// whatever their case: no import shadows a route.
			reserved := filepath.Join(t.TempDir(), "reserved.csv")
			os.WriteFile(reserved, []byte("url,code\nhttps://evil.example/fav,favicon.ico\nhttps://evil.example/r,robots.txt\n"+
				"https://evil.example/l,Login\nhttps://evil.example/a,ADMIN\nhttps://evil.example/u,urls\n"), 0o600)
			out := imp("csv", reserved)
			for _, w := range []string{
				"0 links created, 0 already there, 5 skipped",
				"line 2 (favicon.ico): Field 'short_code' is a reserved word",
				"line 4 (Login): Field 'short_code' is a reserved word",
				"line 6 (urls): Field 'short_code' is a reserved word",
			} {
				if !strings.Contains(out, w) {
					t.Errorf("import of reserved codes: report lacks %q:\n%s", w, out)
				}
			}
			// Rows without a code, inactive ones too, are already there the
			// second time.
			nocode := filepath.Join(t.TempDir(), "nocode.csv")
			os.WriteFile(nocode, []byte("url,is_active\nhttps://example.com/inact,false\nhttps://example.com/act,true\n"), 0o600)
			for i, want := range []string{"2 links created, 0 already there", "0 links created, 2 already there", "0 links created, 2 already there"} {
				if out := imp("csv", nocode); !strings.Contains(out, want) {
					t.Errorf("import %d of rows without a code: report lacks %q:\n%s", i+1, want, out)
				}
			}

			// The links, through the API.
			store := openStore()
			srv := httptest.NewServer(httpapi.New(core.NewService(store, core.ServiceConfig{}), httpapi.Options{}))
			defer srv.Close()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for code, want := range map[string]string{
				"3Tz8xQa":   "https://example.com/spring-sale",
				"ozh":       "https://ozh.org/",
				"12C18":     "https://store.steampowered.com",
				"kT8mZq":    "https://github.com/thedevs-network/kutt",
				"docs-a":    "https://example.com/a",
				"old-promo": "", // archived at Bitly: imported inactive
				"docs-d":    "", // is_active false
				"secret":    "", // skipped
			} {
				resp, err := client.Get(srv.URL + "/r/" + code)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				switch {
				case want == "" && resp.StatusCode != http.StatusNotFound:
					t.Errorf("GET /r/%s = %d, want 404", code, resp.StatusCode)
				case want != "" && (resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want):
					t.Errorf("GET /r/%s = %d %q, want 302 %q", code, resp.StatusCode, resp.Header.Get("Location"), want)
				}
			}
			resp, err := http.Get(srv.URL + "/urls?limit=500")
			if err != nil {
				t.Fatal(err)
			}
			var urls []struct {
				ShortCode  string   `json:"short_code"`
				Title      *string  `json:"title"`
				CreatedAt  string   `json:"created_at"`
				IsActive   bool     `json:"is_active"`
				Tags       []string `json:"tags"`
				ValidSince string   `json:"valid_since"`
				ValidUntil string   `json:"valid_until"`
				MaxVisits  int64    `json:"max_visits"`
				ExpiredURL string   `json:"expired_url"`
			}
			json.NewDecoder(resp.Body).Decode(&urls)
			resp.Body.Close()
			if len(urls) != 16 {
				t.Errorf("GET /urls lists %d links, want 16", len(urls))
			}
			// Each link's tags and bounds: "tags|since|until|max|expired".
			options := map[string]string{
				"3Tz8xQa":   "campaign,spring||||",
				"12C18":     "games,tech|2017-01-20T22:00:00||100|",
				"sale24":    "news,ok_tag||2030-01-01T00:00:00||",
				"ozh":       "||||",
				"launch":    "beta,launch,news|2030-01-01T00:00:00|2030-02-01T00:00:00|50|https://example.com/over",
				"many":      "a,b,c,d,e,f,g,h,i,j||||",
				"kT8mZq":    "||||",
				"docs-a":    "||||",
				"old-promo": "||||",
			}
			seen := 0
			for _, u := range urls {
				if u.ShortCode == "ozh" && (u.CreatedAt != "2014-02-12T19:48:26" || u.Title == nil || *u.Title != "Ozh RICHARD") {
					t.Errorf("ozh = %+v, want the export's date and title", u)
				}
				if want, ok := options[u.ShortCode]; ok {
					seen++
					if got := fmt.Sprintf("%s|%s|%s|%s|%s", strings.Join(u.Tags, ","), u.ValidSince, u.ValidUntil,
						strings.TrimPrefix(fmt.Sprint(u.MaxVisits), "0"), u.ExpiredURL); got != want {
						t.Errorf("%s: tags and bounds %q, want %q", u.ShortCode, got, want)
					}
				}
			}
			if seen != len(options) {
				t.Errorf("GET /urls lists %d of the %d links checked for tags and bounds", seen, len(options))
			}
		})
	}
}

// importSQLite stores in a SQLite file of the test.
func importSQLite(t *testing.T) ([]string, func() core.Store) {
	path := filepath.Join(t.TempDir(), "import.db")
	return []string{"--sqlite-path", path}, func() core.Store {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// importPostgres stores in a schema of the test on the shared server.
func importPostgres(t *testing.T) ([]string, func() core.Store) {
	admin, err := sql.Open("pgx", testenv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "links_import_" + strings.ToLower(rand.Text()[:10])
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, _ := url.Parse(testenv.PostgresURL())
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()
	return []string{"--store-driver", "postgres", "--postgres-url", dsn}, func() core.Store {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(fmt.Errorf("open postgres: %w", err))
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}
