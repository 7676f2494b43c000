package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/latchkey/latchkey/connector/protocol"
)

// session is one live connector connection. Only its writer goroutine writes
// data frames; results are matched to waiting callers by command id.
type session struct {
	h    *Hub
	rec  ConnectorRecord
	conn *websocket.Conn
	out  chan []byte
	done chan struct{}
	log  *slog.Logger

	mu      sync.Mutex
	pending map[string]chan verified
	err     error
	once    sync.Once

	heard atomic.Int64 // unix nanos of the last frame or pong from the connector
	saved atomic.Int64 // unix nanos last reported to a SeenStore
}

// verified is a result whose signature the reader checked: the parsed body
// and the exact signed bytes (which a relayed command's origin re-verifies).
type verified struct {
	body protocol.ResultBody
	raw  protocol.SignedResult
}

// ErrConnectionLost is returned to a caller whose connector went away before
// answering; the command may or may not have reached it.
var ErrConnectionLost = errors.New("connector connection lost")

func (h *Hub) serve(conn *websocket.Conn, rec ConnectorRecord) {
	defer conn.Close()
	log := h.log.With(slog.String("tenant_id", rec.TenantID), slog.String("connector_id", rec.ID))
	// hello → config
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil {
		log.Warn("connector sent no hello", slog.String("error", err.Error()))
		return
	}
	env, err := protocol.Decode(msg)
	var hello protocol.Hello
	if err == nil && env.Type == protocol.TypeHello {
		hello, err = protocol.Payload[protocol.Hello](env)
	} else if err == nil {
		err = fmt.Errorf("first frame is %s, not hello", env.Type)
	}
	reject := func(code, message string, permanent bool) {
		b, _ := protocol.Encode(protocol.TypeReject, "reject", protocol.Reject{Code: code, Message: message, Permanent: permanent})
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		conn.WriteMessage(websocket.TextMessage, b)
	}
	switch {
	case err != nil:
		reject("bad_hello", err.Error(), false)
		return
	case hello.ConnectorID != rec.ID:
		reject("wrong_connector", "hello names another connector", true)
		return
	case hello.Version != protocol.Version:
		reject("version", fmt.Sprintf("hub speaks version %d", protocol.Version), false)
		return
	}
	s := &session{h: h, rec: rec, conn: conn, out: make(chan []byte, h.opt.MaxInFlight), done: make(chan struct{}),
		log: log, pending: map[string]chan verified{}}
	s.markHeard()
	cfg, _ := protocol.Encode(protocol.TypeConfig, "config", protocol.Config{
		HeartbeatSeconds: int(h.opt.Heartbeat / time.Second), MaxInFlight: h.opt.MaxInFlight, ServerTime: h.opt.Now().UTC()})
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := conn.WriteMessage(websocket.TextMessage, cfg); err != nil {
		return
	}

	h.mu.Lock()
	if old := h.sessions[rec.ID]; old != nil {
		go old.close(errors.New("replaced by a newer connection"))
	}
	h.sessions[rec.ID] = s
	h.notifyLocked()
	h.mu.Unlock()
	if h.opt.OnChange != nil {
		h.opt.OnChange(rec.TenantID, rec.ID, true)
	}
	log.Info("connector connected", slog.String("agent_version", hello.AgentVersion), slog.Any("domains", hello.Domains))
	go h.seenNow(s)

	go s.writer()
	err = s.reader()
	s.close(err)

	h.mu.Lock()
	if h.sessions[rec.ID] == s {
		delete(h.sessions, rec.ID)
	}
	h.notifyLocked()
	h.mu.Unlock()
	if h.opt.OnChange != nil {
		h.opt.OnChange(rec.TenantID, rec.ID, false)
	}
	log.Info("connector disconnected", slog.String("reason", fmt.Sprint(err)))
}

func (s *session) reader() error {
	wait := 3 * s.h.opt.Heartbeat
	s.conn.SetReadDeadline(time.Now().Add(wait))
	s.conn.SetPongHandler(func(string) error {
		s.markHeard()
		return s.conn.SetReadDeadline(time.Now().Add(wait))
	})
	for {
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			return err
		}
		s.markHeard()
		s.conn.SetReadDeadline(time.Now().Add(wait))
		env, err := protocol.Decode(msg)
		if err != nil || env.Type != protocol.TypeResult {
			s.log.Warn("bad frame from connector", slog.String("error", fmt.Sprint(err)), slog.String("type", string(env.Type)))
			continue
		}
		sr, err := protocol.Payload[protocol.SignedResult](env)
		if err != nil {
			s.log.Warn("bad result frame", slog.String("error", err.Error()))
			continue
		}
		r, err := protocol.VerifyResult(s.rec.SignKey, sr, s.rec.TenantID, s.rec.ID)
		if err != nil || r.CommandID != env.ID {
			s.log.Warn("result refused", slog.String("cmd_id", env.ID), slog.String("error", fmt.Sprint(err)))
			continue
		}
		s.mu.Lock()
		ch := s.pending[r.CommandID]
		delete(s.pending, r.CommandID)
		s.mu.Unlock()
		if ch != nil {
			ch <- verified{body: r, raw: sr}
		}
	}
}

func (s *session) writer() {
	t := time.NewTicker(s.h.opt.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case frame := <-s.out:
			s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := s.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
				s.close(fmt.Errorf("write: %w", err))
				return
			}
		case <-t.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				s.close(fmt.Errorf("ping: %w", err))
				return
			}
		}
	}
}

// send delivers a signed command and waits for its result. The caller's ctx
// bounds the wait; ErrConnectionLost means the connection ended first. sent
// reports whether the frame was handed to the writer (it may have reached the
// connector).
func (s *session) send(ctx context.Context, id string, sc protocol.SignedCommand) (r verified, sent bool, err error) {
	frame, err := protocol.Encode(protocol.TypeCommand, id, sc)
	if err != nil {
		return verified{}, false, err
	}
	ch := make(chan verified, 1)
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return verified{}, false, ErrConnectionLost
	}
	s.pending[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.pending[id] == ch {
			delete(s.pending, id)
		}
		s.mu.Unlock()
	}()
	select {
	case s.out <- frame:
	case <-s.done:
		return verified{}, false, ErrConnectionLost
	case <-ctx.Done():
		return verified{}, false, ctx.Err()
	}
	select {
	case r := <-ch:
		return r, true, nil
	case <-s.done:
		return verified{}, true, ErrConnectionLost
	case <-ctx.Done():
		return verified{}, true, ctx.Err()
	}
}

func (s *session) drain() {
	b, _ := protocol.Encode(protocol.TypeDrain, "drain", protocol.Drain{})
	select {
	case s.out <- b:
	case <-s.done:
	}
}

func (s *session) close(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.done)
		if errors.Is(err, errRevoked) {
			// Tell the agent why before the socket goes; its reconnect then
			// gets the permanent 403. (WriteControl may run beside the writer.)
			msg := websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "connector revoked")
			_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		}
		s.conn.Close()
	})
}

func (s *session) markHeard() { s.heard.Store(s.h.opt.Now().UnixNano()) }

// dueSeen returns the time the connector was last heard from when that is
// news to the SeenStore and at least every has passed since the last report,
// and marks it reported.
func (s *session) dueSeen(every time.Duration) (time.Time, bool) {
	heard, saved := s.heard.Load(), s.saved.Load()
	if heard <= saved || time.Duration(heard-saved) < every {
		return time.Time{}, false
	}
	s.saved.Store(heard)
	return time.Unix(0, heard).UTC(), true
}

func (s *session) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
