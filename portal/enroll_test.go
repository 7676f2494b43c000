package portal_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/connector/enroll"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/portal"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/sqlite"
)

// fakeClock is the one clock of the store and the enrollment service.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type storeSource struct{ s store.Store }

func (r storeSource) ResolveHost(ctx context.Context, host string) (tenants.ID, error) {
	id, err := r.s.Platform().ResolveHost(ctx, host)
	if errors.Is(err, store.ErrNotFound) {
		return "", tenants.ErrUnknownHost
	}
	return id, err
}

func (r storeSource) Tenant(ctx context.Context, id tenants.ID) (tenants.Tenant, error) {
	return r.s.Tenant(id).Get(ctx)
}

type enrollEnv struct {
	app interface {
		Test(*http.Request, ...int) (*http.Response, error)
	}
	st           store.Store
	svc          *enroll.Service
	clock        *fakeClock
	acme, globex tenants.Tenant
}

func newEnrollEnv(t *testing.T) *enrollEnv {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "l.db"), sqlite.WithLogger(quiet), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &enrollEnv{st: st, clock: clock}
	for _, slug := range []string{"acme", "globex"} {
		ten, err := st.Platform().CreateTenant(t.Context(), tenants.Tenant{Slug: slug, Name: slug}, []tenants.Host{{Host: slug + ".latchkey.test", Primary: true}})
		if err != nil {
			t.Fatal(err)
		}
		if slug == "acme" {
			e.acme = ten
		} else {
			e.globex = ten
		}
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	e.svc = &enroll.Service{Store: st, HubURL: "wss://hub.latchkey.test/connector/v1/connect", CommandKey: pub, Now: clock.Now, Log: quiet}
	app, err := portal.New(portal.Config{}, portal.Deps{
		Resolver: tenants.NewResolver(storeSource{st}, tenants.ResolverOptions{}),
		Logger:   quiet, Registry: prometheus.NewRegistry(), Enroller: e.svc,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.app = app
	return e
}

func (e *enrollEnv) token(t *testing.T, ten tenants.Tenant) string {
	t.Helper()
	tok, err := e.svc.CreateToken(t.Context(), ten.ID, "operator", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

func enrollBody(t *testing.T, token string) []byte {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(nil)
	_, seal, err := protocol.GenerateSealKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(protocol.EnrollRequest{Token: token, Name: "dc01.corp.example.com", SignKey: pub, SealKey: seal, AgentVersion: "1.0.0", Domains: []string{"corp.example.com"}})
	return b
}

// post sends an enrollment request to host and decodes the JSON answer.
func (e *enrollEnv) post(t *testing.T, host string, body []byte) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, protocol.EnrollPath, bytes.NewReader(body))
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := e.app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func (e *enrollEnv) connectors(t *testing.T, ten tenants.Tenant) int {
	t.Helper()
	cs, err := e.st.Tenant(ten.ID).ListConnectors(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// R52: a fresh token on its tenant's host enrolls one connector (201 with the
// tenant, the new id, the hub URL and the command key); the same token again
// gets 401 invalid_token and creates nothing.
func TestEnrollSucceedsOnceThenTheTokenIsRefused(t *testing.T) {
	e := newEnrollEnv(t)
	tok := e.token(t, e.acme)
	code, out := e.post(t, "acme.latchkey.test", enrollBody(t, tok))
	if code != http.StatusCreated {
		t.Fatalf("enroll: %d %v", code, out)
	}
	raw, _ := json.Marshal(out)
	var resp protocol.EnrollResponse
	if err := json.Unmarshal(raw, &resp); err != nil || resp.Validate() != nil {
		t.Fatalf("response %s does not validate: %v", raw, err)
	}
	if resp.TenantID != string(e.acme.ID) || resp.HubURL != e.svc.HubURL || !e.svc.CommandKey.Equal(ed25519.PublicKey(resp.CommandKey)) {
		t.Errorf("response %+v", resp)
	}
	c, err := e.st.Tenant(e.acme.ID).GetConnector(t.Context(), resp.ConnectorID)
	if err != nil || c.Name != "dc01.corp.example.com" {
		t.Errorf("stored connector %+v, %v", c, err)
	}

	code, out = e.post(t, "acme.latchkey.test", enrollBody(t, tok))
	if code != http.StatusUnauthorized || out["error"] != "invalid_token" || len(out) != 1 {
		t.Fatalf("reused token: %d %v, want 401 {\"error\":\"invalid_token\"}", code, out)
	}
	if n := e.connectors(t, e.acme); n != 1 {
		t.Errorf("acme has %d connectors after a reuse, want 1", n)
	}
}

// R52/R6: a token is refused one second after its expiry (fake clock) and
// accepted one second before it.
func TestEnrollRefusesAnExpiredToken(t *testing.T) {
	e := newEnrollEnv(t)
	early := e.token(t, e.acme)
	late := e.token(t, e.acme)
	e.clock.Add(time.Hour - time.Second)
	if code, out := e.post(t, "acme.latchkey.test", enrollBody(t, early)); code != http.StatusCreated {
		t.Fatalf("1s before expiry: %d %v", code, out)
	}
	e.clock.Add(2 * time.Second)
	code, out := e.post(t, "acme.latchkey.test", enrollBody(t, late))
	if code != http.StatusUnauthorized || out["error"] != "invalid_token" {
		t.Fatalf("1s after expiry: %d %v, want 401 invalid_token", code, out)
	}
	if n := e.connectors(t, e.acme); n != 1 {
		t.Errorf("acme has %d connectors, want 1", n)
	}
}

// R7/R38: globex's token on acme's host gets the same 401 as an unknown
// token, creates no connector in either tenant, and still works on globex.
func TestEnrollRefusesAnotherTenantsToken(t *testing.T) {
	e := newEnrollEnv(t)
	tok := e.token(t, e.globex)
	code, wrongTenant := e.post(t, "acme.latchkey.test", enrollBody(t, tok))
	_, unknown := e.post(t, "acme.latchkey.test", enrollBody(t, enroll.TokenPrefix+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	if code != http.StatusUnauthorized {
		t.Fatalf("globex's token on acme: %d %v", code, wrongTenant)
	}
	a, _ := json.Marshal(wrongTenant)
	b, _ := json.Marshal(unknown)
	if !bytes.Equal(a, b) {
		t.Errorf("another tenant's token answers %s, an unknown one %s: they must be identical", a, b)
	}
	if e.connectors(t, e.acme)+e.connectors(t, e.globex) != 0 {
		t.Fatal("a connector was created")
	}
	// An X-Tenant-ID header changes nothing (R38).
	req := httptest.NewRequest(http.MethodPost, protocol.EnrollPath, bytes.NewReader(enrollBody(t, tok)))
	req.Host = "acme.latchkey.test"
	req.Header.Set("X-Tenant-ID", string(e.globex.ID))
	if resp, _ := e.app.Test(req, 10_000); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("with X-Tenant-ID of globex: %d, want 401", resp.StatusCode)
	}
	if code, out := e.post(t, "globex.latchkey.test", enrollBody(t, tok)); code != http.StatusCreated {
		t.Errorf("globex's token on globex after the attempts: %d %v", code, out)
	}
	// The failures are audited in acme, without the token.
	events, _ := e.st.Tenant(e.acme.ID).ListAudit(t.Context(), 0, 100)
	failures := 0
	for _, ev := range events {
		blob, _ := json.Marshal(ev)
		if strings.Contains(string(blob), tok) {
			t.Errorf("audit event %s carries the token", ev.Action)
		}
		if ev.Action == "connector.enroll" && ev.Outcome == "failure" {
			failures++
		}
	}
	if failures != 3 {
		t.Errorf("acme audited %d failed enrollments, want 3", failures)
	}
}

// Malformed bodies get 400 {"error":"bad_request","message":…} naming the
// problem, and use up no token.
func TestEnrollRejectsMalformedBodiesWithAMessage(t *testing.T) {
	e := newEnrollEnv(t)
	tok := e.token(t, e.acme)
	var valid protocol.EnrollRequest
	json.Unmarshal(enrollBody(t, tok), &valid)
	mutate := func(f func(*protocol.EnrollRequest)) []byte {
		r := valid
		f(&r)
		b, _ := json.Marshal(r)
		return b
	}
	for name, tc := range map[string]struct {
		body []byte
		want string
	}{
		"empty":              {nil, "JSON object"},
		"not JSON":           {[]byte("token=abc"), "JSON object"},
		"an array":           {[]byte(`[1,2]`), "JSON object"},
		"truncated":          {[]byte(`{"token":"abc"`), "malformed JSON"},
		"two objects":        {[]byte(`{} {}`), "after the object"},
		"token is a number":  {[]byte(`{"token":5}`), `"token"`},
		"key not base64":     {[]byte(`{"token":"x","sign_key":"!!!"}`), "malformed JSON"},
		"no token":           {mutate(func(r *protocol.EnrollRequest) { r.Token = "" }), "token"},
		"short sign key":     {mutate(func(r *protocol.EnrollRequest) { r.SignKey = r.SignKey[:10] }), "sign_key"},
		"bad seal key":       {mutate(func(r *protocol.EnrollRequest) { r.SealKey = []byte("x") }), "seal_key"},
		"control characters": {mutate(func(r *protocol.EnrollRequest) { r.Name = "dc\x00" }), "name"},
		"too many domains":   {mutate(func(r *protocol.EnrollRequest) { r.Domains = make([]string, 40) }), "domains"},
	} {
		code, out := e.post(t, "acme.latchkey.test", tc.body)
		msg, _ := out["message"].(string)
		if code != http.StatusBadRequest || out["error"] != "bad_request" || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v, want 400 bad_request mentioning %q", name, code, out, tc.want)
		}
	}
	big := append([]byte(`{"token":"`), bytes.Repeat([]byte("a"), 20<<10)...)
	if code, out := e.post(t, "acme.latchkey.test", append(big, `"}`...)); code != http.StatusRequestEntityTooLarge || out["error"] != "bad_request" {
		t.Errorf("oversized body: %d %v, want 413", code, out)
	}
	if code, out := e.post(t, "acme.latchkey.test", enrollBody(t, tok)); code != http.StatusCreated {
		t.Errorf("the token after the malformed attempts: %d %v", code, out)
	}
}

// An unknown host gets 404 with nothing created or audited (R38).
func TestEnrollOnAnUnknownHostIs404(t *testing.T) {
	e := newEnrollEnv(t)
	tok := e.token(t, e.acme)
	req := httptest.NewRequest(http.MethodPost, protocol.EnrollPath, bytes.NewReader(enrollBody(t, tok)))
	req.Host = "initech.latchkey.test"
	req.Header.Set("Accept", "application/json")
	resp, err := e.app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown host: %d, want 404", resp.StatusCode)
	}
	if e.connectors(t, e.acme) != 0 {
		t.Fatal("a connector was created")
	}
	if events, _ := e.st.Tenant(e.acme.ID).ListAudit(t.Context(), 0, 100); len(events) != 1 {
		t.Errorf("acme has %d audit events, want only the token's", len(events))
	}
}

// TestEnrollAttemptsAreRateLimited (R3, R42): well-formed attempts with wrong
// tokens are limited per tenant and address; the refused ones reach neither
// the token check nor the audit log, and another tenant is not affected.
func TestEnrollAttemptsAreRateLimited(t *testing.T) {
	e := newEnrollEnv(t)
	body := enrollBody(t, "lkj_not-a-real-token-000000000000000000000000")
	var codes []int
	for range 12 {
		code, _ := e.post(t, "acme.latchkey.test", body)
		codes = append(codes, code)
	}
	for i, code := range codes {
		want := http.StatusUnauthorized
		if i >= 10 {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Fatalf("attempt %d: %d, want %d (all: %v)", i+1, code, want, codes)
		}
	}
	events, err := e.st.Tenant(e.acme.ID).ListAudit(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, ev := range events {
		if ev.Action == "connector.enroll" && ev.Outcome == "failure" {
			failed++
		}
	}
	if failed != 10 {
		t.Fatalf("%d failed enrollments audited, want the 10 that were let through", failed)
	}
	if code, _ := e.post(t, "globex.latchkey.test", enrollBody(t, e.token(t, e.globex))); code != http.StatusCreated {
		t.Fatalf("globex, unaffected by acme's flood: %d", code)
	}
}
