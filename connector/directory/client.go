package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// maxLoginLen bounds what Lookup sends to the DC.
const maxLoginLen = 256

// client is what both dialects share: the pool, the RootDSE cache and
// searches.
type client struct {
	cfg  Config
	pool *pool

	infoMu sync.Mutex
	info   *ServerInfo

	dns dnCache
}

// dnTTL is how long a GUID's DN is remembered after a read found it.
const dnTTL = 2 * time.Second

// dnCache remembers for a moment which DN a GUID had, so that the write right
// after the agent's guardrail read (which checked the scope on that very DN)
// does not search again, and goes to the DN that was checked. An account
// moved in between makes the write fail (no such object), never land on
// another entry (and within dnTTL the next read refreshes it).
type dnCache struct {
	mu sync.Mutex
	m  map[string]dnAt
}

type dnAt struct {
	dn string
	at time.Time
}

func (c *dnCache) put(guid, dn string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[string]dnAt{} // small and short-lived: start over rather than evict
	}
	c.m[guid] = dnAt{dn, now}
}

func (c *dnCache) get(guid string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[guid]
	if !ok || time.Since(e.at) > dnTTL {
		return "", false
	}
	return e.dn, true
}

func newClient(cfg Config) (*client, error) {
	p, err := newPool(cfg)
	if err != nil {
		return nil, fmt.Errorf("new directory client: %w", err)
	}
	return &client{cfg: cfg, pool: p}, nil
}

// Info reads the RootDSE once and caches it.
func (c *client) Info(ctx context.Context) (ServerInfo, error) {
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	if c.info != nil {
		return *c.info, nil
	}
	var e *ldap.Entry
	err := c.pool.read(ctx, func(l *ldap.Conn) error {
		res, err := l.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"defaultNamingContext", "supportedControl", "supportedExtension", "vendorName", "namingContexts"}, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) != 1 {
			return fmt.Errorf("rootDSE: %d entries", len(res.Entries))
		}
		e = res.Entries[0]
		return nil
	})
	if err != nil {
		return ServerInfo{}, wrap("read rootDSE", err)
	}
	info := ServerInfo{
		DefaultNamingContext: e.GetAttributeValue("defaultNamingContext"),
		SupportedControls:    dedupe(e.GetAttributeValues("supportedControl")),
		SupportedExtensions:  dedupe(e.GetAttributeValues("supportedExtension")),
		Vendor:               e.GetAttributeValue("vendorName"),
	}
	if info.DefaultNamingContext == "" {
		if nc := e.GetAttributeValues("namingContexts"); len(nc) > 0 {
			info.DefaultNamingContext = nc[0]
		}
	}
	info.PolicyHintsOID = pickPolicyHints(info.SupportedControls)
	c.info = &info
	return info, nil
}

// Ping checks that a pooled service connection works (dialing one if needed).
func (c *client) Ping(ctx context.Context) error {
	return wrap("ping", c.pool.do(ctx, func(l *ldap.Conn) error {
		_, err := l.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"1.1"}, nil))
		return err
	}))
}

// Close closes the pool.
func (c *client) Close() error {
	c.pool.close()
	return nil
}

// checkLogin refuses logins that cannot name a user, before any search.
// Control characters are refused too: Samba ends a filter value at an
// escaped NUL (\00), so "alice\x00junk" would find alice (R51).
func checkLogin(op, login string) error {
	if strings.TrimSpace(login) == "" || len(login) > maxLoginLen || !utf8.ValidString(login) {
		return newError(op, NotFound, errors.New("login is empty, too long or not UTF-8"))
	}
	if strings.ContainsFunc(login, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return newError(op, NotFound, errors.New("login contains control characters"))
	}
	return nil
}

// searchOne runs a subtree search under BaseDN that must match exactly one
// entry: none gives NotFound, more Ambiguous (R51).
func (c *client) searchOne(ctx context.Context, op, filter string, attrs []string) (*ldap.Entry, error) {
	var res *ldap.SearchResult
	err := c.pool.read(ctx, func(l *ldap.Conn) error {
		var err error
		res, err = l.Search(ldap.NewSearchRequest(c.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			2, int(c.cfg.OpTimeout.Seconds()), false, filter, attrs, nil))
		return err
	})
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, newError(op, Ambiguous, errors.New("more than one entry matches"))
	case err != nil:
		return nil, wrap(op, err)
	case len(res.Entries) == 0:
		return nil, newError(op, NotFound, errors.New("no entry matches"))
	case len(res.Entries) > 1:
		return nil, newError(op, Ambiguous, fmt.Errorf("%d entries match", len(res.Entries)))
	}
	return res.Entries[0], nil
}

// modify runs one Modify on a pooled service connection (never retried).
func (c *client) modify(ctx context.Context, op string, req *ldap.ModifyRequest) error {
	return wrap(op, c.pool.do(ctx, func(l *ldap.Conn) error { return l.Modify(req) }))
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
