package apptest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

func testEvents(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	u := e.user("owner")
	link := e.url("abc123", "https://example.com/1", &u.ID, true)
	created := e.event(link.ID, &u.ID, "created", t0, `{"short_code": "abc123", "original_url": "https://example.com/1"}`)
	updated := e.event(link.ID, &u.ID, "updated", t0.Add(time.Hour), `{"is_active": false}`)
	odd := e.event(link.ID, nil, "note", t0.Add(2*time.Hour), `not json {`)

	createdJSON := fmt.Sprintf(`{"details":{"original_url":"https://example.com/1","short_code":"abc123"},"event_type":"created","id":%d,"timestamp":"2026-01-01T00:00:00","url_id":%d,"user_id":%d}`,
		created.ID, link.ID, u.ID)
	updatedJSON := fmt.Sprintf(`{"details":{"is_active":false},"event_type":"updated","id":%d,"timestamp":"2026-01-01T01:00:00","url_id":%d,"user_id":%d}`,
		updated.ID, link.ID, u.ID)
	oddJSON := fmt.Sprintf(`{"details":"not json {","event_type":"note","id":%d,"timestamp":"2026-01-01T02:00:00","url_id":%d,"user_id":null}`,
		odd.ID, link.ID)
	tests := []struct{ query, body string }{
		{"", "[" + createdJSON + "," + updatedJSON + "," + oddJSON + "]\n"},                                 // spec §16 test 29
		{fmt.Sprintf("?url_id=%d&user_id=%d&event_type=updated", link.ID, u.ID), "[" + updatedJSON + "]\n"}, // test 33
		{"?event_type=note", "[" + oddJSON + "]\n"},
		{"?event_type=", "[]\n"},
		{"?event_type=Created", "[]\n"},
		{"?event_type=%00", "[]\n"},
		{"?event_type=%FF", "[]\n"},
		{"?url_id=999", "[]\n"},
		{"?url_id=99999999999999999999", "[]\n"},
		{fmt.Sprintf("?user_id=%d", u.ID), "[" + createdJSON + "," + updatedJSON + "]\n"},
		{fmt.Sprintf("?url_id=+%d", link.ID), "[" + createdJSON + "," + updatedJSON + "," + oddJSON + "]\n"},
		// Bounded lists (the dashboard's last events of a link).
		{fmt.Sprintf("?url_id=%d&order=newest&limit=2", link.ID), "[" + oddJSON + "," + updatedJSON + "]\n"},
		{"?limit=1", "[" + createdJSON + "]\n"},
		{"?limit=0", "[" + createdJSON + "]\n"},
		{"?order=NEWEST", "[" + oddJSON + "," + updatedJSON + "," + createdJSON + "]\n"},
		{"?order=oldest&limit=5000", "[" + createdJSON + "," + updatedJSON + "," + oddJSON + "]\n"},
		// The reference has no limit here and ignores the parameter; one
		// that is not an integer is ignored as on GET /urls (Q9).
		{"?limit=ten", "[" + createdJSON + "," + updatedJSON + "," + oddJSON + "]\n"},
		{"?order=newest&limit=ten", "[" + oddJSON + "," + updatedJSON + "," + createdJSON + "]\n"},
	}
	for _, tt := range tests {
		e.get("/events"+tt.query).want(t, "GET /events"+tt.query, http.StatusOK, tt.body)
	}
	for _, tt := range []struct{ query, message string }{
		{"?url_id=abc", "Query parameter 'url_id' must be an integer"}, // test 37
		{"?url_id=", "Query parameter 'url_id' must be an integer"},
		{"?user_id=x", "Query parameter 'user_id' must be an integer"},
		{"?user_id=1&url_id=x", "Query parameter 'url_id' must be an integer"},
		{"?url_id=1e3", "Query parameter 'url_id' must be an integer"},
		{"?order=random", "Query parameter 'order' must be newest or oldest"},
	} {
		e.get("/events"+tt.query).wantError(t, "GET /events"+tt.query, http.StatusBadRequest, tt.message)
	}
	e.get(fmt.Sprintf("/events/%d", created.ID)).want(t, "GET /events/<id>", http.StatusOK, createdJSON+"\n")
	e.get("/events/999").wantError(t, "unknown event", http.StatusNotFound, "Event not found")
}

