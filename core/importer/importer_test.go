package importer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/importer"
)

// row is the part of a record the tests compare.
type row struct {
	Where, Code, URL, Title string
	Created                 string
	Inactive                bool
	Dropped                 string
	// Kept lists the tags and lifecycle bounds of the link.
	Kept string
}

func rows(res importer.Result) []row {
	var out []row
	for _, r := range res.Records {
		x := row{Where: r.Where, Code: r.Link.ShortCode, URL: r.Link.OriginalURL, Inactive: r.Link.Inactive, Dropped: strings.Join(r.Dropped, "; ")}
		if r.Link.Title != nil {
			x.Title = *r.Link.Title
		}
		if !r.Link.CreatedAt.IsZero() {
			x.Created = r.Link.CreatedAt.Format(time.RFC3339)
		}
		x.Kept = kept(r.Link)
		out = append(out, x)
	}
	return out
}

// kept renders the tags and bounds of a link: "tags a, b; valid_since
// T; valid_until T; max_visits N; expired_url U", each only when set.
func kept(l core.ImportedURL) string {
	var parts []string
	if l.Tags != nil {
		parts = append(parts, "tags "+strings.Join(l.Tags, ", "))
	}
	if t := l.Lifecycle.ValidSince; t != nil {
		parts = append(parts, "valid_since "+t.Format(time.RFC3339))
	}
	if t := l.Lifecycle.ValidUntil; t != nil {
		parts = append(parts, "valid_until "+t.Format(time.RFC3339))
	}
	if n := l.Lifecycle.MaxVisits; n != nil {
		parts = append(parts, fmt.Sprintf("max_visits %d", *n))
	}
	if u := l.Lifecycle.ExpiredURL; u != nil {
		parts = append(parts, "expired_url "+*u)
	}
	return strings.Join(parts, "; ")
}

