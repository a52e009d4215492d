package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/curtainhq/curtain/core"
)

// entry builds the record of one JSON entry, with its tags (already
// through keepTags) and bounds, or skips it when its time cannot be read.
func (r *Result) entry(i int, code, target, title, created string, inactive bool, tags []string, bounds core.Lifecycle, dropped []string) {
	where := fmt.Sprintf("entry %d", i+1)
	if strings.TrimSpace(target) == "" {
		r.skip(where, "no target URL")
		return
	}
	at, ok := parseTime(created)
	if !ok {
		r.skip(where, "unreadable creation time %q", created)
		return
	}
	r.Records = append(r.Records, Record{
		Where: where,
		Link: core.ImportedURL{
			ShortCode:   strings.TrimSpace(code),
			OriginalURL: strings.TrimSpace(target),
			Title:       optTitle(title),
			CreatedAt:   at,
			Inactive:    inactive,
			Tags:        tags,
			Lifecycle:   bounds,
		},
		Dropped: dropped,
	})
}

// parseBitlyJSON reads the answer of Bitly's GET
// /v4/groups/{group_guid}/bitlinks: {"links": [{"id": "bit.ly/3xYz",
// "long_url": …, "title": …, "created_at": "2024-01-02T03:04:05+0000",
// "archived": false, "tags": […]}], "pagination": {…}}.
func parseBitlyJSON(data []byte) (Result, error) {
	var doc struct {
		Links *[]struct {
			ID        string   `json:"id"`
			Link      string   `json:"link"`
			LongURL   string   `json:"long_url"`
			Title     string   `json:"title"`
			CreatedAt string   `json:"created_at"`
			Archived  bool     `json:"archived"`
			Tags      []string `json:"tags"`
		} `json:"links"`
	}
	if err := decodeExport("bitly", data, &doc, `an object with a "links" array (export GET /v4/groups/{group_guid}/bitlinks)`); err != nil {
		return Result{}, err
	}
	if doc.Links == nil {
		return Result{}, fmt.Errorf(`bitly json: no "links" array (export GET /v4/groups/{group_guid}/bitlinks)`)
	}
	var res Result
	for i, l := range *doc.Links {
		link := l.ID
		if link == "" {
			link = l.Link
		}
		tags, dropped := keepTags(l.Tags)
		res.entry(i, codeOf(link), l.LongURL, l.Title, l.CreatedAt, l.Archived, tags, core.Lifecycle{}, dropped)
	}
	return res, nil
}

// parseYOURLSJSON reads the answer of YOURLS'
// yourls-api.php?action=stats&format=json: {"links": {"link_1":
// {"shorturl": "https://sho.rt/abc", "url": …, "title": …, "timestamp":
// "2014-02-12 19:48:26", "ip": …, "clicks": "3"}, …}, "stats": {…}}.
// Entries are taken in the order of their link_N number.
func parseYOURLSJSON(data []byte) (Result, error) {
	type link struct {
		ShortURL  string `json:"shorturl"`
		URL       string `json:"url"`
		Title     string `json:"title"`
		Timestamp string `json:"timestamp"`
	}
	var doc struct {
		Links *map[string]link `json:"links"`
	}
	if err := decodeExport("yourls", data, &doc, `an object with a "links" object (export yourls-api.php?action=stats&filter=last&limit=N&format=json)`); err != nil {
		return Result{}, err
	}
	if doc.Links == nil {
		return Result{}, fmt.Errorf(`yourls json: no "links" object (export yourls-api.php?action=stats&filter=last&limit=N&format=json)`)
	}
	keys := make([]string, 0, len(*doc.Links))
	for k := range *doc.Links {
		keys = append(keys, k)
	}
	num := func(k string) int {
		n, err := strconv.Atoi(strings.TrimPrefix(k, "link_"))
		if err != nil {
			return 1 << 30
		}
		return n
	}
	sort.Slice(keys, func(i, j int) bool {
		if a, b := num(keys[i]), num(keys[j]); a != b {
			return a < b
		}
		return keys[i] < keys[j]
	})
	var res Result
	for i, k := range keys {
		l := (*doc.Links)[k]
		res.entry(i, codeOf(l.ShortURL), l.URL, l.Title, l.Timestamp, false, nil, core.Lifecycle{}, nil)
	}
	return res, nil
}

