package core

import (
	"context"
	"strings"
	"testing"
)

// visitStore is a fakeStore that counts the visits of limited links.
type visitStore struct {
	*fakeStore
	counted, peeks int64
}

func (v *visitStore) ClaimVisit(ctx context.Context, c VisitClaim) (bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c.Peek {
		v.peeks++
		return v.counted < c.Max, nil
	}
	if v.counted >= c.Max {
		return false, nil
	}
	v.counted++
	return true, nil
}

// Browsers' and bots' user agents of the visit-limit tests.
const (
	firefoxUA  = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	slackbotUA = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
)

// classifyAgent is a stand-in for core/uaclass.ClassifyAgent: a user agent
// naming a bot, or not claiming to be a browser, is a bot's.
func classifyAgent(ua string) AgentClass {
	a := AgentClass{Device: "unknown", Browser: "unknown", OS: "unknown"}
	if name, _, _ := strings.Cut(ua, " "); ua != "" && (strings.Contains(strings.ToLower(ua), "bot") || !strings.HasPrefix(ua, "Mozilla/")) {
		a.Bot, a.Tool = name, !strings.Contains(strings.ToLower(ua), "bot")
	} else if ua != "" {
		a.Device = "desktop"
	}
	return a
}

// TestBotsDoNotUseUpVisits: on a one-time link, a bot's visit (told by
// its User-Agent, or by the class the host sends in its place when the
// header is not stored) is redirected and recorded but only peeks, so
// the person's visit after it gets the target; once the person used it
// up, a bot gets the expired target, as a person does.
func TestBotsDoNotUseUpVisits(t *testing.T) {
	st := &visitStore{fakeStore: newFakeStore()}
	one, gone := int64(1), "https://example.com/gone"
	st.urls = []URL{{ID: 1, ShortCode: "once01", OriginalURL: "https://example.com/once", IsActive: true,
		Lifecycle: Lifecycle{MaxVisits: &one, ExpiredURL: &gone}}}
	svc := newTestService(st, ServiceConfig{Cache: newFakeCache(), ClassifyAgent: classifyAgent})
	privateBot := ClickSource{Agent: classifyAgent(slackbotUA)}
	for i, tc := range []struct {
		name string
		src  ClickSource
		want string
	}{
		{"Slackbot", ClickSource{UserAgent: slackbotUA}, "https://example.com/once"},
		{"bot without its header stored", privateBot, "https://example.com/once"},
		{"person", ClickSource{UserAgent: firefoxUA}, "https://example.com/once"},
		{"person again", ClickSource{UserAgent: firefoxUA}, gone},
		{"bot after the person", ClickSource{UserAgent: slackbotUA}, gone},
		{"person without the header stored", ClickSource{Agent: classifyAgent(firefoxUA)}, gone},
	} {
		target, _, err := svc.Redirect(t.Context(), "once01", tc.src, true)
		if err != nil || target.OriginalURL != tc.want {
			t.Errorf("visit %d (%s) = %q, %v; want %q", i+1, tc.name, target.OriginalURL, err, tc.want)
		}
	}
	if st.counted != 1 || st.peeks != 3 {
		t.Errorf("visits counted %d, peeks %d; want 1 and 3 (the bots')", st.counted, st.peeks)
	}
	// Recorded: the two bots' visits and the person's, not those served
	// the expired target; the class sent in place of the header goes
	// with its click.
	if len(st.clicks) != 3 {
		t.Fatalf("%d clicks recorded, want 3", len(st.clicks))
	}
	if got := st.clicks[1].Click; got.UserAgent != "" || got.Agent != privateBot.Agent {
		t.Errorf("click of the bot without its header: user agent %q, agent %+v; want none and %+v", got.UserAgent, got.Agent, privateBot.Agent)
	}
}

// TestCountsVisit: a visit uses one up only when recorded (not a HEAD)
// and a person's, as the classifier tells them, or as the class the host
// sent says; without a classifier every visit is a person's.
func TestCountsVisit(t *testing.T) {
	svc := newTestService(newFakeStore(), ServiceConfig{ClassifyAgent: classifyAgent})
	for _, tc := range []struct {
		src    ClickSource
		record bool
		want   bool
	}{
		{ClickSource{UserAgent: firefoxUA}, true, true},
		{ClickSource{UserAgent: firefoxUA}, false, false},
		{ClickSource{}, true, true}, // no User-Agent: not known as a bot
		{ClickSource{UserAgent: slackbotUA}, true, false},
		{ClickSource{UserAgent: "curl/8.5.0"}, true, true}, // someone ran it
		{ClickSource{Agent: classifyAgent(slackbotUA)}, true, false},
		{ClickSource{Agent: classifyAgent(firefoxUA)}, true, true},
		// The class the host sent wins over the header.
		{ClickSource{UserAgent: firefoxUA, Agent: classifyAgent(slackbotUA)}, true, false},
	} {
		if got := svc.countsVisit(tc.src, tc.record); got != tc.want {
			t.Errorf("countsVisit(%+v, %v) = %v, want %v", tc.src, tc.record, got, tc.want)
		}
	}
	if plain := newTestService(newFakeStore(), ServiceConfig{}); !plain.countsVisit(ClickSource{UserAgent: slackbotUA}, true) {
		t.Error("without a classifier a bot's visit uses none up")
	}
}
