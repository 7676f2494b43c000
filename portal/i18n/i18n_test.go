package i18n

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func load(t *testing.T) (*Catalog, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	c, err := Load(slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return c, &logs
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	c, _ := load(t)
	langs := c.Languages()
	if !slices.Equal(langs, []string{"de", "en"}) {
		t.Fatalf("languages = %v, want [de en]", langs)
	}
	want := c.Keys(Fallback)
	if len(want) == 0 {
		t.Fatal("the English catalog is empty")
	}
	for _, lang := range langs {
		got := c.Keys(lang)
		for _, k := range want {
			if _, ok := slices.BinarySearch(got, k); !ok {
				t.Errorf("%s.json lacks %q", lang, k)
			}
		}
		for _, k := range got {
			if _, ok := slices.BinarySearch(want, k); !ok {
				t.Errorf("%s.json has %q, which %s.json lacks", lang, k, Fallback)
			}
			if msg, _ := c.Lookup(lang, k); strings.TrimSpace(msg) == "" {
				t.Errorf("%s.json: %q is empty", lang, k)
			}
		}
	}
}

// TestCatalogsHaveNoDuplicateKeys: encoding/json keeps the last of two equal
// keys silently, which would hide a message.
func TestCatalogsHaveNoDuplicateKeys(t *testing.T) {
	names, err := fs.Glob(embedded, "locales/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("glob: %v %v", names, err)
	}
	for _, name := range names {
		raw, _ := fs.ReadFile(embedded, name)
		dec := json.NewDecoder(bytes.NewReader(raw))
		seen := map[string]bool{}
		if _, err := dec.Token(); err != nil { // {
			t.Fatal(err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			key := tok.(string)
			if seen[key] {
				t.Errorf("%s: duplicate key %q", name, key)
			}
			seen[key] = true
			if _, err := dec.Token(); err != nil { // the value
				t.Fatal(err)
			}
		}
	}
}

func TestPlaceholdersMatchAcrossLanguages(t *testing.T) {
	c, _ := load(t)
	placeholders := func(s string) []string {
		var out []string
		for {
			i := strings.IndexByte(s, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				break
			}
			out = append(out, s[i:i+j+1])
			s = s[i+j+1:]
		}
		slices.Sort(out)
		return out
	}
	for _, k := range c.Keys(Fallback) {
		en, _ := c.Lookup(Fallback, k)
		for _, lang := range c.Languages() {
			msg, _ := c.Lookup(lang, k)
			if !slices.Equal(placeholders(en), placeholders(msg)) {
				t.Errorf("%s %q: placeholders %v, English has %v", lang, k, placeholders(msg), placeholders(en))
			}
		}
	}
}

func TestTFillsPlaceholders(t *testing.T) {
	c, _ := load(t)
	got := c.T(context.Background(), "de", "signin.heading", "name", "Acme")
	if got != "Ihr Konto bei Acme verwalten" {
		t.Errorf("got %q", got)
	}
	// A value that looks like another placeholder is not expanded again.
	got = c.T(context.Background(), "en", "signin.heading", "name", "{name}")
	if got != "Manage your {name} account" {
		t.Errorf("got %q", got)
	}
}

func TestMissingKeyRendersTheKeyAndIsLogged(t *testing.T) {
	c, logs := load(t)
	got := c.Func("de")("no.such.key")
	if got != "no.such.key" {
		t.Errorf("missing key rendered as %q, want the key itself", got)
	}
	if !strings.Contains(logs.String(), "no.such.key") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("missing key not logged as a warning: %q", logs.String())
	}
}

func TestMissingKeyFallsBackToEnglish(t *testing.T) {
	fsys := fstest.MapFS{
		"en.json": {Data: []byte(`{"a": "Apple", "b": "Banana"}`)},
		"de.json": {Data: []byte(`{"a": "Apfel"}`)},
	}
	var logs bytes.Buffer
	c, err := New(fsys, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.T(context.Background(), "de", "b"); got != "Banana" {
		t.Errorf("got %q, want the English message", got)
	}
	if !strings.Contains(logs.String(), "key=b") {
		t.Errorf("fallback not logged: %q", logs.String())
	}
}

func TestNewRejectsBadCatalogs(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no English":    {"de.json": {Data: []byte(`{}`)}},
		"not an object": {"en.json": {Data: []byte(`["a"]`)}},
		"nested":        {"en.json": {Data: []byte(`{"a": {"b": "c"}}`)}},
		"bad name":      {"en.json": {Data: []byte(`{}`)}, "xx_YY.json": {Data: []byte(`{}`)}},
	} {
		if _, err := New(fsys, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
