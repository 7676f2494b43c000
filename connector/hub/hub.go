// Package hub is the control plane's side of the connector tunnel: it accepts
// connectors' outbound WebSockets, authenticates each by its key (the tenant
// comes from the connector's record, never from the request), keeps a registry
// of live connections, sends signed commands and matches their signed results.
//
// The hub runs on its own net/http listener, not on the Fiber portal: gorilla's
// Upgrade needs http.Hijacker, which Fiber's net/http adaptor does not provide,
// and keeping the tunnel apart lets operators expose it on its own port and
// proxy rules. Dispatcher (dispatch.go) builds, seals and signs commands and
// waits for their one definite outcome across reconnects.
package hub

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/latchkey/latchkey/connector/protocol"
)

// ConnectorRecord is what the control plane knows of an enrolled connector.
type ConnectorRecord struct {
	TenantID string
	ID       string
	Name     string
	SignKey  ed25519.PublicKey // verifies connection auth and results
	SealKey  []byte            // HPKE public key passwords are sealed to
	Revoked  bool
	// Domains are the directory domains the connector was enrolled for; a
	// Request naming a Domain goes only to connectors that serve it. A
	// connector enrolled without domains (`latchkey-connector enroll`
	// without --domain, as the install guide shows) serves every domain.
	Domains []string
}

// Serves reports whether the connector serves domain (any connector when
// domain is empty, every domain when it was enrolled without any). Domains
// compare case-insensitively.
func (r ConnectorRecord) Serves(domain string) bool {
	if domain == "" || len(r.Domains) == 0 {
		return true
	}
	for _, d := range r.Domains {
		if strings.EqualFold(strings.TrimSuffix(d, "."), strings.TrimSuffix(domain, ".")) {
			return true
		}
	}
	return false
}

// ErrUnknownConnector is returned by a Store for an id it does not know.
var ErrUnknownConnector = errors.New("unknown connector")

// Store is what the hub reads about connectors.
type Store interface {
	Connector(ctx context.Context, id string) (ConnectorRecord, error)
}

// SeenStore is optionally implemented by a Store to record when the hub last
// heard from a connector: at connect, then (while frames or pongs keep
// arriving) at most once per Options.SeenEvery.
type SeenStore interface {
	Seen(ctx context.Context, rec ConnectorRecord, at time.Time) error
}

// Options configure a Hub.
type Options struct {
	Store       Store
	Logger      *slog.Logger
	Heartbeat   time.Duration // ping interval; a silent peer is dropped after 3×
	MaxInFlight int
	Now         func() time.Time
	// OnChange is called (without locks held) when a connector connects or
	// disconnects on this node, e.g. to record presence for other nodes.
	OnChange func(tenantID, connectorID string, connected bool)
	// Recheck is how often the hub re-reads the record of every live session
	// from Store and closes those revoked (or gone) since they connected, so
	// that a revocation made by another process takes effect within Recheck.
	// Default 5 s; negative disables it.
	Recheck time.Duration
	// SeenEvery bounds how often a live connector is reported to a SeenStore
	// (default 30 s).
	SeenEvery time.Duration
}

// Hub holds the live connector connections of this node.
type Hub struct {
	opt      Options
	log      *slog.Logger
	upgrader websocket.Upgrader

	mu       sync.Mutex
	sessions map[string]*session // by connector id
	closed   bool
	wg       sync.WaitGroup
	changed  chan struct{} // closed and replaced on every (dis)connect
	stop     chan struct{} // closed by Shutdown: ends the recheck loop
	stopOnce sync.Once
}

// New returns a hub.
func New(opt Options) *Hub {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Heartbeat <= 0 {
		opt.Heartbeat = 10 * time.Second
	}
	if opt.MaxInFlight <= 0 {
		opt.MaxInFlight = 16
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Recheck == 0 {
		opt.Recheck = 5 * time.Second
	}
	if opt.SeenEvery <= 0 {
		opt.SeenEvery = 30 * time.Second
	}
	h := &Hub{
		opt: opt, log: opt.Logger, sessions: map[string]*session{}, changed: make(chan struct{}), stop: make(chan struct{}),
		upgrader: websocket.Upgrader{
			Subprotocols:     []string{protocol.Subprotocol},
			HandshakeTimeout: 10 * time.Second,
			ReadBufferSize:   1024,
			WriteBufferSize:  1024,
			WriteBufferPool:  &sync.Pool{},
			// Connectors are not browsers; a request with an Origin header is refused.
			CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "" },
		},
	}
	if opt.Recheck > 0 {
		go h.recheckLoop()
	}
	return h
}

