package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core/importer"
)

// row is the part of a record the tests compare.
type row struct {
	Where, Code, URL, Title string
	Created                 string
	Inactive                bool
	Dropped                 string
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
		out = append(out, x)
	}
	return out
}

func TestParseSampleExports(t *testing.T) {
	for _, tt := range []struct {
		format, file string
		want         []row
		skipped      []importer.Skip
	}{
		{"bitly", "bitly.json", []row{
			{"entry 1", "3Tz8xQa", "https://example.com/spring-sale", "Spring sale", "2024-03-01T10:15:00Z", false, "tags campaign, spring"},
			{"entry 2", "old-promo", "https://example.com/black-friday", "", "2023-11-20T08:00:00Z", true, ""},
			{"entry 3", "2ftpXyz", "ftp://files.example.com/report.pdf", "Report", "2023-01-05T12:00:00Z", false, ""},
		}, []importer.Skip{{Where: "entry 4", Reason: `unreadable creation time "yesterday"`}}},
		{"bitly", "bitly.csv", []row{
			{"line 2", "3Tz8xQa", "https://example.com/spring-sale", "Spring sale", "2024-03-01T10:15:00Z", false, "tags campaign, spring"},
			{"line 3", "old-promo", "https://example.com/black-friday", "", "2023-11-20T08:00:00Z", true, ""},
		}, []importer.Skip{{Where: "line 4", Reason: "no target URL"}}},
		{"yourls", "yourls.json", []row{
			{"entry 1", "ozh", "https://ozh.org/", "Ozh RICHARD", "2014-02-12T19:48:26Z", false, ""},
			{"entry 2", "yourls", "https://yourls.org/", "YOURLS: Your Own URL Shortener", "2014-02-12T19:49:01Z", false, ""},
			{"entry 3", "this-keyword-is-far-too-long", "https://example.com/long-keyword", "", "2015-06-01T00:00:00Z", false, ""},
		}, nil},
		{"yourls", "yourls.csv", []row{
			{"line 2", "ozh", "https://ozh.org/", "Ozh RICHARD", "2014-02-12T19:48:26Z", false, ""},
			{"line 3", "yourls", "https://yourls.org/", "YOURLS: Your Own URL Shortener", "2014-02-12T19:49:01Z", false, ""},
			{"line 4", "bad", "not a url", "", "2014-02-12T19:50:00Z", false, ""},
		}, nil},
		{"shlink", "shlink.json", []row{
			{"entry 1", "12C18", "https://store.steampowered.com", "Welcome to Steam", "2016-08-21T11:12:21Z", false, "tags games, tech; validSince 2017-01-21T00:00:00+02:00; maxVisits 100"},
			{"entry 2", "ghi789", "https://shlink.io/documentation", "", "2019-09-10T10:00:00Z", false, ""},
		}, nil},
		{"shlink", "shlink.csv", []row{
			{"line 2", "12C18", "https://store.steampowered.com", "Welcome to Steam", "2016-08-21T11:12:21Z", false, "tags games, tech"},
			{"line 3", "ghi789", "https://shlink.io/documentation", "", "2019-09-10T10:00:00Z", false, ""},
		}, nil},
		{"kutt", "kutt.json", []row{
			{"entry 1", "kT8mZq", "https://github.com/thedevs-network/kutt", "Kutt repository", "2022-05-04T16:20:00Z", false, ""},
			{"entry 4", "docs", "https://docs.kutt.it/", "", "2022-06-01T12:00:00Z", false, "expire_in 2h"},
		}, []importer.Skip{
			{Where: "entry 2", Reason: "password-protected at the source; the export does not carry the password"},
			{Where: "entry 3", Reason: "banned at the source"},
		}},
		{"csv", "links.csv", []row{
			{"line 2", "docs-a", "https://example.com/a", "Document A", "2025-01-02T03:04:05Z", false, ""},
			{"line 3", "", "https://example.com/b", "Generated code", "", false, ""},
			{"line 4", "c/slash", "https://example.com/c", "Bad code", "", false, ""},
			{"line 5", "docs-d", "https://example.com/d", "Disabled", "2025-02-03T04:05:06Z", true, ""},
		}, nil},
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

func TestParseRefusesTheWrongShape(t *testing.T) {
	for _, tt := range []struct{ format, input, want string }{
		{"bitly", `{"data": []}`, `no "links" array`},
		{"yourls", `{"links": []}`, "yourls json"},
		{"shlink", `{"data": []}`, `no "shortUrls" object`},
		{"kutt", "address,target\nabc,https://x.test\n", "JSON of GET /api/v2/links"},
		{"kutt", `{"links": []}`, `no "data" array`},
		{"csv", "code,title\nabc,x\n", "no target column"},
		{"csv", `{"links": []}`, "must be CSV"},
		{"tinyurl", "", `unknown format "tinyurl"`},
	} {
		_, err := importer.Parse(tt.format, strings.NewReader(tt.input))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
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
