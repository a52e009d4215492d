package apptest_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/curtainhq/curtain/core"
)

// Rule-based redirects (issue 19) through the HTTP API, on both stores.

func TestRuleLinksSQLite(t *testing.T) { runRulesSuite(t, openSQLite) }

func TestRuleLinksPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL integration test")
	}
	runRulesSuite(t, openPostgres)
}

func runRulesSuite(t *testing.T, newStore storeFactory) {
	t.Run("Conditions", func(t *testing.T) { testRuleConditions(t, newStore) })
	t.Run("AB", func(t *testing.T) { testRuleAB(t, newStore) })
	t.Run("ABHeadInPrivacyMode", func(t *testing.T) { testRuleABHead(t, newStore) })
	t.Run("Validation", func(t *testing.T) { testRuleValidation(t, newStore) })
}

// clickLog records the clicks of redirects.
type clickLog struct {
	mu     sync.Mutex
	clicks []core.Click
}

func (l *clickLog) Record(_ context.Context, c core.Click) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clicks = append(l.clicks, c)
	return nil
}

func (l *clickLog) last() core.Click {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.clicks) == 0 {
		return core.Click{}
	}
	return l.clicks[len(l.clicks)-1]
}

const iPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
const firefoxLinuxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

func testRuleConditions(t *testing.T, newStore storeFactory) {
	log := &clickLog{}
	e := newEnv(t, newStore, envConfig{clicks: log})
	body := `{"original_url":"https://default.example/","rules":[
		{"name":"past","when":{"until":"2001-01-01T00:00:00"},"target":"https://past.example/"},
		{"name":"ios","when":{"os":["iOS"],"device":["mobile"]},"target":"https://ios.example/"},
		{"when":{"browser":["firefox"],"os":["linux"]},"target":"https://firefox.example/"},
		{"name":"french","when":{"language":["fr"]},"target":"https://fr.example/"},
		{"name":"mail","when":{"query":{"src":"mail"}},"target":"https://mail.example/"},
		{"name":"office","when":{"ip":["10.0.0.0/8","192.0.2.7"]},"target":"https://office.example/"},
		{"name":"british","when":{"language":["en_GB"]},"target":"https://uk.example/"},
		{"name":"semicolon","when":{"query":{"ref":"a;b"}},"target":"https://semicolon.example/"}]}`
	r := e.postJSON("/urls", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /urls with rules = %d %s", r.Status, r.Body)
	}
	var u apiURL
	r.decode(t, &u)
	if !strings.Contains(r.Body, `"rules":[{"name":"past","target":"https://past.example/","when":{"until":"2001-01-01T00:00:00"}},{"name":"ios","target":"https://ios.example/","when":{"device":["mobile"],"os":["ios"]}}`) {
		t.Errorf("URL object rules (normalised, keys in order) = %s", r.Body)
	}
	path := "/r/" + u.ShortCode
	for _, tc := range []struct {
		name          string
		query         string
		header        []string
		target, rule  string
		ruleRecorded  string
		clickedTarget string
	}{
		{"no rule matches", "", nil, "https://default.example/", "", "", ""},
		{"ios", "", []string{"User-Agent", iPhoneUA}, "https://ios.example/", "ios", "ios", "https://ios.example/"},
		{"unnamed rule: its position", "", []string{"User-Agent", firefoxLinuxUA}, "https://firefox.example/", "3", "3", "https://firefox.example/"},
		{"language", "", []string{"Accept-Language", "de;q=0, fr-CA, en;q=0.5"}, "https://fr.example/", "french", "french", "https://fr.example/"},
		{"refused language", "", []string{"Accept-Language", "fr;q=0"}, "https://default.example/", "", "", ""},
		{"locale name for a language tag", "", []string{"Accept-Language", "en-GB"}, "https://uk.example/", "british", "british", "https://uk.example/"},
		{"query", "?src=mail", nil, "https://mail.example/", "mail", "mail", "https://mail.example/"},
		{"other query value", "?src=web", nil, "https://default.example/", "", "", ""},
		// Read as every other query parameter: a ';' is part of a value.
		{"query value with a semicolon", "?ref=a;b", nil, "https://semicolon.example/", "semicolon", "semicolon", "https://semicolon.example/"},
		{"first match wins", "?src=mail", []string{"User-Agent", iPhoneUA}, "https://ios.example/", "ios", "ios", "https://ios.example/"},
	} {
		for i := range 2 { // a miss, then the cached target
			r := e.get(path+tc.query, tc.header...)
			if r.Status != http.StatusFound || r.Header.Get("Location") != tc.target {
				t.Errorf("%s #%d: %d Location %q, want %q", tc.name, i, r.Status, r.Header.Get("Location"), tc.target)
			}
			if c := log.last(); c.Rule != tc.ruleRecorded || c.Target != tc.clickedTarget {
				t.Errorf("%s #%d: click rule %q target %q, want %q %q", tc.name, i, c.Rule, c.Target, tc.ruleRecorded, tc.clickedTarget)
			}
		}
	}
	// PUT replaces the rules and null clears them: the reference's shape.
	r = e.putJSON("/urls/"+strconv.FormatInt(u.ID, 10), `{"rules":[{"when":{"query":{"x":"1"}},"target":"https://x.example/"}]}`)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"rules":[{"target":"https://x.example/","when":{"query":{"x":"1"}}}]`) {
		t.Errorf("PUT rules = %d %s", r.Status, r.Body)
	}
	if r := e.get(path, "User-Agent", iPhoneUA); r.Header.Get("Location") != "https://default.example/" {
		t.Errorf("after PUT the old rules still apply: %q", r.Header.Get("Location"))
	}
	if r := e.get(path + "?x=1"); r.Header.Get("Location") != "https://x.example/" {
		t.Errorf("the new rule does not apply: %q", r.Header.Get("Location"))
	}
	r = e.putJSON("/urls/"+strconv.FormatInt(u.ID, 10), `{"rules":null}`)
	if got := urlKeysOf(t, r.Body); !slices.Equal(got, referenceURLKeys) {
		t.Errorf("PUT rules null = %s", r.Body)
	}
	if r := e.get(path + "?x=1"); r.Header.Get("Location") != "https://default.example/" {
		t.Errorf("cleared rules still apply: %q", r.Header.Get("Location"))
	}
}

func testRuleAB(t *testing.T, newStore storeFactory) {
	log := &clickLog{}
	e := newEnv(t, newStore, envConfig{clicks: log, trusted: []string{"127.0.0.1/32", "::1/128"}})
	var u apiURL
	r := e.postJSON("/urls", `{"original_url":"https://default.example/","rules":[
		{"name":"office","when":{"ip":["192.0.2.0/24"]},"target":"https://office.example/"},
		{"name":"ab","targets":[{"url":"https://a.example/","weight":3},{"url":"https://b.example/","weight":1}]}]}`)
	r.decode(t, &u)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST = %d %s", r.Status, r.Body)
	}
	path := "/r/" + u.ShortCode
	// The client address through the trusted proxy picks the IP rule.
	if r := e.get(path, "X-Forwarded-For", "192.0.2.55"); r.Header.Get("Location") != "https://office.example/" {
		t.Errorf("CIDR rule: %q", r.Header.Get("Location"))
	}
	counts := map[string]int{}
	for i := range 80 {
		ip := "198.51.100." + strconv.Itoa(i+1)
		first := e.get(path, "X-Forwarded-For", ip).Header.Get("Location")
		counts[first]++
		// Sticky: the same visitor gets the same target again.
		if again := e.get(path, "X-Forwarded-For", ip).Header.Get("Location"); again != first {
			t.Errorf("visitor %s got %q then %q", ip, first, again)
		}
		if c := log.last(); c.Rule != "ab" || c.Target != first {
			t.Errorf("click of visitor %s: rule %q target %q", ip, c.Rule, c.Target)
		}
	}
	// Both targets serve, roughly 3:1 (loose bounds: 80 visitors).
	if counts["https://a.example/"] < 40 || counts["https://b.example/"] < 5 || len(counts) != 2 {
		t.Errorf("A/B split over 80 visitors = %v, want about 60/20", counts)
	}
}

// testRuleABHead: in privacy mode a HEAD of an A/B link (curl -I, a
// link checker) answers the target the visitor's GET gets: the rotation
// picks by the visitor identity, the keyed hash of the address, for both.
func testRuleABHead(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{clicks: &clickLog{}, trusted: []string{"127.0.0.1/32", "::1/128"},
		visitorKey: []byte("0123456789abcdef0123456789abcdef")})
	var targets []string
	for i := range 10 {
		targets = append(targets, fmt.Sprintf(`{"url":"https://t%d.example/","weight":1}`, i))
	}
	r := e.postJSON("/urls", `{"original_url":"https://default.example/","rules":[{"name":"ab","targets":[`+strings.Join(targets, ",")+`]}]}`)
	var u apiURL
	r.decode(t, &u)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST = %d %s", r.Status, r.Body)
	}
	differ := 0
	for i := range 8 {
		ip := "198.51.100." + strconv.Itoa(i+1)
		get := e.get("/r/"+u.ShortCode, "X-Forwarded-For", ip).Header.Get("Location")
		head := e.do("HEAD", "/r/"+u.ShortCode, "", "X-Forwarded-For", ip).Header.Get("Location")
		if head != get {
			differ++
			t.Logf("visitor %s: GET %s, HEAD %s", ip, get, head)
		}
	}
	if differ > 0 {
		t.Errorf("HEAD answered another target than GET for %d of 8 visitors", differ)
	}
}

func testRuleValidation(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	for _, tc := range []struct{ rules, msg string }{
		{`{"a":1}`, "Field 'rules' must be a list of rules"},
		{`[{"when":{"device":["phone"]},"target":"https://x.example/"}]`, "Field 'rules' rule 1: device must be mobile, tablet or desktop"},
		{`[{"when":{},"target":"https://x.example/","targets":[{"url":"https://y.example/","weight":1},{"url":"https://z.example/","weight":1}]}]`, "Field 'rules' rule 1: must have either target or targets"},
		{`[{"when":{},"target":"https://x.example/"},{"when":{}}]`, "Field 'rules' rule 2: must have either target or targets"},
		{`[{"when":{},"target":"ftp://x"}]`, "Field 'rules' rule 1: target must be a valid http or https URL of at most 2048 characters, not a blocked host"},
		{`[{"when":{"ip":["300.1.1.1"]},"target":"https://x.example/"}]`, `Field 'rules' rule 1: ip "300.1.1.1" is neither an IP address nor a CIDR prefix`},
		{`[{"when":{"since":"2026-02-01T00:00:00","until":"2026-01-01T00:00:00"},"target":"https://x.example/"}]`, "Field 'rules' rule 1: until must be after since"},
		// An empty list is refused, not read as no condition (every visitor).
		{`[{"when":{"ip":[]},"target":"https://x.example/"}]`, "Field 'rules' rule 1: ip must list at least one value"},
		{`[{"when":{"device":[],"os":["ios"]},"target":"https://x.example/"}]`, "Field 'rules' rule 1: device must list at least one value"},
		// A language no Accept-Language entry can match.
		{`[{"when":{"language":["*"]},"target":"https://x.example/"}]`, `Field 'rules' rule 1: language "*" is not a language tag such as en or pt-br`},
		{`[{"when":{"language":["en us"]},"target":"https://x.example/"}]`, `Field 'rules' rule 1: language "en us" is not a language tag such as en or pt-br`},
		// Times beyond the API's four-digit years (a zone can push one over).
		{`[{"when":{"until":"9999-12-31T23:59:59-05:00"},"target":"https://x.example/"}]`, "Field 'rules' rule 1: until must be between 0001-01-01T00:00:00 and 9999-12-31T23:59:59 (UTC)"},
		{`[{"when":{"since":"0000-01-01T00:00:00Z"},"target":"https://x.example/"}]`, "Field 'rules' rule 1: since must be between 0001-01-01T00:00:00 and 9999-12-31T23:59:59 (UTC)"},
		{`[{"targets":[{"url":"https://y.example/","weight":0},{"url":"https://z.example/","weight":1}]}]`, "Field 'rules' rule 1: targets 1: weight must be 1 to 1000"},
		{`[{"targets":[{"url":"https://y.example/","weight":1}]}]`, "Field 'rules' rule 1: targets must list 2 to 10 targets"},
		// A value of the wrong type is named by its path and JSON types,
		// not by the Go type it was to fill.
		{`[{"when":{"query":"x"},"target":"https://x.example/"}]`, `Field 'rules' must be a list of rules, each an object with when and target or targets: "when.query" has a JSON string where an object belongs`},
		{`[{"targets":[{"url":"https://y.example/","weight":"1"},{"url":"https://z.example/","weight":1}]}]`, `Field 'rules' must be a list of rules, each an object with when and target or targets: "targets.weight" has a JSON string where an integer belongs`},
		{`[{"when":{"colour":["red"]},"target":"https://x.example/"}]`, `Field 'rules' must be a list of rules, each an object with when and target or targets: unknown field "colour"`},
		// A null where a string belongs is refused, not read as "" (a query
		// parameter that must then be empty).
		{`[{"when":{"query":{"utm":null}},"target":"https://x.example/"}]`, `Field 'rules' must be a list of rules, each an object with when and target or targets: "when.query" has a JSON null where a string belongs`},
		{`[{"when":{"os":["ios",null]},"target":"https://x.example/"}]`, `Field 'rules' must be a list of rules, each an object with when and target or targets: "when.os" has a JSON null where a string belongs`},
	} {
		e.postJSON("/urls", `{"original_url":"https://v.example/","rules":`+tc.rules+`}`).wantError(t, tc.rules, http.StatusBadRequest, tc.msg)
	}
	// An empty list is no rules: a plain link.
	if r := e.postJSON("/urls", `{"original_url":"https://v.example/","rules":[]}`); !slices.Equal(urlKeysOf(t, r.Body), referenceURLKeys) {
		t.Errorf("rules [] = %d %s", r.Status, r.Body)
	}
}
