package notify_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/latchkey/latchkey/portal/notify"
)

func TestSummarizeUserAgent(t *testing.T) {
	for _, tc := range []struct{ ua, en, de string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			"Chrome on Windows", "Chrome unter Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
			"Edge on Windows", "Edge unter Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
			"Safari on macOS", "Safari unter macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
			"Safari on iOS", "Safari unter iOS"},
		{"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
			"Chrome on iPadOS", "Chrome unter iPadOS"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
			"Chrome on Android", "Chrome unter Android"},
		{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
			"Samsung Internet on Android", "Samsung Internet unter Android"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "Firefox on Linux", "Firefox unter Linux"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			"Chrome on ChromeOS", "Chrome unter ChromeOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
			"Opera on Windows", "Opera unter Windows"},
		{"Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer on Windows", "Internet Explorer unter Windows"},
		{"Mozilla/5.0 (Linux x86_64) SomethingNew/1.0", "A browser on Linux", "Ein Browser unter Linux"},
		{"curl/8.5.0", "", ""},
		{"", "", ""},
		{"<script>alert(1)</script> Firefox/1", "Firefox", "Firefox"},
	} {
		if got := notify.SummarizeUserAgent(tc.ua, "en"); got != tc.en {
			t.Errorf("en %q = %q, want %q", tc.ua, got, tc.en)
		}
		if got := notify.SummarizeUserAgent(tc.ua, "de"); got != tc.de {
			t.Errorf("de %q = %q, want %q", tc.ua, got, tc.de)
		}
	}
}

// FuzzSummarizeUserAgent: any header gives a short summary made only of the
// fixed names, never of the header's own text.
func FuzzSummarizeUserAgent(f *testing.F) {
	f.Add("Mozilla/5.0 (Windows NT 10.0) Chrome/1 Safari/1")
	f.Add("\xff\xfe" + strings.Repeat("Firefox/", 500))
	f.Add("<img src=x>")
	f.Fuzz(func(t *testing.T, ua string) {
		for _, lang := range notify.Languages {
			s := notify.SummarizeUserAgent(ua, lang)
			if len(s) > 64 || !utf8.ValidString(s) || strings.ContainsAny(s, "<>&\"'/;()") {
				t.Fatalf("summary %q of %q", s, ua)
			}
		}
	})
}
