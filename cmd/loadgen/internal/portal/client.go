// Package portal drives Latchkey's self-service portal over HTTP the way a
// browser does: forms posted, 303 redirects followed by a GET, cookies kept
// per visitor, the tenant chosen by the Host header while every request
// goes to the node's loopback address, and the client's address given in
// X-Forwarded-For (honoured when the node trusts 127.0.0.1 as a proxy). It
// reads pages with a few regular expressions over the portal's own
// templates and runs the flows the benchmarks need: enrolment of security
// questions, a questions-only verification (B1) and a whole reset (B2).
package portal

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client sends requests to one node.
type Client struct {
	base string // http://127.0.0.1:port
	http *http.Client
}

// NewClient returns a client of the node at addr (host:port) keeping up to
// maxConns idle connections.
func NewClient(addr string, maxConns int) *Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{base: "http://" + addr, http: &http.Client{Transport: tr, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Visitor is one browser: a tenant host, a client address and cookies.
type Visitor struct {
	c       *Client
	host    string
	ip      string
	cookies map[string]string
}

// Visitor returns a new browser on host (e.g. bench1.localhost:8080)
// coming from ip.
func (c *Client) Visitor(host, ip string) *Visitor {
	return &Visitor{c: c, host: host, ip: ip, cookies: map[string]string{}}
}

// Get fetches path and reads the page.
func (v *Visitor) Get(ctx context.Context, path string) (Page, error) {
	status, _, body, err := v.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return Page{}, err
	}
	return ParsePage(status, body), nil
}

// Submit posts form to path. A 303 is followed with a GET, whose page is
// returned; any other answer is read as the page. took is the time of the
// POST alone.
func (v *Visitor) Submit(ctx context.Context, path string, form url.Values) (p Page, took time.Duration, err error) {
	t0 := time.Now()
	status, loc, body, err := v.do(ctx, http.MethodPost, path, form)
	took = time.Since(t0)
	if err != nil {
		return Page{}, took, err
	}
	if status != http.StatusSeeOther {
		return ParsePage(status, body), took, nil
	}
	u, err := url.Parse(loc)
	if err != nil || (u.Host != "" && u.Host != v.host) {
		return Page{}, took, fmt.Errorf("portal: POST %s redirected to %q", path, loc)
	}
	p, err = v.Get(ctx, u.RequestURI())
	return p, took, err
}

func (v *Visitor) do(ctx context.Context, method, path string, form url.Values) (status int, location, body string, err error) {
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, v.c.base+path, rd)
	if err != nil {
		return 0, "", "", fmt.Errorf("portal: %s %s: %w", method, path, err)
	}
	req.Host = v.host
	req.Header.Set("X-Forwarded-For", v.ip)
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("User-Agent", "latchkey-loadgen")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for name, value := range v.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := v.c.http.Do(req)
	if err != nil {
		return 0, "", "", fmt.Errorf("portal: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, "", "", fmt.Errorf("portal: %s %s: read body: %w", method, path, err)
	}
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" || (!ck.Expires.IsZero() && ck.Expires.Before(time.Now())) {
			delete(v.cookies, ck.Name)
		} else {
			v.cookies[ck.Name] = ck.Value
		}
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b), nil
}