func testEventsCreate(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	u := e.user("owner")
	link := e.url("abc123", "https://example.com/1", &u.ID, true)
	inactive := e.url("off001", "https://example.com/off", nil, false)

	// spec §16 test 32
	r := e.postJSON("/events", fmt.Sprintf(`{"url_id":%d,"user_id":%d,"event_type":"click","details":{"referrer":"https://google.com"}}`, link.ID, u.ID))
	var ev apiEvent
	r.decode(t, &ev)
	if r.Status != http.StatusCreated || *ev.URLID != link.ID || *ev.UserID != u.ID || ev.EventType != "click" ||
		string(ev.Details) != `{"referrer":"https://google.com"}` {
		t.Errorf("POST /events = %d %s", r.Status, r.Body)
	}
	// Q4: no details (or null) is stored as {} instead of failing.
	for _, body := range []string{
		fmt.Sprintf(`{"url_id":%d,"event_type":" view "}`, link.ID),
		fmt.Sprintf(`{"url_id":%d,"event_type":"view","details":null,"user_id":null}`, inactive.ID),
	} {
		r := e.postJSON("/events", body)
		r.decode(t, &ev)
		if r.Status != http.StatusCreated || string(ev.Details) != "{}" || ev.EventType != "view" || ev.UserID != nil {
			t.Errorf("POST /events %s = %d %s", body, r.Status, r.Body)
		}
	}
	stored, err := e.store.GetEvent(t.Context(), ev.ID)
	if err != nil || stored.Details != "{}" {
		t.Errorf("stored details = %q, %v; want {}", stored.Details, err)
	}
	// Details keep the client's order in storage (Python layout) and are
	// rendered sorted, numbers as Python prints them.
	r = e.postJSON("/events", fmt.Sprintf(`{"url_id":%d,"event_type":"click","details":{"b":1.0,"a":{"z":"é","y":[1e3,-0,12345678901234567890]}}}`, link.ID))
	r.decode(t, &ev)
	if string(ev.Details) != `{"a":{"y":[1000.0,0,12345678901234567890],"z":"\u00e9"},"b":1.0}` {
		t.Errorf("rendered details = %s", ev.Details)
	}
	stored, _ = e.store.GetEvent(t.Context(), ev.ID)
	if stored.Details != `{"b": 1.0, "a": {"z": "\u00e9", "y": [1000.0, 0, 12345678901234567890]}}` {
		t.Errorf("stored details = %s", stored.Details)
	}

	tests := []struct {
		name, body string
		status     int
		message    string
	}{
		{"details string (test 30)", fmt.Sprintf(`{"url_id":%d,"event_type":"click","details":"x"}`, link.ID), 400, "Field 'details' must be a JSON object"},
		{"array body (test 31)", `[]`, 400, "JSON body must be an object"},
		{"no body", ``, 400, "JSON body must be an object"},
		{"malformed", `{"event_type":`, 400, "JSON body must be an object"},
		{"event_type missing", `{"url_id":1}`, 400, "Field 'event_type' is required"},
		{"event_type empty", `{"url_id":1,"event_type":""}`, 400, "Field 'event_type' must be a non-empty string"},
		{"event_type blank", `{"url_id":1,"event_type":" \t "}`, 400, "Field 'event_type' must be a non-empty string"},
		{"event_type number", `{"url_id":1,"event_type":5}`, 400, "Field 'event_type' must be a non-empty string"},
		{"event_type null", `{"url_id":1,"event_type":null}`, 400, "Field 'event_type' must be a non-empty string"},
		{"event_type too long (Q11)", `{"url_id":1,"event_type":"` + strings.Repeat("e", 65) + `"}`, 400, "Field 'event_type' must not exceed 64 characters"},
		{"event_type NUL", `{"url_id":1,"event_type":"a\u0000"}`, 400, "Field 'event_type' must not contain NUL characters"},
		{"url_id missing", `{"event_type":"click"}`, 400, "Field 'url_id' is required"},
		{"url_id null", `{"event_type":"click","url_id":null}`, 400, "Field 'url_id' must be an integer"},
		{"url_id string", `{"event_type":"click","url_id":"1"}`, 400, "Field 'url_id' must be an integer"},
		{"url_id boolean (Q10)", `{"event_type":"click","url_id":true}`, 400, "Field 'url_id' must be an integer"},
		{"url_id float", `{"event_type":"click","url_id":1.0}`, 400, "Field 'url_id' must be an integer"},
		{"user_id string", fmt.Sprintf(`{"event_type":"click","url_id":%d,"user_id":"1"}`, link.ID), 400, "Field 'user_id' must be an integer"},
		{"user_id boolean", fmt.Sprintf(`{"event_type":"click","url_id":%d,"user_id":false}`, link.ID), 400, "Field 'user_id' must be an integer"},
		{"details array", fmt.Sprintf(`{"event_type":"click","url_id":%d,"details":[1]}`, link.ID), 400, "Field 'details' must be a JSON object"},
		{"details number", fmt.Sprintf(`{"event_type":"click","url_id":%d,"details":0}`, link.ID), 400, "Field 'details' must be a JSON object"},
		{"unknown URL", `{"event_type":"click","url_id":999}`, 404, "URL not found"},
		{"huge URL id", `{"event_type":"click","url_id":99999999999999999999}`, 404, "URL not found"},
		{"URL id above int4", `{"event_type":"click","url_id":2147483648}`, 404, "URL not found"},
		{"unknown user", fmt.Sprintf(`{"event_type":"click","url_id":%d,"user_id":999}`, link.ID), 404, "User not found"},
		{"huge user id", fmt.Sprintf(`{"event_type":"click","url_id":%d,"user_id":-99999999999999999999}`, link.ID), 404, "User not found"},
		// The reference answered these 404s before its database refused
		// the event_type (Q11).
		{"long event_type, unknown URL", `{"event_type":"` + strings.Repeat("e", 65) + `","url_id":999}`, 404, "URL not found"},
		{"NUL event_type, unknown user", fmt.Sprintf(`{"event_type":"a\u0000","url_id":%d,"user_id":999}`, link.ID), 404, "User not found"},
	}
	for _, tt := range tests {
		e.postJSON("/events", tt.body).wantError(t, tt.name, tt.status, tt.message)
	}

	// Creating an event invalidates the URL's analytics.
	path := fmt.Sprintf("/urls/%d/analytics", link.ID)
	e.get(path).wantCache(t, "warm analytics", "MISS")
	e.get(path).wantCache(t, "warm analytics", "HIT")
	e.postJSON("/events", fmt.Sprintf(`{"url_id":%d,"event_type":"click"}`, link.ID))
	r = e.get(path)
	r.wantCache(t, "analytics after POST /events", "MISS")
	if !strings.Contains(r.Body, `"click_count":3`) {
		t.Errorf("analytics after POST /events = %s, want 3 clicks", r.Body)
	}
}