// ServeHTTP accepts one connector connection.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != protocol.ConnectPath {
		http.NotFound(w, r)
		return
	}
	rec, err := h.authenticate(r)
	if err != nil {
		h.log.WarnContext(r.Context(), "connector refused", slog.String("remote", r.RemoteAddr), slog.String("error", err.Error()))
		code := http.StatusUnauthorized
		if errors.Is(err, errRevoked) {
			code = http.StatusForbidden
		}
		http.Error(w, "connector not authorised", code)
		return
	}
	if !offers(r, protocol.Subprotocol) {
		http.Error(w, "subprotocol "+protocol.Subprotocol+" required", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	conn.SetReadLimit(protocol.MaxFrameBytes)
	h.wg.Add(1)
	defer h.wg.Done()
	h.serve(conn, rec)
}

var errRevoked = errors.New("connector revoked")

// authenticate checks the connection's proof of possession of the connector key.
func (h *Hub) authenticate(r *http.Request) (ConnectorRecord, error) {
	id := r.Header.Get(protocol.HeaderConnector)
	ts := r.Header.Get(protocol.HeaderTime)
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get(protocol.HeaderSignature))
	if id == "" || ts == "" || err != nil || len(id) > 64 {
		return ConnectorRecord{}, errors.New("missing or malformed authentication headers")
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return ConnectorRecord{}, errors.New("malformed time")
	}
	if d := h.opt.Now().Sub(t); d > protocol.ClockSkew || d < -protocol.ClockSkew {
		return ConnectorRecord{}, fmt.Errorf("time %s is outside ±%s", ts, protocol.ClockSkew)
	}
	rec, err := h.opt.Store.Connector(r.Context(), id)
	if err != nil {
		return rec, fmt.Errorf("connector %q: %w", id, err)
	}
	if !ed25519.Verify(rec.SignKey, protocol.AuthMessage(id, ts, r.Host), sig) {
		return rec, errors.New("signature does not verify")
	}
	if rec.Revoked {
		return rec, errRevoked
	}
	return rec, nil
}

func offers(r *http.Request, proto string) bool {
	for _, p := range websocket.Subprotocols(r) {
		if p == proto {
			return true
		}
	}
	return false
}

// Connected returns the ids of the tenant's connectors connected to this node.
func (h *Hub) Connected(tenantID string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []string
	for id, s := range h.sessions {
		if s.rec.TenantID == tenantID {
			ids = append(ids, id)
		}
	}
	return ids
}

// session returns the live session of a connector on this node, or nil.
func (h *Hub) session(connectorID string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[connectorID]
}

// waitChange returns a channel closed at the next (dis)connect.
func (h *Hub) waitChange() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

func (h *Hub) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Revoke closes a connector's connection on this node (its record must be
// marked revoked in the store first so that it cannot come back). It reports
// whether there was a connection to close. Revocations made elsewhere (the
// operator CLI, another node) reach this node through the recheck loop.
func (h *Hub) Revoke(connectorID string) bool {
	s := h.session(connectorID)
	if s == nil {
		return false
	}
	s.close(errRevoked)
	return true
}

// IsConnected reports whether the connector has a live connection on this node.
func (h *Hub) IsConnected(connectorID string) bool {
	s := h.session(connectorID)
	return s != nil && !s.isClosed()
}

// recheckLoop re-reads the records of the live sessions every Recheck until
// Shutdown.
func (h *Hub) recheckLoop() {
	t := time.NewTicker(h.opt.Recheck)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.recheck()
		}
	}
}

// recheck closes the live sessions whose connectors are revoked or gone and
// reports the others as seen when they were heard from. A store error leaves
// the session alone (the next round tries again).
func (h *Hub) recheck() {
	h.mu.Lock()
	ss := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		ss = append(ss, s)
	}
	h.mu.Unlock()
	seen, _ := h.opt.Store.(SeenStore)
	for _, s := range ss {
		if s.isClosed() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.opt.Recheck+5*time.Second)
		rec, err := h.opt.Store.Connector(ctx, s.rec.ID)
		switch {
		case errors.Is(err, ErrUnknownConnector), err == nil && (rec.Revoked || rec.TenantID != s.rec.TenantID):
			s.log.Warn("closing the connection of a revoked connector")
			s.close(errRevoked)
		case err != nil:
			s.log.Warn("re-check connector record", slog.String("error", err.Error()))
		case seen != nil:
			if at, ok := s.dueSeen(h.opt.SeenEvery); ok {
				if err := seen.Seen(ctx, s.rec, at); err != nil {
					s.log.Warn("record connector seen", slog.String("error", err.Error()))
				}
			}
		}
		cancel()
	}
}

// seenNow reports a connector seen at connect.
func (h *Hub) seenNow(s *session) {
	seen, ok := h.opt.Store.(SeenStore)
	if !ok {
		return
	}
	at, _ := s.dueSeen(0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := seen.Seen(ctx, s.rec, at); err != nil {
		s.log.Warn("record connector seen", slog.String("error", err.Error()))
	}
}

// Shutdown asks every connector to drain, waits for their connections to end
// (or ctx), then closes what is left.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.stopOnce.Do(func() { close(h.stop) })
	h.mu.Lock()
	h.closed = true
	ss := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		ss = append(ss, s)
	}
	h.mu.Unlock()
	for _, s := range ss {
		s.drain()
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, s := range ss {
			s.close(errors.New("shutdown"))
		}
		return fmt.Errorf("hub shutdown: %w", ctx.Err())
	}
}
