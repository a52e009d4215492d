// Package uaclass classifies a click's User-Agent and Referer headers into
// the values of the analytics breakdowns: device, browser, OS, bot name
// and referrer host. The consumer's store calls it once per click as it
// stores the click; the database only adds the results up. The redirect
// handler classifies the User-Agent itself when the header is not to be
// stored (privacy.store_user_agent off), and the service a visit of a link
// with max_visits, which a bot does not use up.
package uaclass

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mileusna/useragent"

	"github.com/curtainhq/curtain/core"
)

// Values of the breakdowns that are not names taken from a header.
const (
	// Unknown is a device, browser or OS the parser does not recognise,
	// or any of them when the click has no user agent.
	Unknown = "unknown"
	// Direct is the referrer host of a click without a Referer header.
	Direct = "direct"
	// Desktop, Mobile and Tablet are the device classes.
	Desktop = "desktop"
	Mobile  = "mobile"
	Tablet  = "tablet"
)

// Class is what the breakdowns count of one click.
type Class struct {
	// Device is Desktop, Mobile, Tablet or Unknown.
	Device string
	// Browser and OS are the parser's names ("Chrome", "Windows"), or
	// Unknown.
	Browser, OS string
	// Bot names the crawler ("Googlebot") or the command-line HTTP
	// client or HTTP library ("curl") when the user agent is one of
	// theirs, "" for a human visitor.
	Bot string
	// ReferrerHost is the lower-case host of the Referer ("news.ycombinator.com"),
	// Direct without one, Unknown when it is not a URL with a host.
	ReferrerHost string
}

// Bound returns a with each value cut to the width of its events column,
// for a class that comes from a plugin rather than from ClassifyAgent.
func Bound(a core.AgentClass) core.AgentClass {
	return core.AgentClass{Device: cut(a.Device, maxDevice), Browser: cut(a.Browser, maxName), OS: cut(a.OS, maxName), Bot: cut(a.Bot, maxBot)}
}

// Limits of the stored values (the widths of the events columns).
const (
	maxDevice = 16
	maxName   = 64
	maxBot    = 128
	maxHost   = 255
)

// Classify returns the class of a click with user agent ua and referrer ref.
func Classify(ua, ref string) Class {
	a := ClassifyAgent(ua)
	return Class{Device: a.Device, Browser: a.Browser, OS: a.OS, Bot: a.Bot, ReferrerHost: ReferrerHost(ref)}
}

// ClassifyAgent returns the class of user agent ua: Unknown device,
// browser and OS and no bot when it is empty. It is the service's
// core.ServiceConfig.ClassifyAgent.
func ClassifyAgent(ua string) core.AgentClass {
	a := core.AgentClass{Device: Unknown, Browser: Unknown, OS: Unknown}
	if strings.TrimSpace(ua) == "" {
		return a
	}
	p := useragent.Parse(ua)
	name, tool := botName(ua, &p)
	a.Bot, a.Tool = cut(name, maxBot), tool
	a.Browser = cut(or(p.Name, Unknown), maxName)
	a.OS = cut(or(p.OS, Unknown), maxName)
	a.Device = or(DeviceOf(&p), Unknown)
	return a
}

// DeviceOf returns the device class (Desktop, Mobile or Tablet) of a
// parsed user agent, "" when it has none. Android browsers that do not
// say "Mobile" are tablets (Android's own rule, which the parser does
// not apply), and so are Amazon's Kindle Fire browsers (Silk).
func DeviceOf(p *useragent.UserAgent) string {
	ua := p.String
	browser := claimsBrowser(ua)
	switch {
	case p.Tablet:
		return Tablet
	case browser && (p.IsAndroid() || strings.Contains(ua, " Silk/")) && !strings.Contains(ua, "Mobile"):
		return Tablet
	case p.Mobile:
		return Mobile
	case p.Desktop:
		return Desktop
	}
	return ""
}

