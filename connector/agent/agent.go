package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/latchkey/latchkey/connector/protocol"
)

// Options configure an Agent.
type Options struct {
	Identity   Identity
	Directory  Directory
	Guardrails Guardrails
	// StateDir holds the replay journal.
	StateDir string
	// Domains this connector serves (e.g. "acme.local"); sent in hello.
	Domains []string
	Version string
	Logger  *slog.Logger
	// TLS for the control plane connection (nil: system roots).
	TLS *tls.Config
	// StableAfter is how long a connection must last before backoff resets.
	StableAfter time.Duration
	// MinBackoff and MaxBackoff bound reconnect delays.
	MinBackoff, MaxBackoff time.Duration
	Now                    func() time.Time
}

// Agent is a running connector.
type Agent struct {
	opt  Options
	exec *executor
	log  *slog.Logger
	now  func() time.Time

	mu        sync.Mutex
	connected bool
}

// ErrPermanent marks refusals after which reconnecting is pointless (revoked,
// unknown connector).
var ErrPermanent = errors.New("permanently refused")

// New checks the options and opens the journal.
func New(opt Options) (*Agent, error) {
	if opt.Directory == nil {
		return nil, errors.New("agent: no directory")
	}
	if err := opt.Identity.Validate(); err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.StableAfter == 0 {
		opt.StableAfter = 10 * time.Second
	}
	if opt.MinBackoff == 0 {
		opt.MinBackoff = 500 * time.Millisecond
	}
	if opt.MaxBackoff == 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.Guardrails.WritesPerMinute == 0 {
		opt.Guardrails.WritesPerMinute = 120
	}
	if opt.Guardrails.WriteBurst == 0 {
		opt.Guardrails.WriteBurst = 30
	}
	if err := os.MkdirAll(opt.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent state dir: %w", err)
	}
	j, err := openJournal(filepath.Join(opt.StateDir, "journal.jsonl"), 24*time.Hour, opt.Now())
	if err != nil {
		return nil, err
	}
	id := opt.Identity
	a := &Agent{opt: opt, log: opt.Logger.With(slog.String("connector_id", id.ConnectorID)), now: opt.Now}
	a.exec = &executor{
		tenant: id.TenantID, connector: id.ConnectorID,
		commandKey: id.CommandKey, sealKey: id.SealKey, signKey: id.SignKey,
		dir: opt.Directory, rails: opt.Guardrails, journal: j,
		limiter: newRateLimiter(opt.Guardrails.WritesPerMinute, opt.Guardrails.WriteBurst, opt.Now()),
		now:     opt.Now, log: a.log,
	}
	if len(opt.Guardrails.OUs) == 0 {
		a.log.Warn("no OUs in scope configured: every account in the directory can be managed")
	}
	return a, nil
}

// Close releases the journal.
func (a *Agent) Close() error { return a.exec.journal.close() }

// Connected reports whether a connection is up (for status and tests).
func (a *Agent) Connected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.connected
}

// Run keeps a connection to the hub until ctx ends or the hub refuses the
// connector permanently.
func (a *Agent) Run(ctx context.Context) error {
	b := backoff{Min: a.opt.MinBackoff, Max: a.opt.MaxBackoff}
	for {
		start := a.now()
		err := a.connectionOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrPermanent) {
			a.log.Error("hub refused this connector permanently; stopping", slog.String("error", err.Error()))
			return err
		}
		if a.now().Sub(start) >= a.opt.StableAfter {
			b.reset()
		}
		d := b.next()
		a.log.Warn("connection to hub ended; reconnecting", slog.String("error", fmt.Sprint(err)), slog.Duration("in", d))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
		}
	}
}

func (a *Agent) setConnected(v bool) {
	a.mu.Lock()
	a.connected = v
	a.mu.Unlock()
}

// dial opens the WebSocket with proof of possession of the connector's key.
func (a *Agent) dial(ctx context.Context) (*websocket.Conn, error) {
	u, err := url.Parse(a.opt.Identity.HubURL)
	if err != nil {
		return nil, fmt.Errorf("hub url: %w", err)
	}
	ts := a.now().UTC().Format(time.RFC3339)
	sig := ed25519.Sign(a.opt.Identity.SignKey, protocol.AuthMessage(a.opt.Identity.ConnectorID, ts, u.Host))
	h := http.Header{}
	h.Set(protocol.HeaderConnector, a.opt.Identity.ConnectorID)
	h.Set(protocol.HeaderTime, ts)
	h.Set(protocol.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	tlsConf := a.opt.TLS
	if a.opt.Identity.HubCAPin != "" {
		tlsConf = pinnedTLS(tlsConf, a.opt.Identity.HubCAPin)
	}
	d := websocket.Dialer{
		Subprotocols:     []string{protocol.Subprotocol},
		HandshakeTimeout: 15 * time.Second,
		TLSClientConfig:  tlsConf,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
	}
	conn, resp, err := d.DialContext(ctx, a.opt.Identity.HubURL, h)
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized) {
			return nil, fmt.Errorf("%w: hub answered %s", ErrPermanent, resp.Status)
		}
		return nil, fmt.Errorf("dial hub: %w", err)
	}
	if conn.Subprotocol() != protocol.Subprotocol {
		conn.Close()
		return nil, fmt.Errorf("hub did not accept subprotocol %s", protocol.Subprotocol)
	}
	conn.SetReadLimit(protocol.MaxFrameBytes)
	return conn, nil
}

