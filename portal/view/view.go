// Package view renders the portal's pages: html/template files embedded in the
// binary (templates/, one layout in templates/layouts/main.html), executed
// through github.com/gofiber/template/html/v2, plus the static assets in
// static/ served with content-hashed URLs.
//
// Every user-visible string in a template goes through the {{t "key"}}
// function, which is bound to the request's language: the Renderer keeps one
// template set per catalog language, each with its own t. Templates contain no
// inline style or script (the portal's Content-Security-Policy forbids them).
package view

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"net/http"

	"github.com/gofiber/template/html/v2"

	"github.com/latchkey/latchkey/portal/i18n"
)

//go:embed templates static
var files embed.FS

// Layout is the template every page is rendered inside.
const Layout = "layouts/main"

// Templates returns the embedded template files (rooted at templates/).
func Templates() fs.FS {
	sub, err := fs.Sub(files, "templates")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return sub
}

// Renderer executes pages in the language of the request.
type Renderer struct {
	engines map[string]*html.Engine // by language
	assets  *Assets
}

// NewRenderer parses the embedded templates once per language of cat, each
// set with "t" bound to that language and "asset" giving static asset URLs.
func NewRenderer(cat *i18n.Catalog, assets *Assets) (*Renderer, error) {
	r := &Renderer{engines: map[string]*html.Engine{}, assets: assets}
	for _, lang := range cat.Languages() {
		e := html.NewFileSystem(http.FS(Templates()), ".html")
		e.AddFunc("t", cat.Func(lang))
		e.AddFunc("asset", assets.URL)
		e.AddFunc("inc", func(i int) int { return i + 1 })
		if err := e.Load(); err != nil {
			return nil, fmt.Errorf("load templates for %s: %w", lang, err)
		}
		r.engines[lang] = e
	}
	if _, ok := r.engines[i18n.Fallback]; !ok {
		return nil, fmt.Errorf("load templates: no %s catalog", i18n.Fallback)
	}
	return r, nil
}

// Render writes page name inside the layout, in p.Lang (the fallback language
// when p.Lang has no catalog). It renders into a buffer first, so a failing
// template never leaves half a page on the wire.
func (r *Renderer) Render(w io.Writer, name string, p Page) error {
	e, ok := r.engines[p.Lang]
	if !ok {
		p.Lang = i18n.Fallback
		e = r.engines[p.Lang]
	}
	var buf bytes.Buffer
	if err := e.Render(&buf, name, p, Layout); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
