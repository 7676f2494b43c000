package view

import (
	"bytes"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/portal/i18n"
)

var (
	// {{t "key" ...}} with a literal key.
	literalKey = regexp.MustCompile(`\{\{-?\s*t\s+"([^"]+)"`)
	// {{asset "name"}}.
	assetName = regexp.MustCompile(`asset\s+"([^"]+)"`)
)

func templateFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(Templates(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Templates(), p)
		out[p] = string(b)
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("read templates: %v (%d files)", err, len(out))
	}
	return out
}

// TestTemplateKeysExist scans the templates for {{t "key"}} and checks every
// key is in every catalog. (Keys chosen in Go code are checked where they are
// chosen: see the pages and portal packages.)
func TestTemplateKeysExist(t *testing.T) {
	cat, err := i18n.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, src := range templateFiles(t) {
		for _, m := range literalKey.FindAllStringSubmatch(src, -1) {
			n++
			for _, lang := range cat.Languages() {
				if _, ok := cat.Lookup(lang, m[1]); !ok {
					t.Errorf("%s uses %q, missing from %s.json", name, m[1], lang)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("found only %d keys in the templates: is the pattern still right?", n)
	}
}

func TestTemplateAssetsExist(t *testing.T) {
	assets, err := LoadAssets()
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range templateFiles(t) {
		for _, m := range assetName.FindAllStringSubmatch(src, -1) {
			if _, ok := assets.Get(m[1]); !ok {
				t.Errorf("%s uses asset %q, which does not exist", name, m[1])
			}
		}
	}
}

// TestTemplatesHaveNoInlineCode: the CSP has no 'unsafe-inline', so an inline
// style or script would be blocked in the browser.
func TestTemplatesHaveNoInlineCode(t *testing.T) {
	bad := regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=|javascript:`)
	script := regexp.MustCompile(`(?i)<script[^>]*>`)
	external := regexp.MustCompile(`^<script src="\{\{asset "[a-z0-9.-]+"\}\}" defer>$`)
	for name, src := range templateFiles(t) {
		for _, s := range script.FindAllString(src, -1) {
			if !external.MatchString(s) {
				t.Errorf("%s contains %q: only deferred scripts from our assets are allowed", name, s)
			}
		}
		if m := bad.FindString(src); m != "" {
			t.Errorf("%s contains %q", name, m)
		}
	}
}

func TestAssetURLsAreVersioned(t *testing.T) {
	assets, err := LoadAssets()
	if err != nil {
		t.Fatal(err)
	}
	css, ok := assets.Get("app.css")
	if !ok || css.ContentType != "text/css; charset=utf-8" {
		t.Fatalf("app.css: %+v %v", css.ContentType, ok)
	}
	if got, want := assets.URL("app.css"), "/static/app.css?v="+css.Version; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if len(css.Version) != 12 {
		t.Errorf("version %q", css.Version)
	}
}

func TestRenderInBothLanguages(t *testing.T) {
	cat, err := i18n.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	assets, err := LoadAssets()
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRenderer(cat, assets)
	if err != nil {
		t.Fatal(err)
	}
	brand := &Brand{Name: `Acme <b>&</b>`, ThemeURL: "/theme.css?v=1", SupportText: "Call 1234"}
	for lang, want := range map[string]string{"en": "Manage your Acme &lt;b&gt;&amp;&lt;/b&gt; account", "de": "Ihr Konto bei Acme &lt;b&gt;&amp;&lt;/b&gt; verwalten"} {
		var buf bytes.Buffer
		if err := r.Render(&buf, "signin", Page{Lang: lang, TitleKey: "signin.title", Brand: brand}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, s := range []string{want, `<html lang="` + lang + `">`, `href="/theme.css?v=1"`, "Call 1234", `href="/reset"`} {
			if !strings.Contains(out, s) {
				t.Errorf("%s: output lacks %q", lang, s)
			}
		}
		if strings.Contains(out, "<b>&</b>") {
			t.Errorf("%s: tenant name not escaped", lang)
		}
	}
	// An unknown language renders in the fallback.
	var buf bytes.Buffer
	if err := r.Render(&buf, "error", Page{Lang: "xx", TitleKey: "error.404.heading", Body: struct{ HeadingKey, TextKey, Reference string }{"error.404.heading", "error.404.text", "abc"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `lang="en"`) || !strings.Contains(buf.String(), "Page not found") {
		t.Errorf("fallback render: %s", buf.String())
	}
}
