package browsertest

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		r    rune
		mods []chromedp.Modifier
	}{
		{"Tab", '\t', nil},
		{"Enter", '\r', nil},
		{"Escape", '\u001b', nil},
		{"ArrowDown", '\u0301', nil},
		{"a", 'a', nil},
		{"Space", ' ', nil},
		{"Shift+Tab", '\t', []chromedp.Modifier{chromedp.ModifierShift}},
		{"Control+Shift+a", 'a', []chromedp.Modifier{chromedp.ModifierCtrl, chromedp.ModifierShift}},
		{"Ctrl++", '+', []chromedp.Modifier{chromedp.ModifierCtrl}},
	} {
		r, mods, err := parseKey(tc.key)
		if err != nil || r != tc.r || !slices.Equal(mods, tc.mods) {
			t.Errorf("parseKey(%q) = %q, %v, %v; want %q, %v", tc.key, r, mods, err, tc.r, tc.mods)
		}
	}
	for _, bad := range []string{"Tabby", "Hyper+x", "", "Shift+"} {
		if _, _, err := parseKey(bad); err == nil {
			t.Errorf("parseKey(%q) accepted", bad)
		}
	}
}