// parseShlinkJSON reads the answer of Shlink's GET /rest/v3/short-urls:
// {"shortUrls": {"data": [{"shortCode": …, "longUrl": …, "dateCreated":
// RFC 3339, "title": …, "tags": […], "meta": {"validSince", "validUntil",
// "maxVisits"}, "domain": …}], "pagination": {…}}}.
func parseShlinkJSON(data []byte) (Result, error) {
	var doc struct {
		ShortURLs *struct {
			Data []struct {
				ShortCode   string   `json:"shortCode"`
				LongURL     string   `json:"longUrl"`
				DateCreated string   `json:"dateCreated"`
				Title       *string  `json:"title"`
				Tags        []string `json:"tags"`
				Domain      *string  `json:"domain"`
				Meta        struct {
					ValidSince *string `json:"validSince"`
					ValidUntil *string `json:"validUntil"`
					MaxVisits  *int64  `json:"maxVisits"`
				} `json:"meta"`
			} `json:"data"`
		} `json:"shortUrls"`
	}
	if err := decodeExport("shlink", data, &doc, `an object with a "shortUrls" object (export GET /rest/v3/short-urls)`); err != nil {
		return Result{}, err
	}
	if doc.ShortURLs == nil {
		return Result{}, fmt.Errorf(`shlink json: no "shortUrls" object (export GET /rest/v3/short-urls)`)
	}
	var res Result
	for i, s := range doc.ShortURLs.Data {
		where := fmt.Sprintf("entry %d", i+1)
		var bounds core.Lifecycle
		var ok bool
		if bounds.ValidSince, ok = optTime(deref(s.Meta.ValidSince)); !ok {
			res.skip(where, "unreadable validSince %q", *s.Meta.ValidSince)
			continue
		}
		if bounds.ValidUntil, ok = optTime(deref(s.Meta.ValidUntil)); !ok {
			res.skip(where, "unreadable validUntil %q", *s.Meta.ValidUntil)
			continue
		}
		bounds.MaxVisits = s.Meta.MaxVisits
		tags, dropped := keepTags(s.Tags)
		if s.Domain != nil && *s.Domain != "" {
			dropped = append(dropped, "domain "+*s.Domain)
		}
		res.entry(i, s.ShortCode, s.LongURL, deref(s.Title), s.DateCreated, false, tags, bounds, dropped)
	}
	return res, nil
}

// parseKuttJSON reads the answer of Kutt's GET /api/v2/links: {"limit":
// …, "skip": …, "total": …, "data": [{"address": …, "target": …,
// "description": …, "created_at": …, "banned": false, "password":
// false, "expire_in": …, "visit_count": …}]}. Banned links are skipped;
// so are password-protected ones, whose password an export does not
// carry. expire_in, a time or a duration after created_at ("2h",
// "3 days"), becomes the link's valid_until.
func parseKuttJSON(data []byte) (Result, error) {
	var doc struct {
		Data *[]struct {
			Address     string `json:"address"`
			Target      string `json:"target"`
			Description string `json:"description"`
			CreatedAt   string `json:"created_at"`
			Banned      bool   `json:"banned"`
			Password    bool   `json:"password"`
			ExpireIn    string `json:"expire_in"`
		} `json:"data"`
	}
	if err := decodeExport("kutt", data, &doc, `an object with a "data" array (export GET /api/v2/links)`); err != nil {
		return Result{}, err
	}
	if doc.Data == nil {
		return Result{}, fmt.Errorf(`kutt json: no "data" array (export GET /api/v2/links)`)
	}
	var res Result
	for i, l := range *doc.Data {
		where := fmt.Sprintf("entry %d", i+1)
		switch {
		case l.Banned:
			res.skip(where, "banned at the source")
			continue
		case l.Password:
			res.skip(where, "password-protected at the source; the export does not carry the password")
			continue
		}
		// An unreadable creation time is entry's to report.
		var bounds core.Lifecycle
		if created, ok := parseTime(l.CreatedAt); ok {
			if bounds.ValidUntil, ok = expiryOf(l.ExpireIn, created); !ok {
				res.skip(where, "unreadable expire_in %q", l.ExpireIn)
				continue
			}
		}
		res.entry(i, l.Address, l.Target, l.Description, l.CreatedAt, false, nil, bounds, nil)
	}
	return res, nil
}

// decodeExport decodes the export data of format into doc, which holds
// the parts of shape (the document the format's export is) that Parse
// reads. A value of the wrong JSON type is reported in the export's terms
// (the file, or the field's path, and the JSON types), never as the Go
// type it was to fill.
func decodeExport(format string, data []byte, doc any, shape string) error {
	err := json.Unmarshal(data, doc)
	te, ok := errors.AsType[*json.UnmarshalTypeError](err)
	switch {
	case err == nil:
		return nil
	case !ok:
		return fmt.Errorf("%s json: %w", format, err)
	case te.Field == "":
		return fmt.Errorf("%s json: the file is a JSON %s, want %s", format, te.Value, shape)
	default:
		return fmt.Errorf("%s json: %q has a JSON %s where %s belongs (byte %d)", format, te.Field, te.Value, core.JSONKind(te.Type), te.Offset)
	}
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
