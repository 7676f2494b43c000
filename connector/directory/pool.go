package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// pool keeps up to PoolSize connections bound as the service account, spread
// over the configured URLs with failover, and runs every operation under the
// caller's ctx.
type pool struct {
	cfg  Config
	urls []*url.URL
	// dialNet opens the TCP connection; tests replace it to observe traffic.
	dialNet func(ctx context.Context, network, addr string) (net.Conn, error)

	slots chan struct{} // one token per connection in use

	mu     sync.Mutex
	idle   []*pconn // LIFO: the most recently used first
	next   int      // index of the URL that last worked
	closed bool
}

type pconn struct {
	l         *ldap.Conn
	url       string
	idleSince time.Time
}

// errPoolClosed is returned after Close.
var errPoolClosed = errors.New("directory client is closed")

func newPool(cfg Config) (*pool, error) {
	p := &pool{cfg: cfg, slots: make(chan struct{}, cfg.PoolSize)}
	for _, raw := range cfg.URLs {
		u, err := parseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("parse URL %q: %w", raw, err)
		}
		p.urls = append(p.urls, u)
	}
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	p.dialNet = d.DialContext
	return p, nil
}

// do runs fn on a pooled service connection. The connection goes back to the
// pool only when the server answered (success or an LDAP result code).
func (p *pool) do(ctx context.Context, fn func(*ldap.Conn) error) error {
	c, err := p.get(ctx)
	if err != nil {
		return err
	}
	err = p.run(ctx, c.l, fn)
	p.put(c, reusable(err))
	return err
}

// read is do for operations that change nothing: a failure before the server
// answered (a connection the DC had dropped) is retried once on a fresh one.
func (p *pool) read(ctx context.Context, fn func(*ldap.Conn) error) error {
	err := p.do(ctx, fn)
	if err != nil && !answered(err) && ctx.Err() == nil && !errors.Is(err, ErrPlaintext) && !errors.Is(err, errPoolClosed) {
		p.cfg.Logger.DebugContext(ctx, "directory: retrying a read on a fresh connection", "error", err)
		return p.do(ctx, fn)
	}
	return err
}

// withUserConn dials a fresh, unpooled connection (failover applies), binds
// as dn and runs fn (if any) on it. It returns the bind's response controls.
func (p *pool) withUserConn(ctx context.Context, dn, password string, controls []ldap.Control, fn func(*ldap.Conn) error) ([]ldap.Control, error) {
	c, err := p.dialAny(ctx, false)
	if err != nil {
		return nil, err
	}
	defer c.l.Close()
	var resp []ldap.Control
	err = p.run(ctx, c.l, func(l *ldap.Conn) error {
		res, err := l.SimpleBind(&ldap.SimpleBindRequest{Username: dn, Password: password, Controls: controls})
		if res != nil {
			resp = res.Controls
		}
		return err
	})
	if err != nil {
		return resp, err
	}
	if fn != nil {
		err = p.run(ctx, c.l, fn)
	}
	return resp, err
}

// run refuses unencrypted connections (R43: nothing is sent on them), then
// runs fn under ctx.
func (p *pool) run(ctx context.Context, l *ldap.Conn, fn func(*ldap.Conn) error) error {
	if _, ok := l.TLSConnectionState(); !ok {
		return ErrPlaintext
	}
	return p.runCtx(ctx, l, fn)
}