func testAnalytics(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	u := e.user("owner")
	link := e.url("abc123", "https://example.com/1", &u.ID, true)
	e.event(link.ID, &u.ID, "created", t0, `{}`)
	e.event(link.ID, &u.ID, "updated", t0.Add(time.Hour), `{}`)
	e.event(link.ID, &u.ID, "updated", t0.Add(2*time.Hour), `{}`)
	// spec §16 tests 34 and 7
	want := fmt.Sprintf(`{"click_count":0,"event_counts":{"created":1,"updated":2},"latest_event_at":"2026-01-01T02:00:00","original_url":"https://example.com/1","redirect_count":0,"short_code":"abc123","total_events":3,"url_id":%d}`+"\n", link.ID)
	path := fmt.Sprintf("/urls/%d/analytics", link.ID)
	r := e.get(path)
	r.want(t, "analytics", http.StatusOK, want)
	r.wantCache(t, "analytics", "MISS")
	r = e.get(path)
	r.want(t, "analytics again", http.StatusOK, want)
	r.wantCache(t, "analytics again", "HIT")
	// spec §16 test 35
	e.get("/urls/999/analytics").wantError(t, "unknown URL", http.StatusNotFound, "URL not found")

	// latest_event_at breaks timestamp ties by id; no events means null.
	empty := e.url("empty1", "https://example.com/empty", nil, true)
	e.get(fmt.Sprintf("/urls/%d/analytics", empty.ID)).want(t, "no events", http.StatusOK,
		fmt.Sprintf(`{"click_count":0,"event_counts":{},"latest_event_at":null,"original_url":"https://example.com/empty","redirect_count":0,"short_code":"empty1","total_events":0,"url_id":%d}`+"\n", empty.ID))
	mixed := e.url("mixed1", "https://example.com/mixed", nil, true)
	e.event(mixed.ID, nil, "click", t0.Add(time.Hour+500*time.Millisecond), `{}`)
	e.event(mixed.ID, nil, "redirect", t0, `{}`)
	e.event(mixed.ID, nil, "click", t0.Add(time.Hour+500*time.Millisecond), `{}`)
	e.get(fmt.Sprintf("/urls/%d/analytics", mixed.ID)).want(t, "mixed", http.StatusOK,
		fmt.Sprintf(`{"click_count":2,"event_counts":{"click":2,"redirect":1},"latest_event_at":"2026-01-01T01:00:00","original_url":"https://example.com/mixed","redirect_count":1,"short_code":"mixed1","total_events":3,"url_id":%d}`+"\n", mixed.ID))

	// spec §16 test 36: a cached object with an extra realtime block is
	// served with exactly the eight fields, even for a URL that is gone.
	cached := `{"url_id": 424242, "short_code": "zz", "original_url": "https://z.io", "total_events": 9, "click_count": 1, "redirect_count": 8, "event_counts": {"redirect": 8, "click": 1}, "latest_event_at": null, "realtime": {"total_clicks": 3}}`
	if err := e.cache.Set(t.Context(), []core.CacheEntry{{Key: "cache:analytics:url:424242", Value: []byte(cached), TTL: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	r = e.get("/urls/424242/analytics")
	r.want(t, "cached with realtime", http.StatusOK,
		`{"click_count":1,"event_counts":{"click":1,"redirect":8},"latest_event_at":null,"original_url":"https://z.io","redirect_count":8,"short_code":"zz","total_events":9,"url_id":424242}`+"\n")
	r.wantCache(t, "cached with realtime", "HIT")
	// A cached object lacking fields is recomputed (the reference showed nulls).
	e.cache.Set(t.Context(), []core.CacheEntry{{Key: fmt.Sprintf("cache:analytics:url:%d", link.ID), Value: []byte(`{"url_id": 1}`), TTL: time.Minute}})
	r = e.get(path)
	r.want(t, "partial cache entry", http.StatusOK, want)
	r.wantCache(t, "partial cache entry", "MISS")
}