// connectionOnce runs one connection to its end.
func (a *Agent) connectionOnce(ctx context.Context) error {
	conn, err := a.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	hello, _ := protocol.Encode(protocol.TypeHello, "hello", protocol.Hello{Version: protocol.Version,
		ConnectorID: a.opt.Identity.ConnectorID, AgentVersion: a.opt.Version, Domains: a.opt.Domains})
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil {
		return fmt.Errorf("wait for config: %w", err)
	}
	env, err := protocol.Decode(msg)
	if err != nil {
		return err
	}
	var cfg protocol.Config
	switch env.Type {
	case protocol.TypeReject:
		rej, _ := protocol.Payload[protocol.Reject](env)
		if rej.Permanent {
			return fmt.Errorf("%w: %s: %s", ErrPermanent, rej.Code, rej.Message)
		}
		return fmt.Errorf("hub rejected hello: %s: %s", rej.Code, rej.Message)
	case protocol.TypeConfig:
		if cfg, err = protocol.Payload[protocol.Config](env); err != nil {
			return err
		}
	default:
		return fmt.Errorf("expected config, got %s", env.Type)
	}
	hb := time.Duration(cfg.HeartbeatSeconds) * time.Second
	if hb <= 0 || hb > time.Minute {
		hb = 10 * time.Second
	}
	maxInFlight := cfg.MaxInFlight
	if maxInFlight <= 0 || maxInFlight > 64 {
		maxInFlight = 8
	}
	a.setConnected(true)
	defer a.setConnected(false)
	a.log.Info("connected to hub", slog.Duration("heartbeat", hb))

	// One writer owns the socket; everyone else sends frames through out.
	out := make(chan []byte, maxInFlight)
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	writerDone := make(chan error, 1)
	go func() { writerDone <- writer(connCtx, conn, out, hb) }()

	readWait := 3 * hb
	conn.SetReadDeadline(time.Now().Add(readWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(readWait)) })
	conn.SetPingHandler(func(data string) error {
		conn.SetReadDeadline(time.Now().Add(readWait))
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
	})

	sem := make(chan struct{}, maxInFlight)
	readErr := make(chan error, 1)
	draining := false
	go func() {
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			conn.SetReadDeadline(time.Now().Add(readWait))
			env, err := protocol.Decode(msg)
			if err != nil {
				a.log.Warn("bad frame from hub", slog.String("error", err.Error()))
				continue
			}
			switch env.Type {
			case protocol.TypeDrain:
				readErr <- errDrain
				return
			case protocol.TypeCommand:
				sc, err := protocol.Payload[protocol.SignedCommand](env)
				if err != nil {
					a.log.Warn("bad command frame", slog.String("error", err.Error()))
					continue
				}
				sem <- struct{}{}
				wg.Add(1)
				go func(id string) {
					defer func() { <-sem; wg.Done() }()
					// Commands run to completion (bounded by their expiry) even
					// if the connection drops: the journal keeps the result.
					res := a.exec.handle(context.WithoutCancel(connCtx), id, sc)
					frame, err := protocol.Encode(protocol.TypeResult, id, res)
					if err != nil {
						a.log.Error("encode result", slog.String("error", err.Error()))
						return
					}
					select {
					case out <- frame:
					case <-connCtx.Done():
					}
				}(env.ID)
			default:
				a.log.Warn("unexpected frame from hub", slog.String("type", string(env.Type)))
			}
		}
	}()

	var end error
	select {
	case <-ctx.Done():
		draining = true
	case end = <-readErr:
		draining = errors.Is(end, errDrain)
	case end = <-writerDone:
	}
	if draining {
		a.log.Info("draining: finishing commands in flight")
		wg.Wait() // results go out through the still-running writer
		for len(out) > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "drained"), time.Now().Add(time.Second))
	}
	cancel()
	if errors.Is(end, errDrain) {
		return errors.New("hub asked to drain")
	}
	return end
}

var errDrain = errors.New("drain")

// writer is the only goroutine that writes data frames; it also pings.
func writer(ctx context.Context, conn *websocket.Conn, out <-chan []byte, hb time.Duration) error {
	t := time.NewTicker(hb)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case frame := <-out:
			conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		case <-t.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		}
	}
}
