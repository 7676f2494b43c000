package agent

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/hub/hubtest"
	"github.com/latchkey/latchkey/connector/protocol"
)

// TestHubCAPin_R53: over wss the agent connects only when the hub's chain
// ends in the CA pinned at enrollment; a hub with a certificate the system
// (here: the configured roots) trusts but from another CA is refused.
func TestHubCAPin_R53(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sign, sealPriv, sealPub, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	cmdPub, _, _ := ed25519.GenerateKey(nil)
	st := hubtest.NewStore(hub.ConnectorRecord{TenantID: tenantA, ID: "conn-1", SignKey: sign.Public().(ed25519.PublicKey), SealKey: sealPub})
	srv := httptest.NewUnstartedServer(hub.New(hub.Options{Store: st, Logger: log}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	hubURL := "wss" + strings.TrimPrefix(srv.URL, "https") + protocol.ConnectPath

	for name, tc := range map[string]struct {
		pin     string
		wantErr error
	}{
		"pinned CA":      {CAPin([]*x509.Certificate{srv.Certificate()}), nil},
		"another CA":     {strings.Repeat("ab", 32), ErrHubCAPin},
		"no pin (older)": {"", nil},
	} {
		t.Run(name, func(t *testing.T) {
			a, err := New(Options{Identity: Identity{HubURL: hubURL, TenantID: tenantA, ConnectorID: "conn-1", SignKey: sign,
				SealKey: sealPriv, CommandKey: cmdPub, HubCAPin: tc.pin}, Directory: newFakeDir(), StateDir: t.TempDir(),
				TLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			conn, err := a.dial(t.Context())
			if conn != nil {
				conn.Close()
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("dial: %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("dial: %v, want %v", err, tc.wantErr)
			}
		})
	}
}
