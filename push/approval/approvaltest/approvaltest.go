// Package approvaltest is the test kit of push approval: a real SQLite
// store with tenants and users on a movable clock, device keys, devices,
// a counting challenge.Sender and a fake FCM HTTP v1 server behind the
// real push/fcm Sender. Tests of push/pushstore, push/approval and the
// mobile API share it; it is not for production code.
package approvaltest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/push/fcm"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store/sqlite"
)

// T0 is where every Env's clock starts (aligned to the hour, so fixed
// counter windows start afresh).
var T0 = time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)

// Clock is a movable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Env is a real SQLite store with one tenant ("acme") on Clock.
type Env struct {
	T      testing.TB
	Ctx    context.Context
	Store  *sqlite.Store
	Path   string // the database file
	Clock  *Clock
	Tenant *tenants.Tenant
	users  int
}

// New opens a fresh SQLite store in a temporary directory with the tenant
// "acme" (display name "Acme").
func New(t testing.TB) *Env {
	t.Helper()
	e := &Env{T: t, Ctx: t.Context(), Clock: &Clock{t: T0}}
	e.Path = filepath.Join(t.TempDir(), "latchkey.db")
	st, err := sqlite.Open(e.Ctx, e.Path, sqlite.WithClock(e.Clock.Now), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e.Store = st
	e.Tenant = e.NewTenant("acme", "Acme Corp", "Acme")
	return e
}

// Files returns the raw bytes of the database and its WAL, for scans that
// nothing secret was ever written.
func (e *Env) Files() []byte {
	e.T.Helper()
	var all []byte
	for _, p := range []string{e.Path, e.Path + "-wal", e.Path + "-journal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			e.T.Fatal(err)
		}
		all = append(all, b...)
	}
	if len(all) == 0 {
		e.T.Fatal("no database files")
	}
	return all
}

// Scope is the store as push/approval takes it.
func (e *Env) Scope() approval.Scope { return approval.Scoped(e.Store.Tenant) }

// NewTenant creates a tenant with a default organisation.
func (e *Env) NewTenant(slug, name, display string) *tenants.Tenant {
	e.T.Helper()
	ten, err := e.Store.Platform().CreateTenant(e.Ctx, tenants.Tenant{Slug: slug, Name: name, Policy: tenants.DefaultPolicy(),
		Branding: tenants.Branding{DisplayName: display}}, []tenants.Host{{Host: slug + ".latchkey.test", Primary: true}})
	if err != nil {
		e.T.Fatalf("create tenant: %v", err)
	}
	ts := e.Store.Tenant(ten.ID)
	if _, err := ts.CreateOrganisation(e.Ctx, tenants.Organisation{Name: "Everyone"}); err != nil {
		e.T.Fatalf("create organisation: %v", err)
	}
	if ten, err = ts.Get(e.Ctx); err != nil {
		e.T.Fatalf("get tenant: %v", err)
	}
	return &ten
}

// User creates a user of t.
func (e *Env) User(t *tenants.Tenant, username string) tenants.User {
	e.T.Helper()
	e.users++
	u, err := e.Store.Tenant(t.ID).CreateUser(e.Ctx, tenants.User{DirectoryGUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", e.users),
		Username: username, UPN: username + "@corp.example.com", DisplayName: username + " Example",
		OrganisationID: t.DefaultOrganisationID})
	if err != nil {
		e.T.Fatalf("create user: %v", err)
	}
	return u
}

// GetUser reloads a user.
func (e *Env) GetUser(t *tenants.Tenant, id string) tenants.User {
	e.T.Helper()
	u, err := e.Store.Tenant(t.ID).GetUser(e.Ctx, id)
	if err != nil {
		e.T.Fatalf("get user: %v", err)
	}
	return u
}

// Key is a device's key pair, as the app would make it.
type Key struct {
	Priv  *ecdsa.PrivateKey
	DER   []byte // PKIX of the public key
	KeyID string
}

// NewKey makes a P-256 key pair.
func NewKey(t testing.TB, keyID string) Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Priv: priv, DER: der, KeyID: keyID}
}

// Device stores a device with key k for the user, as enrollment would.
func (e *Env) Device(t *tenants.Tenant, userID string, k Key, pushToken string) tenants.Device {
	e.T.Helper()
	now := e.Clock.Now()
	d, err := e.Store.Tenant(t.ID).CreateDevice(e.Ctx, tenants.Device{UserID: userID, Name: "Test phone", Platform: "android",
		KeyID: k.KeyID, PublicKey: k.DER, PushToken: pushToken, PushTokenUpdatedAt: now, LastSeenAt: now})
	if err != nil {
		e.T.Fatalf("create device: %v", err)
	}
	return d
}

// GetDevice reloads a device.
func (e *Env) GetDevice(t *tenants.Tenant, id string) tenants.Device {
	e.T.Helper()
	d, err := e.Store.Tenant(t.ID).GetDevice(e.Ctx, id)
	if err != nil {
		e.T.Fatalf("get device: %v", err)
	}
	return d
}

// Answer signs a device's answer to cid at the clock's time.
func (e *Env) Answer(k Key, cid string, d challenge.Decision, number int) challenge.SignedAnswer {
	e.T.Helper()
	a, err := challenge.Sign(k.Priv, challenge.Response{CID: cid, Decision: d, Number: number, KeyID: k.KeyID, TS: e.Clock.Now()})
	if err != nil {
		e.T.Fatal(err)
	}
	return a
}

// Sender is a challenge.Sender that records messages and answers Err.
type Sender struct {
	mu   sync.Mutex
	Sent []challenge.Message
	Err  error
}

// Send implements challenge.Sender.
func (s *Sender) Send(_ context.Context, m challenge.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Sent = append(s.Sent, m)
	return s.Err
}

// Count is how many messages were sent.
func (s *Sender) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.Sent)
}

// FakeFCM is a local server speaking FCM's HTTP v1 send API. It records
// every request body and answers 200, or Status with FCM's error detail
// ErrorCode (404 UNREGISTERED) when Status is set.
type FakeFCM struct {
	mu        sync.Mutex
	Bodies    [][]byte
	Status    int
	ErrorCode string
}

func (f *FakeFCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.Bodies = append(f.Bodies, b)
	status, code := f.Status, f.ErrorCode
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status == 0 {
		_, _ = w.Write([]byte(`{"name":"projects/latchkey-test/messages/0:1"}`))
		return
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": "fake", "status": "NOT_FOUND",
		"details": []any{map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}}}})
}

// Requests returns the recorded request bodies.
func (f *FakeFCM) Requests() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.Bodies...)
}

// SetAnswer makes the server answer status with FCM error code from now on.
func (f *FakeFCM) SetAnswer(status int, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Status, f.ErrorCode = status, code
}

// LeafPaths returns the dotted paths of every leaf of a decoded JSON
// document, sorted ("message.data.cid"), for snapshots of what FCM gets.
func LeafPaths(doc any) []string {
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			out = append(out, strings.TrimPrefix(prefix, "."))
			return
		}
		for k, vv := range m {
			walk(prefix+"."+k, vv)
		}
	}
	walk("", doc)
	sort.Strings(out)
	return out
}

// NewFCM starts a FakeFCM and returns the real push/fcm Sender talking to it.
func NewFCM(t testing.TB) (*fcm.Sender, *FakeFCM) {
	t.Helper()
	f := &FakeFCM{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s, err := fcm.New(t.Context(), fcm.Config{ProjectID: "latchkey-test", Endpoint: srv.URL + "/v1",
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}
