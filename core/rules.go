package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Rule is one rule-based redirect of a link (issue 19): when every
// condition of When holds, the visitor goes to Target, or to one of
// Targets picked by weight (A/B rotation, sticky per visitor). A link's
// rules are tried in order; the first that matches wins, else the link's
// URL. Field order is the API's key order.
type Rule struct {
	// Name is recorded with the click; empty: the rule's 1-based index.
	Name    string        `json:"name,omitempty"`
	Target  string        `json:"target,omitempty"`
	Targets []WeightedURL `json:"targets,omitempty"`
	When    Conditions    `json:"when"`
}

// WeightedURL is one target of an A/B rule with its share.
type WeightedURL struct {
	URL    string `json:"url"`
	Weight int    `json:"weight"`
}

// Conditions of a rule; every one that is set must hold, and a list
// holds when any of its values matches. Empty conditions always hold.
type Conditions struct {
	// Browser names browsers in lower case ("chrome", "firefox",
	// "safari", "edge", "opera", …).
	Browser []string `json:"browser,omitempty"`
	// Device is mobile, tablet or desktop.
	Device []string `json:"device,omitempty"`
	// IP lists client addresses or CIDR prefixes.
	IP []string `json:"ip,omitempty"`
	// Language lists language tags ("en", "pt-br"): a tag matches an
	// Accept-Language entry equal to it or beginning with it and "-".
	Language []string `json:"language,omitempty"`
	// OS names operating systems in lower case ("ios", "android",
	// "windows", "macos", "linux", "chromeos", …).
	OS []string `json:"os,omitempty"`
	// Query requires each query parameter to equal its value.
	Query map[string]string `json:"query,omitempty"`
	// Since and Until bound a date window (Until exclusive), in the
	// API's time form.
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
}

// Visit is what a redirect may need to know of the request beyond its
// code: asked only for a link with a password or rules, so an open link
// never builds one.
type Visit interface {
	// Password returns the presented password; ok is false when the
	// visitor presented none. A non-nil error (a rate limit) ends the
	// redirect with that error.
	Password(ctx context.Context) (password string, ok bool, err error)
	// Agent returns the device (mobile, tablet, desktop), the OS and
	// the browser of the user agent, in lower case.
	Agent() (device, os, browser string)
	// Languages returns the Accept-Language tags, in lower case.
	Languages() []string
	// Query returns the first value of a query parameter.
	Query(name string) (string, bool)
	// ClientIP returns the client address (trusted proxies applied).
	ClientIP() netip.Addr
}

// Limits of a link's rules.
const (
	MaxRules        = 20
	MaxRuleTargets  = 10
	MaxRuleWeight   = 1000
	maxRuleValueLen = 64
)

// ParseRules reads rules from their JSON text (the API's rules member),
// refusing unknown members; it does not validate them (CreateURL does).
func ParseRules(text []byte) ([]Rule, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	var rules []Rule
	if err := dec.Decode(&rules); err != nil {
		return nil, invalid("rules", "Field 'rules' must be a list of rules, each an object with when and target or targets: %s", jsonProblem(err))
	}
	if path := nullCondition(text); path != "" {
		return nil, invalid("rules", "Field 'rules' must be a list of rules, each an object with when and target or targets: %q has a JSON null where a string belongs", path)
	}
	return rules, nil
}

// nullCondition returns the path of a condition holding a null among its
// strings ("when.os", "when.query"), which encoding/json reads as "";
// "" when there is none. text has decoded as rules already.
func nullCondition(text []byte) string {
	var rules []struct {
		When struct {
			Browser, Device, IP, Language, OS []*string
			Query                             map[string]*string
		} `json:"when"`
	}
	if json.Unmarshal(text, &rules) != nil {
		return ""
	}
	for _, r := range rules {
		for _, c := range []struct {
			name   string
			values []*string
		}{{"browser", r.When.Browser}, {"device", r.When.Device}, {"ip", r.When.IP}, {"language", r.When.Language}, {"os", r.When.OS}} {
			if slices.Contains(c.values, nil) {
				return "when." + c.name
			}
		}
		for _, v := range r.When.Query {
			if v == nil {
				return "when.query"
			}
		}
	}
	return ""
}

// jsonProblem words a decoding error of the rules for a client: a value
// of the wrong type by its member's path and the JSON types.
func jsonProblem(err error) string {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return fmt.Sprintf("a JSON %s where %s belongs", te.Value, JSONKind(te.Type))
		}
		return fmt.Sprintf("%q has a JSON %s where %s belongs", te.Field, te.Value, JSONKind(te.Type))
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	return strings.ReplaceAll(msg, "Go struct field ", "")
}

