package notify

import "strings"

// maxUserAgent is how much of a User-Agent header SummarizeUserAgent reads.
const maxUserAgent = 1024

// uaMatch maps a User-Agent token to a name. The first match in a list wins,
// so more specific tokens come first (Edge and Opera also say "Chrome",
// Chrome also says "Safari", Android also says "Linux", iOS "Mac OS X").
type uaMatch struct{ token, name string }

var uaBrowsers = []uaMatch{
	{"edg/", "Edge"}, {"edga/", "Edge"}, {"edgios/", "Edge"}, {"edge/", "Edge"},
	{"opr/", "Opera"}, {"opera", "Opera"}, {"samsungbrowser/", "Samsung Internet"},
	{"vivaldi/", "Vivaldi"}, {"yabrowser/", "Yandex Browser"}, {"ucbrowser/", "UC Browser"},
	{"firefox/", "Firefox"}, {"fxios/", "Firefox"},
	{"crios/", "Chrome"}, {"chromium/", "Chromium"}, {"chrome/", "Chrome"},
	{"msie ", "Internet Explorer"}, {"trident/", "Internet Explorer"},
	{"version/", "Safari"}, // Safari says "Version/x Safari/y"; checked after the others
}

var uaSystems = []uaMatch{
	{"windows phone", "Windows Phone"}, {"windows", "Windows"},
	{"android", "Android"}, {"iphone", "iOS"}, {"ipod", "iOS"}, {"ipad", "iPadOS"},
	{"cros", "ChromeOS"}, {"macintosh", "macOS"}, {"mac os x", "macOS"},
	{"linux", "Linux"}, {"freebsd", "FreeBSD"}, {"openbsd", "OpenBSD"},
}

func uaFind(ua string, list []uaMatch) string {
	for _, m := range list {
		if strings.Contains(ua, m.token) {
			return m.name
		}
	}
	return ""
}

// SummarizeUserAgent turns a User-Agent header into a short description for
// a message, in lang: "Chrome on Windows", "Firefox unter Linux". The result
// is built only from fixed names (never from the header's text), so it is
// safe to show; an unrecognised header gives "".
func SummarizeUserAgent(ua, lang string) string {
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	ua = strings.ToLower(ua)
	browser := uaFind(ua, uaBrowsers)
	if browser == "Safari" && !strings.Contains(ua, "safari/") {
		browser = ""
	}
	system := uaFind(ua, uaSystems)
	on, some := " on ", "A browser"
	if lang == "de" {
		on, some = " unter ", "Ein Browser"
	}
	switch {
	case browser != "" && system != "":
		return browser + on + system
	case browser != "":
		return browser
	case system != "":
		return some + on + system
	}
	return ""
}
