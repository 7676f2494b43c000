package hub_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/hub/hubtest"
	"github.com/latchkey/latchkey/connector/protocol"
)

// dial connects as connector id with key, the way the agent does.
func dial(t *testing.T, srv *httptest.Server, id string, key ed25519.PrivateKey) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	u, _ := url.Parse(srv.URL)
	ts := time.Now().UTC().Format(time.RFC3339)
	h := http.Header{}
	h.Set(protocol.HeaderConnector, id)
	h.Set(protocol.HeaderTime, ts)
	h.Set(protocol.HeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(key, protocol.AuthMessage(id, ts, u.Host))))
	d := websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}, HandshakeTimeout: 5 * time.Second}
	return d.Dial("ws://"+u.Host+protocol.ConnectPath, h)
}

// A connector revoked in the store by another process loses its live
// connection within the recheck interval, and its reconnect gets the
// permanent 403 (R52). It was recorded as seen at connect.
func TestRecheckClosesRevokedSessionsWithinTheInterval(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	st := hubtest.NewStore(hub.ConnectorRecord{TenantID: "t1", ID: "c1", Name: "dc01", SignKey: pub, SealKey: []byte("k")})
	h := hub.New(hub.Options{Store: st, Recheck: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Shutdown(context.Background())

	conn, _, err := dial(t, srv, "c1", priv)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	hello, _ := protocol.Encode(protocol.TypeHello, "h", protocol.Hello{Version: protocol.Version, ConnectorID: "c1"})
	if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read config: %v", err)
	}
	if env, err := protocol.Decode(msg); err != nil || env.Type != protocol.TypeConfig {
		t.Fatalf("first frame %s, %v; want config", msg, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !h.IsConnected("c1") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Three recheck rounds pass without closing an unrevoked connector.
	time.Sleep(150 * time.Millisecond)
	if !h.IsConnected("c1") {
		t.Fatal("an unrevoked connector was disconnected by the recheck")
	}
	if st.LastSeen("c1").IsZero() {
		t.Error("the connect was not recorded as seen")
	}

	revoked := time.Now()
	st.Revoke("c1")
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		_, _, err = conn.ReadMessage()
		if err != nil {
			break
		}
	}
	if took := time.Since(revoked); took > time.Second {
		t.Fatalf("the socket closed %s after the revocation, want within a few recheck intervals", took)
	}
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.ClosePolicyViolation {
		t.Errorf("socket ended with %v, want a policy-violation close frame", err)
	}
	_, resp, err := dial(t, srv, "c1", priv)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("reconnect after revocation: %v (%v), want 403", err, resp)
	}
}