// EncodeRules renders rules as the JSON text the API shows and the store
// keeps; "" for none.
func EncodeRules(rules []Rule) string {
	if len(rules) == 0 {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(rules) // plain strings, ints and maps: cannot fail
	return strings.TrimSuffix(buf.String(), "\n")
}

// DecodeRules reads rules the store kept ("" for none).
func DecodeRules(text string) ([]Rule, error) {
	if text == "" {
		return nil, nil
	}
	var rules []Rule
	if err := json.Unmarshal([]byte(text), &rules); err != nil {
		return nil, fmt.Errorf("decode rules: %w", err)
	}
	return rules, nil
}

// checkRules validates and normalises a link's rules (lower-case
// values, times in the API's form, trimmed URLs). Messages name the rule
// by its 1-based position.
func (s *Service) checkRules(rules []Rule) ([]Rule, error) {
	if len(rules) > MaxRules {
		return nil, invalid("rules", "Field 'rules' must hold at most %d rules", MaxRules)
	}
	out := make([]Rule, 0, len(rules))
	for i, r := range rules {
		bad := func(format string, args ...any) error {
			return invalid("rules", "Field 'rules' rule %d: %s", i+1, fmt.Sprintf(format, args...))
		}
		if len(r.Name) > maxRuleValueLen {
			return nil, bad("name must be at most %d characters", maxRuleValueLen)
		}
		switch {
		case (r.Target == "") == (len(r.Targets) == 0):
			return nil, bad("must have either target or targets")
		case r.Target != "":
			u, err := s.checkURL("target", r.Target)
			if err != nil {
				return nil, bad("target must be a valid http or https URL of at most 2048 characters, not a blocked host")
			}
			r.Target = u
		default:
			if len(r.Targets) < 2 || len(r.Targets) > MaxRuleTargets {
				return nil, bad("targets must list 2 to %d targets", MaxRuleTargets)
			}
			ts := make([]WeightedURL, len(r.Targets))
			for j, t := range r.Targets {
				u, err := s.checkURL("target", t.URL)
				if err != nil {
					return nil, bad("targets %d: url must be a valid http or https URL of at most 2048 characters, not a blocked host", j+1)
				}
				if t.Weight < 1 || t.Weight > MaxRuleWeight {
					return nil, bad("targets %d: weight must be 1 to %d", j+1, MaxRuleWeight)
				}
				ts[j] = WeightedURL{URL: u, Weight: t.Weight}
			}
			r.Targets = ts
		}
		w, err := normaliseConditions(r.When)
		if err != nil {
			return nil, bad("%s", err.Error())
		}
		r.When = w
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// normaliseConditions checks a rule's conditions; errors are the
// client-facing text after the rule's name.
func normaliseConditions(c Conditions) (Conditions, error) {
	for _, list := range []struct {
		name string
		vals []string
	}{{"browser", c.Browser}, {"device", c.Device}, {"ip", c.IP}, {"language", c.Language}, {"os", c.OS}} {
		// An empty list would be read as no condition, matching every
		// visitor, where the client most likely meant none.
		if list.vals != nil && len(list.vals) == 0 {
			return c, fmt.Errorf("%s must list at least one value", list.name)
		}
	}
	for _, d := range c.Device {
		if d != "mobile" && d != "tablet" && d != "desktop" {
			return c, fmt.Errorf("device must be mobile, tablet or desktop")
		}
	}
	for _, list := range []struct {
		name string
		vals []string
	}{{"browser", c.Browser}, {"os", c.OS}, {"language", c.Language}} {
		for i, v := range list.vals {
			v = strings.ToLower(strings.TrimSpace(v))
			if v == "" || len(v) > maxRuleValueLen {
				return c, fmt.Errorf("%s values must be 1 to %d characters", list.name, maxRuleValueLen)
			}
			if list.name == "language" {
				// Locale names (en_US) are written with "_", language
				// tags in Accept-Language with "-".
				v = strings.ReplaceAll(v, "_", "-")
				if !isLanguageTag(v) {
					return c, fmt.Errorf("language %q is not a language tag such as en or pt-br", v)
				}
			}
			list.vals[i] = v
		}
	}
	for _, ip := range c.IP {
		if _, err := parseIPOrPrefix(ip); err != nil {
			return c, fmt.Errorf("ip %q is neither an IP address nor a CIDR prefix", ip)
		}
	}
	for k, v := range c.Query {
		if k == "" || len(k) > maxRuleValueLen || len(v) > 2*maxRuleValueLen {
			return c, fmt.Errorf("query names must be 1 to %d characters and values at most %d", maxRuleValueLen, 2*maxRuleValueLen)
		}
	}
	var since, until time.Time
	for _, f := range []struct {
		name string
		v    *string
		t    *time.Time
	}{{"since", &c.Since, &since}, {"until", &c.Until, &until}} {
		if *f.v == "" {
			continue
		}
		t, ok := parseRuleTime(*f.v)
		if !ok {
			return c, fmt.Errorf("%s must be a time like 2026-01-02T03:04:05 (UTC) or RFC 3339", f.name)
		}
		if !InTimeRange(t) {
			return c, fmt.Errorf("%s must be %s", f.name, timeRange)
		}
		*f.t = t
		*f.v = string(AppendTime(nil, t))
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return c, fmt.Errorf("until must be after since")
	}
	return c, nil
}

// isLanguageTag reports whether s (lower case) has the shape of a
// language tag: a primary tag of 1 to 8 letters, then subtags of 1 to 8
// letters or digits, each after "-".
func isLanguageTag(s string) bool {
	for i, sub := range strings.Split(s, "-") {
		if len(sub) < 1 || len(sub) > 8 {
			return false
		}
		for _, r := range sub {
			if (r < 'a' || r > 'z') && (i == 0 || r < '0' || r > '9') {
				return false
			}
		}
	}
	return true
}

func parseRuleTime(s string) (time.Time, bool) {
	if t, err := time.Parse(TimeLayout, s); err == nil {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC().Truncate(time.Second), err == nil
}

func parseIPOrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err == nil && p.Addr().Is4In6() && p.Bits() >= 96 {
			// An IPv4 prefix written IPv4-mapped: client addresses are
			// compared unmapped, so compare it as IPv4 too.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// pickRule returns the first rule of rules that matches v at now, with
// the name recorded for it and the target chosen; ok is false when none
// matches. sticky identifies the visitor for A/B rotation.
func pickRule(rules []Rule, v Visit, now time.Time, code, sticky string) (name, target string, ok bool) {
	for i, r := range rules {
		if !r.When.match(v, now) {
			continue
		}
		name = r.Name
		if name == "" {
			name = strconv.Itoa(i + 1)
		}
		if r.Target != "" {
			return name, r.Target, true
		}
		return name, pickWeighted(r.Targets, sticky, code, i), true
	}
	return "", "", false
}

// pickWeighted chooses a target by weight from a hash of the visitor,
// the link and the rule: the same visitor always gets the same target,
// with nothing stored.
func pickWeighted(ts []WeightedURL, sticky, code string, rule int) string {
	total := 0
	for _, t := range ts {
		total += t.Weight
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(sticky))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(code))
	_, _ = h.Write([]byte{0, byte(rule)})
	n := int(h.Sum64() % uint64(total))
	for _, t := range ts {
		if n < t.Weight {
			return t.URL
		}
		n -= t.Weight
	}
	return ts[len(ts)-1].URL
}

// match reports whether every condition set in c holds for v at now.
func (c Conditions) match(v Visit, now time.Time) bool {
	if c.Since != "" {
		if t, _ := time.Parse(TimeLayout, c.Since); now.Before(t) {
			return false
		}
	}
	if c.Until != "" {
		if t, _ := time.Parse(TimeLayout, c.Until); !now.Before(t) {
			return false
		}
	}
	if len(c.Device) > 0 || len(c.OS) > 0 || len(c.Browser) > 0 {
		device, os, browser := v.Agent()
		if !anyEqual(c.Device, device) || !anyEqual(c.OS, os) || !anyEqual(c.Browser, browser) {
			return false
		}
	}
	if len(c.Language) > 0 && !languageMatch(c.Language, v.Languages()) {
		return false
	}
	for k, want := range c.Query {
		if got, ok := v.Query(k); !ok || got != want {
			return false
		}
	}
	if len(c.IP) > 0 {
		ip := v.ClientIP().Unmap()
		found := false
		for _, s := range c.IP {
			if p, err := parseIPOrPrefix(s); err == nil && p.Contains(ip) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// anyEqual reports whether list is empty or holds v.
func anyEqual(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// languageMatch reports whether a wanted tag equals an accepted one or
// is its prefix before "-" ("en" matches "en-gb").
func languageMatch(want, accepted []string) bool {
	for _, a := range accepted {
		for _, w := range want {
			if a == w || (strings.HasPrefix(a, w) && len(a) > len(w) && a[len(w)] == '-') {
				return true
			}
		}
	}
	return false
}
