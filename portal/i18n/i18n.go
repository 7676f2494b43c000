// Package i18n holds the portal's message catalogs and picks a language for a
// request.
//
// Every string a user can see in the portal's templates comes from a catalog
// here: one flat JSON object per language in locales/<lang>.json, mapping a
// dotted key ("signin.title") to the message. Messages may contain named
// placeholders ("Welcome to {name}") that the caller fills in. Every catalog
// has exactly the same keys (a test enforces it); a key that is missing anyway
// renders as the key itself, so the gap is visible on the page, and is logged.
//
// The language of a request is chosen by Choose: an explicit ?lang= choice,
// then the remembered choice (cookie), then the browser's Accept-Language,
// then the tenant's default, then English.
package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"

	"golang.org/x/text/language"
)

// Fallback is the language used when nothing else decides, and the catalog a
// key missing from another language is looked up in.
const Fallback = "en"

//go:embed locales/*.json
var embedded embed.FS

// Catalog is the set of message catalogs, one per language. It is read-only
// after construction and safe for concurrent use.
type Catalog struct {
	langs    []string                     // sorted, Fallback included
	messages map[string]map[string]string // lang → key → message
	matcher  language.Matcher
	log      *slog.Logger
}

// Load returns the catalogs embedded in the binary. logger receives a warning
// for every missing key that is looked up (nil: slog.Default()).
func Load(logger *slog.Logger) (*Catalog, error) {
	sub, err := fs.Sub(embedded, "locales")
	if err != nil {
		return nil, fmt.Errorf("open embedded locales: %w", err)
	}
	return New(sub, logger)
}

// New reads every <lang>.json at the root of fsys. Each file must be a flat
// JSON object of string keys to string messages, its name a base language
// ("en", "de"); the Fallback language must be present.
func New(fsys fs.FS, logger *slog.Logger) (*Catalog, error) {
	if logger == nil {
		logger = slog.Default()
	}
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("list catalogs: %w", err)
	}
	c := &Catalog{messages: map[string]map[string]string{}, log: logger}
	for _, name := range names {
		lang := strings.TrimSuffix(path.Base(name), ".json")
		tag, err := language.Parse(lang)
		if err != nil || tag.String() != lang {
			return nil, fmt.Errorf("load catalog %s: file name is not a canonical language tag", name)
		}
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read catalog %s: %w", name, err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(raw, &msgs); err != nil {
			return nil, fmt.Errorf("parse catalog %s: %w", name, err)
		}
		c.messages[lang] = msgs
		c.langs = append(c.langs, lang)
	}
	if _, ok := c.messages[Fallback]; !ok {
		return nil, fmt.Errorf("load catalogs: the fallback language %q has no catalog", Fallback)
	}
	slices.Sort(c.langs)
	// The matcher prefers the fallback when the browser's list matches nothing
	// well, so it goes first.
	tags := []language.Tag{language.MustParse(Fallback)}
	for _, l := range c.langs {
		if l != Fallback {
			tags = append(tags, language.MustParse(l))
		}
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// Languages returns the languages that have a catalog, sorted.
func (c *Catalog) Languages() []string { return slices.Clone(c.langs) }

// Has reports whether lang has a catalog.
func (c *Catalog) Has(lang string) bool {
	_, ok := c.messages[lang]
	return ok
}

// Keys returns the keys of lang's catalog, sorted (nil for an unknown language).
func (c *Catalog) Keys(lang string) []string {
	msgs, ok := c.messages[lang]
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(msgs))
	for k := range msgs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Lookup returns the message for key in lang without any fallback or logging.
func (c *Catalog) Lookup(lang, key string) (string, bool) {
	msg, ok := c.messages[lang][key]
	return msg, ok
}

// T returns the message for key in lang with its placeholders filled from
// args, which come in pairs: name, value ("name", "Acme" fills "{name}").
// A key missing from lang is taken from the Fallback catalog; missing there
// too, the key itself is returned so the gap shows on the page. Both cases are
// logged as a warning.
func (c *Catalog) T(ctx context.Context, lang, key string, args ...string) string {
	msg, ok := c.messages[lang][key]
	if !ok {
		c.log.WarnContext(ctx, "i18n: missing message", "lang", lang, "key", key)
		if msg, ok = c.messages[Fallback][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+args[i]+"}", args[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

// Func returns T bound to lang, in the shape html/template calls a function
// with: {{t "signin.title"}} or {{t "signin.heading" "name" .Name}}.
// Missing keys are logged without a request context.
func (c *Catalog) Func(lang string) func(key string, args ...string) string {
	return func(key string, args ...string) string {
		return c.T(context.Background(), lang, key, args...)
	}
}
