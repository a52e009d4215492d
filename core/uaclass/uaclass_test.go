package uaclass

import (
	"strings"
	"testing"

	"github.com/curtainhq/curtain/core"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name, ua, ref string
		want          Class
	}{
		{"empty", "", "", Class{Device: Unknown, Browser: Unknown, OS: Unknown, ReferrerHost: Direct}},
		{"chrome on windows",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			"https://News.Example.com/item?id=1",
			Class{Device: Desktop, Browser: "Chrome", OS: "Windows", ReferrerHost: "news.example.com"}},
		{"safari on iphone",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
			"not a url",
			Class{Device: Mobile, Browser: "Safari", OS: "iOS", ReferrerHost: Unknown}},
		{"googlebot",
			"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			"",
			Class{Device: Unknown, Browser: "Googlebot", OS: Unknown, Bot: "Googlebot", ReferrerHost: Direct}},
		// Link previews of chat apps pass for browsers but are no visits.
		{"messages preview",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
			"",
			Class{Device: Desktop, Browser: "Safari", OS: "macOS", Bot: "facebookexternalhit", ReferrerHost: Direct}},
		{"skype and teams preview",
			"Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com",
			"",
			Class{Device: Desktop, Browser: "SkypeUriPreview Preview", OS: "Windows", Bot: "SkypeUriPreview", ReferrerHost: Direct}},
		// Crawlers' form, "compatible" and no operating system, for the
		// crawlers the parser does not know.
		{"unknown crawler",
			"Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
			"",
			Class{Device: Unknown, Browser: "Bluesky Cardyb", OS: Unknown, Bot: "Bluesky Cardyb", ReferrerHost: Direct}},
		{"old internet explorer says compatible and names its os",
			"Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)",
			"",
			Class{Device: Desktop, Browser: "Internet Explorer", OS: "Windows", ReferrerHost: Direct}},
		// Android's rule: a browser that does not say "Mobile" runs on a tablet.
		{"chrome on android tablet",
			"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			"",
			Class{Device: Tablet, Browser: "Chrome", OS: "Android", ReferrerHost: Direct}},
		{"samsung browser on android tablet",
			"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36",
			"",
			Class{Device: Tablet, Browser: "Samsung Browser", OS: "Android", ReferrerHost: Direct}},
		{"android webview on tablet",
			"Mozilla/5.0 (Linux; Android 12; SM-X906C Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/108.0.5359.128 Safari/537.36",
			"",
			Class{Device: Tablet, Browser: "Chrome", OS: "Android", ReferrerHost: Direct}},
		{"firefox on android tablet",
			"Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
			"",
			Class{Device: Tablet, Browser: "Firefox", OS: "Android", ReferrerHost: Direct}},
		{"silk on kindle fire",
			"Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/126.3.2 like Chrome/126.0.6478.154 Safari/537.36",
			"",
			Class{Device: Tablet, Browser: "Safari", OS: "Android", ReferrerHost: Direct}},
		{"chrome on android phone",
			"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
			"",
			Class{Device: Mobile, Browser: "Chrome", OS: "Android", ReferrerHost: Direct}},
		{"firefox on android phone",
			"Mozilla/5.0 (Android 13; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
			"",
			Class{Device: Mobile, Browser: "Firefox", OS: "Android", ReferrerHost: Direct}},
		{"android app's http library",
			"Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B Build/RP1A.200720.012)",
			"",
			Class{Device: Mobile, Browser: "Dalvik", OS: "Android", ReferrerHost: Direct}},
		{"ipad", "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
			"",
			Class{Device: Tablet, Browser: "Safari", OS: "iOS", ReferrerHost: Direct}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.ua, tc.ref); got != tc.want {
				t.Errorf("Classify(%q, %q) = %+v, want %+v", tc.ua, tc.ref, got, tc.want)
			}
		})
	}
}

func TestCutKeepsUTF8(t *testing.T) {
	if got := cut("aé", 2); got != "a" {
		t.Errorf("cut = %q, want %q", got, "a")
	}
}