// botName returns the name of the crawler, link-preview fetcher, tool or
// library a user agent belongs to, "" for a person's browser; tool says
// it is a command-line HTTP client's or an HTTP library's.
func botName(ua string, p *useragent.UserAgent) (name string, tool bool) {
	lower := strings.ToLower(ua)
	for _, pv := range previews {
		if strings.Contains(lower, pv.mark) {
			return pv.name, false
		}
	}
	if p.Bot || crawlerLike(ua, p) {
		return or(unversioned(p.Name), "bot"), false
	}
	if isTool(ua, p) {
		return or(unversioned(p.Name), "bot"), true
	}
	return "", false
}

// unversioned drops a version the parser left at the end of a name
// ("Slackbot-LinkExpanding 1.0", from a user agent without a "/"), so that
// each release of a bot is not counted as a bot of its own.
func unversioned(name string) string {
	i := strings.LastIndexByte(name, ' ')
	if i < 0 {
		return name
	}
	last := name[i+1:]
	if last == "" || last[0] < '0' || last[0] > '9' || strings.Trim(last, "0123456789.") != "" {
		return name
	}
	return name[:i]
}

// previews are the link-preview fetchers of chat apps whose user agents
// pass for a browser's or an HTTP tool's, by a mark (in lower case) and
// the name they are counted under: Apple's Messages (whose previews name
// Facebook's and Twitter's fetchers), Skype and Teams, and WhatsApp
// ("WhatsApp/2.23.20.0").
var previews = []struct{ mark, name string }{
	{"facebookexternalhit", "facebookexternalhit"},
	{"skypeuripreview", "SkypeUriPreview"},
	{"whatsapp/", "WhatsApp"},
}

// crawlerLike reports a user agent of the crawlers' form,
// "Mozilla/5.0 (compatible; Name/1.0; +URL)", naming no operating
// system: browsers that say "compatible" (old Internet Explorer, Konqueror)
// name theirs.
func crawlerLike(ua string, p *useragent.UserAgent) bool {
	return claimsBrowser(ua) && p.OS == "" && strings.Contains(ua, "(compatible;")
}

// tools are the first product names of command-line HTTP clients and
// HTTP libraries, in lower case: their requests are not people's visits.
var tools = []string{
	"curl", "wget", "httpie", "python-requests", "python-urllib", "python-httpx",
	"aiohttp", "go-http-client", "okhttp", "java", "apache-httpclient",
	"libwww-perl", "lwp", "guzzlehttp", "php", "ruby", "faraday", "axios",
	"node-fetch", "undici", "got", "postmanruntime", "insomnia", "reqwest",
	"dart", "scrapy", "powershell", "winhttp", "libcurl", "http.rb",
}

// isTool reports whether ua is a command-line HTTP client's or an HTTP
// library's rather than a browser's: a known tool, or a user agent that
// neither claims to be a browser ("Mozilla/…", "Opera/…") nor names an
// operating system the parser knows.
func isTool(ua string, p *useragent.UserAgent) bool {
	ua = strings.TrimSpace(ua)
	product, _, _ := strings.Cut(ua, "/")
	product, _, _ = strings.Cut(product, " ")
	if slices.Contains(tools, strings.ToLower(product)) || strings.Contains(ua, "WindowsPowerShell/") {
		return true
	}
	return !claimsBrowser(ua) && p.OS == ""
}

// claimsBrowser reports whether ua starts as a browser's does
// ("Mozilla/…", "Opera/…").
func claimsBrowser(ua string) bool {
	return strings.HasPrefix(ua, "Mozilla/") || strings.HasPrefix(ua, "Opera/")
}

// ReferrerHost returns the breakdown value of a Referer header.
func ReferrerHost(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Direct
	}
	u, err := url.Parse(ref)
	if err != nil || u.Hostname() == "" {
		return Unknown
	}
	return cut(strings.ToLower(u.Hostname()), maxHost)
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cut shortens s to at most n bytes of valid UTF-8.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