func TestParseSampleExports(t *testing.T) {
	for _, tt := range []struct {
		format, file string
		want         []row
		skipped      []importer.Skip
	}{
		{"bitly", "bitly.json", []row{
			{"entry 1", "3Tz8xQa", "https://example.com/spring-sale", "Spring sale", "2024-03-01T10:15:00Z", false, "", "tags campaign, spring"},
			{"entry 2", "old-promo", "https://example.com/black-friday", "", "2023-11-20T08:00:00Z", true, "", ""},
			{"entry 3", "2ftpXyz", "ftp://files.example.com/report.pdf", "Report", "2023-01-05T12:00:00Z", false, "", ""},
		}, []importer.Skip{{Where: "entry 4", Reason: `unreadable creation time "yesterday"`}}},
		{"bitly", "bitly.csv", []row{
			{"line 2", "3Tz8xQa", "https://example.com/spring-sale", "Spring sale", "2024-03-01T10:15:00Z", false, "", "tags campaign, spring"},
			{"line 3", "old-promo", "https://example.com/black-friday", "", "2023-11-20T08:00:00Z", true, "", ""},
		}, []importer.Skip{{Where: "line 4", Reason: "no target URL"}}},
		{"yourls", "yourls.json", []row{
			{"entry 1", "ozh", "https://ozh.org/", "Ozh RICHARD", "2014-02-12T19:48:26Z", false, "", ""},
			{"entry 2", "yourls", "https://yourls.org/", "YOURLS: Your Own URL Shortener", "2014-02-12T19:49:01Z", false, "", ""},
			{"entry 3", "this-keyword-is-far-too-long", "https://example.com/long-keyword", "", "2015-06-01T00:00:00Z", false, "", ""},
		}, nil},
		{"yourls", "yourls.csv", []row{
			{"line 2", "ozh", "https://ozh.org/", "Ozh RICHARD", "2014-02-12T19:48:26Z", false, "", ""},
			{"line 3", "yourls", "https://yourls.org/", "YOURLS: Your Own URL Shortener", "2014-02-12T19:49:01Z", false, "", ""},
			{"line 4", "bad", "not a url", "", "2014-02-12T19:50:00Z", false, "", ""},
		}, nil},
		{"shlink", "shlink.json", []row{
			{"entry 1", "12C18", "https://store.steampowered.com", "Welcome to Steam", "2016-08-21T11:12:21Z", false, "",
				"tags games, tech; valid_since 2017-01-20T22:00:00Z; max_visits 100"},
			{"entry 2", "ghi789", "https://shlink.io/documentation", "", "2019-09-10T10:00:00Z", false, "", ""},
			// A tag Curtain refuses is left out; the others are kept,
			// lower-cased and de-duplicated.
			{"entry 3", "sale24", "https://shop.example/sale", "Summer sale", "2024-06-01T09:00:00Z", false,
				`tags "summer sale" (not 1 to 32 letters, digits, '-' or '_'); domain doma.in`,
				"tags news, ok_tag; valid_until 2030-01-01T00:00:00Z"},
			// Bounds are read as they are; ImportURL refuses these.
			{"entry 4", "backwards", "https://shlink.io/backwards", "", "2024-06-02T09:00:00Z", false, "",
				"valid_since 2025-02-01T00:00:00Z; valid_until 2025-01-01T00:00:00Z"},
			{"entry 5", "novisits", "https://shlink.io/novisits", "", "2024-06-03T09:00:00Z", false, "", "max_visits 0"},
		}, []importer.Skip{{Where: "entry 6", Reason: `unreadable validSince "some day"`}}},
		{"shlink", "shlink.csv", []row{
			{"line 2", "12C18", "https://store.steampowered.com", "Welcome to Steam", "2016-08-21T11:12:21Z", false, "", "tags games, tech"},
			{"line 3", "ghi789", "https://shlink.io/documentation", "", "2019-09-10T10:00:00Z", false, "", ""},
		}, nil},
		{"kutt", "kutt.json", []row{
			{"entry 1", "kT8mZq", "https://github.com/thedevs-network/kutt", "Kutt repository", "2022-05-04T16:20:00Z", false, "", ""},
			// expire_in "2h": two hours after its creation.
			{"entry 4", "docs", "https://docs.kutt.it/", "", "2022-06-01T12:00:00Z", false, "", "valid_until 2022-06-01T14:00:00Z"},
		}, []importer.Skip{
			{Where: "entry 2", Reason: "password-protected at the source; the export does not carry the password"},
			{Where: "entry 3", Reason: "banned at the source"},
		}},
		{"csv", "links.csv", []row{
			{"line 2", "docs-a", "https://example.com/a", "Document A", "2025-01-02T03:04:05Z", false, "", ""},
			{"line 3", "", "https://example.com/b", "Generated code", "", false, "", ""},
			{"line 4", "c/slash", "https://example.com/c", "Bad code", "", false, "", ""},
			{"line 5", "docs-d", "https://example.com/d", "Disabled", "2025-02-03T04:05:06Z", true, "", ""},
		}, nil},
		{"csv", "lifecycle.csv", []row{
			// Tags separated by '|', ',' or spaces.
			{"line 2", "launch", "https://example.com/launch", "", "", false, "",
				"tags beta, launch, news; valid_since 2030-01-01T00:00:00Z; valid_until 2030-02-01T00:00:00Z; max_visits 50; expired_url https://example.com/over"},
			// The first 10 tags in sorted order are kept.
			{"line 3", "many", "https://example.com/many", "", "", false, "tags k, l (beyond the 10 a link may have)",
				"tags a, b, c, d, e, f, g, h, i, j"},
			{"line 6", "zero", "https://example.com/zero", "", "", false, "", "max_visits 0"},
			{"line 7", "", "https://example.com/nocode", "", "", false, "", "valid_until 2030-01-01T00:00:00Z"},
			{"line 8", "", "https://example.com/tagged-nocode", "", "", false, "", "tags x, y"},
		}, []importer.Skip{
			{Where: "line 4", Reason: `unreadable valid_since "next week"`},
			{Where: "line 5", Reason: `unreadable max_visits "lots"`},
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := importer.Parse(tt.format, f)
			if err != nil {
				t.Fatalf("Parse(%s, %s): %v", tt.format, tt.file, err)
			}
			if diff := cmp.Diff(tt.want, rows(res)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.skipped, res.Skipped); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseKuttExpiry: Kutt's expire_in is a time or a duration after
// created_at, and becomes valid_until; anything else skips the link.
func TestParseKuttExpiry(t *testing.T) {
	const link = `{"address": "a%d", "target": "https://example.com/", "created_at": "2024-01-01T00:00:00Z", "expire_in": %q}`
	var links []string
	ins := []string{"2h", "3 days", "1 week", "90 minutes", "2030-01-01T00:00:00Z", "", "soon", "2 fortnights", "9999999 days", "2000000000 minutes"}
	for i, in := range ins {
		links = append(links, fmt.Sprintf(link, i+1, in))
	}
	res, err := importer.Parse("kutt", strings.NewReader(`{"data": [`+strings.Join(links, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Records {
		got = append(got, r.Link.ShortCode+": "+kept(r.Link))
	}
	want := []string{
		"a1: valid_until 2024-01-01T02:00:00Z",
		"a2: valid_until 2024-01-04T00:00:00Z",
		"a3: valid_until 2024-01-08T00:00:00Z",
		"a4: valid_until 2024-01-01T01:30:00Z",
		"a5: valid_until 2030-01-01T00:00:00Z",
		"a6: ",
		// Durations beyond time.Duration's 292 years are counted in
		// seconds, not wrapped around into the past (which imported
		// the link already expired); POST /urls's checks then refuse a
		// year past 9999.
		"a9: valid_until " + time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 9999999).Format(time.RFC3339),
		"a10: valid_until " + time.Unix(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()+2000000000*60, 0).UTC().Format(time.RFC3339),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	wantSkipped := []importer.Skip{
		{Where: "entry 7", Reason: `unreadable expire_in "soon"`},
		{Where: "entry 8", Reason: `unreadable expire_in "2 fortnights"`},
	}
	if diff := cmp.Diff(wantSkipped, res.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}

func TestParseRefusesTheWrongShape(t *testing.T) {
	for _, tt := range []struct{ format, input, want string }{
		{"bitly", `{"data": []}`, `no "links" array`},
		{"yourls", `{"links": []}`, "yourls json"},
		{"shlink", `{"data": []}`, `no "shortUrls" object`},
		{"kutt", "address,target\nabc,https://x.test\n", "JSON of GET /api/v2/links"},
		{"kutt", `{"links": []}`, `no "data" array`},
		{"csv", "code,title\nabc,x\n", "CSV: no target column"},
		{"csv", `{"links": []}`, "must be CSV"},
		{"tinyurl", "", `unknown format "tinyurl"`},
	} {
		_, err := importer.Parse(tt.format, strings.NewReader(tt.input))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s, %q) = %v, want an error containing %q", tt.format, tt.input, err, tt.want)
		}
	}
}

// TestParseNamesTheWrongJSONType: a JSON export of the wrong shape (a bare
// array, a field of the wrong type) is refused with an error in the
// export's terms: the file or the field's path, and the JSON types. It
// used to spell out the Go struct the document was to fill.
func TestParseNamesTheWrongJSONType(t *testing.T) {
	for _, tt := range []struct{ format, input, want string }{
		{"kutt", `[]`, `kutt json: the file is a JSON array, want an object with a "data" array (export GET /api/v2/links)`},
		{"kutt", `[{"address": "abc"}]`, `kutt json: the file is a JSON array, want an object with a "data" array`},
		{"kutt", `{"data": {}}`, `kutt json: "data" has a JSON object where an array belongs (byte 10)`},
		{"kutt", `{"data": [1]}`, `kutt json: "data" has a JSON number where an object belongs (byte 11)`},
		{"kutt", `{"data": [{"address": 5}]}`, `kutt json: "data.address" has a JSON number where a string belongs (byte 23)`},
		{"kutt", `{"data": [{"banned": "no"}]}`, `kutt json: "data.banned" has a JSON string where true or false belongs (byte 25)`},
		{"bitly", `[]`, `bitly json: the file is a JSON array, want an object with a "links" array`},
		{"yourls", `[]`, `yourls json: the file is a JSON array, want an object with a "links" object`},
		{"shlink", `[]`, `shlink json: the file is a JSON array, want an object with a "shortUrls" object`},
		{"shlink", `{"shortUrls": {"data": [{"meta": {"maxVisits": 1.5}}]}}`, `"shortUrls.data.meta.maxVisits" has a JSON number 1.5 where an integer belongs`},
	} {
		_, err := importer.Parse(tt.format, strings.NewReader(tt.input))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "struct") {
			t.Errorf("Parse(%s, %q) = %v, want an error containing %q", tt.format, tt.input, err, tt.want)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("original_url,short_code\nhttps://a.test,abc\n"))
	f.Add([]byte("url\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := importer.Parse("csv", strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, r := range res.Records {
			if strings.TrimSpace(r.Link.OriginalURL) == "" {
				t.Errorf("record %s without a target", r.Where)
			}
		}
	})
}