// Command-line HTTP clients and HTTP libraries are counted as bots, by
// their product name, never as a human's browser.
func TestClassifyTools(t *testing.T) {
	for _, tc := range []struct{ ua, bot string }{
		{"curl/8.5.0", "curl"},
		{"Wget/1.21.4", "Wget"},
		{"python-requests/2.31.0", "python-requests"},
		{"Python-urllib/3.11", "Python-urllib"},
		{"python-httpx/0.27.0", "python-httpx"},
		{"Go-http-client/1.1", "Go-http-client"},
		{"Go-http-client/2.0", "Go-http-client"},
		{"HTTPie/3.2.2", "HTTPie"},
		{"PostmanRuntime/7.36.0", "PostmanRuntime"},
		{"axios/1.6.0", "axios"},
		{"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "node-fetch"},
		{"okhttp/4.12.0", "okhttp"},
		{"Java/17.0.2", "Java"},
		{"Apache-HttpClient/4.5.14 (Java/17.0.2)", "Apache-HttpClient"},
		{"libwww-perl/6.72", "libwww-perl"},
		{"Scrapy/2.11 (+https://scrapy.org)", "Scrapy"},
		{"MyScript/1.0", "MyScript"},
		{"Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3803", ""},
	} {
		t.Run(tc.ua, func(t *testing.T) {
			got := Classify(tc.ua, "")
			if got.Bot == "" {
				t.Fatalf("Classify(%q).Bot = %q, want a bot (a tool is no browser)", tc.ua, got.Bot)
			}
			if tc.bot != "" && got.Bot != tc.bot {
				t.Errorf("Classify(%q).Bot = %q, want %q", tc.ua, got.Bot, tc.bot)
			}
		})
	}
}

// ClassifyAgent is Classify without the referrer; a classification is Known, the zero AgentClass is not.
func TestClassifyAgent(t *testing.T) {
	for _, ua := range []string{"", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "curl/8.5.0"} {
		c, a := Classify(ua, "https://x.example/"), ClassifyAgent(ua)
		if a != (core.AgentClass{Device: c.Device, Browser: c.Browser, OS: c.OS, Bot: c.Bot, Tool: a.Tool}) || !a.Known() {
			t.Errorf("ClassifyAgent(%q) = %+v, Classify = %+v", ua, a, c)
		}
	}
	if (core.AgentClass{}).Known() {
		t.Error("the zero AgentClass is Known")
	}
	long := strings.Repeat("x", 300)
	if b := Bound(core.AgentClass{Device: long, Browser: long, OS: long, Bot: long}); len(b.Device) != maxDevice || len(b.Browser) != maxName ||
		len(b.OS) != maxName || len(b.Bot) != maxBot {
		t.Errorf("Bound lengths = %d %d %d %d", len(b.Device), len(b.Browser), len(b.OS), len(b.Bot))
	}
}

// TestClassifyAgentTools: command-line clients and HTTP libraries are
// bots that someone ran (Tool), crawlers and link-preview fetchers are
// not, and a browser is no bot.
func TestClassifyAgentTools(t *testing.T) {
	for ua, want := range map[string]bool{
		"curl/8.5.0": true, "python-requests/2.31.0": true, "Go-http-client/1.1": true, "Wget/1.21": true,
		"axios/1.6.0": true, "PostmanRuntime/7.36.0": true, "Java/17.0.2": true,
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": false,
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)":               false,
		"WhatsApp/2.23.20.0":            false,
		"TelegramBot (like TwitterBot)": false,
		"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)": false,
		"Twitterbot/1.0": false,
	} {
		a := ClassifyAgent(ua)
		if a.Bot == "" || a.Tool != want {
			t.Errorf("ClassifyAgent(%q) = %+v, want a bot with Tool %v", ua, a, want)
		}
	}
	if a := ClassifyAgent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"); a.Bot != "" || a.Tool {
		t.Errorf("Firefox = %+v, want no bot", a)
	}
	if a := ClassifyAgent("WhatsApp/2.23.20.0"); a.Bot != "WhatsApp" {
		t.Errorf("WhatsApp's bot name = %q", a.Bot)
	}
}

// TestBotNamesUnversioned: a bot whose user agent gives its version after
// a space is counted under one name whatever its release.
func TestBotNamesUnversioned(t *testing.T) {
	for ua, want := range map[string]string{
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)":               "Slackbot-LinkExpanding",
		"Slackbot-LinkExpanding 2.1 (+https://api.slack.com/robots)":               "Slackbot-LinkExpanding",
		"Slackbot 1.0 (+https://api.slack.com/robots)":                             "Slackbot",
		"TelegramBot (like TwitterBot)":                                            "TelegramBot",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": "Googlebot",
	} {
		if got := ClassifyAgent(ua).Bot; got != want {
			t.Errorf("bot name of %q = %q, want %q", ua, got, want)
		}
	}
	for name, want := range map[string]string{"A B 1.2.3": "A B", "Name v2": "Name v2", "Name": "Name", "Name 1.0 beta": "Name 1.0 beta", "Name .5": "Name .5"} {
		if got := unversioned(name); got != want {
			t.Errorf("unversioned(%q) = %q, want %q", name, got, want)
		}
	}
}