// runCtx honours ctx on a go-ldap connection, which has no ctx support: the
// request timeout is set to the time left (at most OpTimeout), and the
// connection is closed if ctx ends first, which aborts the pending request.
func (p *pool) runCtx(ctx context.Context, l *ldap.Conn, fn func(*ldap.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	timeout := p.cfg.OpTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	l.SetTimeout(timeout)
	stop := context.AfterFunc(ctx, func() { l.Close() })
	err := fn(l)
	if !stop() && err != nil {
		// ctx ended while the request was pending: report that, not the
		// "connection closed" it caused.
		return fmt.Errorf("ldap request interrupted: %w (%v)", ctx.Err(), err)
	}
	return err
}

// answered reports whether err is an LDAP result the server sent (the
// connection is still in a known state).
func answered(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode != 0 && le.ResultCode < ldap.ErrorNetwork &&
		le.ResultCode != ldap.LDAPResultServerDown && le.ResultCode != ldap.LDAPResultTimeout
}

func reusable(err error) bool { return err == nil || answered(err) }

// get returns an idle connection (checked if it has been idle for long) or
// dials a new one.
func (p *pool) get(ctx context.Context) (*pconn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a directory connection: %w", ctx.Err())
	}
	for {
		c, err := p.popIdle()
		if err != nil {
			<-p.slots
			return nil, err
		}
		if c == nil {
			break
		}
		idle := time.Since(c.idleSince)
		if c.l.IsClosing() || idle > p.cfg.IdleTimeout {
			c.l.Close()
			continue
		}
		if idle > p.cfg.HealthCheckAfter {
			if err := p.ping(ctx, c.l); err != nil {
				p.cfg.Logger.InfoContext(ctx, "directory: dropping a connection that failed its health check", "url", c.url, "error", err)
				c.l.Close()
				continue
			}
		}
		return c, nil
	}
	c, err := p.dialAny(ctx, true)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

func (p *pool) popIdle() (*pconn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPoolClosed
	}
	n := len(p.idle)
	if n == 0 {
		return nil, nil
	}
	c := p.idle[n-1]
	p.idle = p.idle[:n-1]
	return c, nil
}

func (p *pool) put(c *pconn, reuse bool) {
	p.mu.Lock()
	if reuse && !p.closed && !c.l.IsClosing() {
		c.idleSince = time.Now()
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.l.Close()
	}
	<-p.slots
}

// ping reads the RootDSE (health check).
func (p *pool) ping(ctx context.Context, l *ldap.Conn) error {
	hctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	return p.run(hctx, l, func(l *ldap.Conn) error {
		_, err := l.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"1.1"}, nil))
		return err
	})
}

// dialAny tries the URLs in order, starting with the one that last worked.
// A refused service bind stops the round: trying every DC with a wrong
// password would only lock the service account out.
func (p *pool) dialAny(ctx context.Context, serviceBind bool) (*pconn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errPoolClosed
	}
	start := p.next
	p.mu.Unlock()
	var errs []error
	for i := range p.urls {
		idx := (start + i) % len(p.urls)
		u := p.urls[idx]
		c, err := p.dialOne(ctx, u, serviceBind)
		if err == nil {
			p.mu.Lock()
			p.next = idx
			p.mu.Unlock()
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", u.Redacted(), err))
		p.cfg.Logger.WarnContext(ctx, "directory: connection attempt failed", "url", u.Redacted(), "error", err)
		if ctx.Err() != nil || (serviceBind && ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials)) {
			break
		}
	}
	return nil, fmt.Errorf("connect to directory: %w", errors.Join(errs...))
}

// dialOne connects to one URL: TCP, TLS (LDAPS or StartTLS) and, for pooled
// connections, the service bind, all within DialTimeout and ctx.
func (p *pool) dialOne(ctx context.Context, u *url.URL, serviceBind bool) (*pconn, error) {
	dctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	tconf, err := p.cfg.tlsConfig(u.Hostname())
	if err != nil {
		return nil, err
	}
	raw, err := p.dialNet(dctx, "tcp", hostPort(u))
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	var l *ldap.Conn
	if u.Scheme == "ldaps" {
		tc := tls.Client(raw, tconf)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		l = ldap.NewConn(tc, true)
		l.Start()
	} else {
		l = ldap.NewConn(raw, false)
		l.Start()
		if err := p.runCtx(dctx, l, func(l *ldap.Conn) error { return l.StartTLS(tconf) }); err != nil {
			l.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	if serviceBind {
		err := p.run(dctx, l, func(l *ldap.Conn) error {
			_, err := l.SimpleBind(&ldap.SimpleBindRequest{Username: p.cfg.BindDN, Password: p.cfg.BindPassword})
			return err
		})
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("service bind: %w", err)
		}
	}
	return &pconn{l: l, url: u.Redacted()}, nil
}

// close closes the idle connections; connections in use close when returned.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.l.Close()
	}
}
