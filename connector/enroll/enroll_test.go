package enroll_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/enroll"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/sqlite"
)

func newService(t *testing.T) (*enroll.Service, store.Store, tenants.Tenant) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "l.db"), sqlite.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ten, err := st.Platform().CreateTenant(t.Context(), tenants.Tenant{Slug: "acme", Name: "Acme"}, []tenants.Host{{Host: "acme.test"}})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	return &enroll.Service{Store: st, HubURL: "wss://hub.test/connector/v1/connect", CommandKey: pub, Log: quiet}, st, ten
}

func validRequest(t *testing.T, token string) protocol.EnrollRequest {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(nil)
	_, seal, err := protocol.GenerateSealKey()
	if err != nil {
		t.Fatal(err)
	}
	return protocol.EnrollRequest{Token: token, Name: "dc01", SignKey: pub, SealKey: seal, AgentVersion: "1.0.0", Domains: []string{"corp.example.com"}}
}

// R4: a join token carries 256 bits from crypto/rand, is different every
// time, and only its SHA-256 is stored; no audit event carries it.
func TestJoinTokenIsRandomAndStoredOnlyAsHash(t *testing.T) {
	svc, st, ten := newService(t)
	a, err := svc.CreateToken(t.Context(), ten.ID, "operator", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateToken(t.Context(), ten.ID, "operator", 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Token == b.Token {
		t.Fatal("two join tokens are equal")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(a.Token, enroll.TokenPrefix))
	if !strings.HasPrefix(a.Token, enroll.TokenPrefix) || err != nil || len(raw) < 16 {
		t.Fatalf("token %q: want %s + base64url of at least 128 bits", a.Token, enroll.TokenPrefix)
	}
	if d := time.Until(a.ExpiresAt); d < 59*time.Minute || d > time.Hour {
		t.Errorf("default lifetime ends in %s, want 1h", d)
	}
	toks, err := st.Tenant(ten.ID).ListJoinTokens(t.Context())
	if err != nil || len(toks) != 2 {
		t.Fatalf("ListJoinTokens = %v, %v", toks, err)
	}
	for _, tok := range toks {
		if string(tok.Hash) == a.Token || strings.Contains(string(tok.Hash), a.Token) {
			t.Error("the token itself is stored")
		}
	}
	found := false
	for _, tok := range toks {
		found = found || string(tok.Hash) == string(enroll.HashToken(a.Token))
	}
	if !found {
		t.Error("no stored hash is SHA-256 of the token")
	}
	events, _ := st.Tenant(ten.ID).ListAudit(t.Context(), 0, 100)
	if len(events) != 2 {
		t.Fatalf("audit events = %d, want 2", len(events))
	}
	for _, e := range events {
		blob, _ := json.Marshal(e)
		if strings.Contains(string(blob), a.Token) || strings.Contains(string(blob), b.Token) {
			t.Errorf("audit event %s carries the token", e.Action)
		}
	}
}

func TestJoinTokenLifetimeIsBounded(t *testing.T) {
	svc, _, ten := newService(t)
	for _, ttl := range []time.Duration{time.Second, 25 * time.Hour, -time.Hour} {
		if _, err := svc.CreateToken(t.Context(), ten.ID, "operator", ttl); err == nil {
			t.Errorf("CreateToken with ttl %s succeeded", ttl)
		}
	}
	if tok, err := svc.CreateToken(t.Context(), ten.ID, "operator", 24*time.Hour); err != nil || time.Until(tok.ExpiresAt) < 23*time.Hour {
		t.Errorf("24h token: %v, %v", tok, err)
	}
}

// R52: enrollment answers with the tenant, a fresh connector id, the hub URL
// and the command key; the token then no longer works; revocation is audited.
func TestEnrollOnceThenRevoke(t *testing.T) {
	svc, st, ten := newService(t)
	tok, err := svc.CreateToken(t.Context(), ten.ID, "operator", 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := svc.Enroll(t.Context(), ten.ID, validRequest(t, tok.Token), enroll.Meta{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Validate(); err != nil || resp.TenantID != string(ten.ID) || resp.HubURL != svc.HubURL || !svc.CommandKey.Equal(ed25519.PublicKey(resp.CommandKey)) {
		t.Fatalf("response %+v (%v)", resp, err)
	}
	if _, err := svc.Enroll(t.Context(), ten.ID, validRequest(t, tok.Token), enroll.Meta{}); !errors.Is(err, enroll.ErrInvalidToken) {
		t.Fatalf("second enrollment: %v, want ErrInvalidToken", err)
	}
	c, err := svc.Revoke(t.Context(), ten.ID, resp.ConnectorID, "operator")
	if err != nil || !c.Revoked() {
		t.Fatalf("Revoke: %+v, %v", c, err)
	}
	events, _ := st.Tenant(ten.ID).ListAudit(t.Context(), 0, 100)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action+"/"+e.Outcome)
	}
	want := "connector.token.create/success connector.enroll/success connector.enroll/failure connector.revoke/success"
	if strings.Join(actions, " ") != want {
		t.Errorf("audit = %v, want %s", actions, want)
	}
}
