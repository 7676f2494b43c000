// Package chaosnet is a test helper: a TCP proxy on loopback that forwards to a
// target and can cut every connection through it at once, the way a network
// failure or a load balancer restart would. Tests put it between the connector
// agent and the hub to prove that commands survive broken sockets.
package chaosnet

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections from Addr to a target.
type Proxy struct {
	ln     net.Listener
	target atomic.Value // string
	mu     sync.Mutex
	conns  []net.Conn
	kills  int
}

// New listens on 127.0.0.1 and forwards to target (which may be set later with
// SetTarget, e.g. when the target's port is known only after the proxy's). It
// stops in t.Cleanup.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln}
	p.target.Store(target)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Kill() })
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetTarget changes where new connections go.
func (p *Proxy) SetTarget(target string) { p.target.Store(target) }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target.Load().(string))
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

// Kill closes every connection open through the proxy; new ones are accepted.
func (p *Proxy) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	if len(p.conns) > 0 {
		p.kills++
	}
	p.conns = nil
}

// Kills counts the calls to Kill that cut at least one connection.
func (p *Proxy) Kills() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kills
}

// Chaos kills every connection through the proxy at random intervals between
// lo and hi until stop is called.
func (p *Proxy) Chaos(lo, hi time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-time.After(lo + rand.N(hi-lo)):
				p.Kill()
			}
		}
	}()
	return func() { close(quit); <-done }
}
