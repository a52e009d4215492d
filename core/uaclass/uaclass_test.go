package uaclass

import "testing"

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
