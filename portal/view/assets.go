package view

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
)

// StaticPrefix is the URL path the static assets are served under.
const StaticPrefix = "/static/"

// Asset is one embedded static file.
type Asset struct {
	Name        string // file name under static/, e.g. "app.css"
	ContentType string
	Data        []byte
	// Version is a prefix of the SHA-256 of Data; URLs carry it as ?v= so a
	// changed file gets a new URL and the old one can be cached forever.
	Version string
}

// Assets is the set of embedded static files.
type Assets struct {
	byName map[string]Asset
}

// LoadAssets reads the embedded static/ directory.
func LoadAssets() (*Assets, error) {
	a := &Assets{byName: map[string]Asset{}}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			return fmt.Errorf("asset %s: unknown content type", p)
		}
		sum := sha256.Sum256(data)
		name := p[len("static/"):]
		a.byName[name] = Asset{Name: name, ContentType: ct, Data: data, Version: hex.EncodeToString(sum[:6])}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static assets: %w", err)
	}
	return a, nil
}

// Get returns the asset called name.
func (a *Assets) Get(name string) (Asset, bool) {
	as, ok := a.byName[name]
	return as, ok
}

// URL returns the versioned URL of the asset called name. An unknown name
// yields a URL that 404s rather than a template error, and a test checks
// every name the templates use.
func (a *Assets) URL(name string) string {
	as, ok := a.byName[name]
	if !ok {
		return StaticPrefix + name
	}
	return StaticPrefix + as.Name + "?v=" + as.Version
}
